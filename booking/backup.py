"""Backups that restore: `flask backup FILE`, `flask restore FILE`, `flask database-summary`.

PostgreSQL: `pg_dump --format=custom` and `pg_restore` into a fresh, empty database. The
restore runs in one transaction and stops at the first error, so it either restores
everything or nothing (the old advice, `pg_restore --clean` into an empty database,
failed on every DROP of an object that was not there). Ownership and grants are left out
so that the dump restores under whatever role the new server gives the clinic.

SQLite: SQLite's online backup API (what `sqlite3 clinic.sqlite3 ".backup FILE"` uses),
safe while the site is running, in both directions.

Connection details go to pg_dump and pg_restore in the environment, never on the command
line, where other users of the server could read the password.
"""

import hashlib
import os
import sqlite3
import subprocess
from datetime import date, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.engine import URL, make_url


class BackupError(click.ClickException):
    """A backup or restore that cannot go ahead, with the reason for the operator."""


def _url() -> URL:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _libpq_environment(url: URL) -> dict[str, str]:
    values = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    return {**os.environ, **{name: value for name, value in values.items() if value}}


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(url.database)


def _run(command: list[str], url: URL) -> None:
    result = subprocess.run(  # noqa: S603 - a fixed PostgreSQL tool, no shell
        command, env=_libpq_environment(url), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed (exit {result.returncode}):\n{result.stderr}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy with SQLite's backup API into a new file, renamed into place when complete."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writer = sqlite3.connect(partial)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()
    partial.replace(target)


def back_up(target: Path) -> None:
    """Write a backup of the configured database to `target`."""
    url = _url()
    if url.get_backend_name() == "postgresql":
        partial = target.with_name(target.name + ".partial")
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial)],
            url,
        )
        partial.replace(target)
    else:
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"There is no database at {source}.")
        _sqlite_copy(source, target)


def restore(backup: Path) -> None:
    """Restore `backup` into the configured database, which must be empty."""
    if not backup.is_file():
        raise BackupError(f"There is no backup at {backup}.")
    url = _url()
    if url.get_backend_name() == "postgresql":
        if not url.database:
            raise BackupError("DATABASE_URL names no database to restore into.")
        if table_names():
            raise BackupError(
                f"The database {url.database} is not empty: restore into a new one "
                f"(createdb), then point DATABASE_URL at it."
            )
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                url.database,
                str(backup),
            ],
            url,
        )
    else:
        target = _sqlite_path(url)
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(
                f"{target} already exists: restore into a new file, then point DATABASE_URL at it."
            )
        _sqlite_copy(backup, target)


def table_names() -> list[str]:
    from booking.extensions import db

    return sorted(sa.inspect(db.engine).get_table_names())


def _text(value) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return repr(value)


def summary() -> dict[str, tuple[int, str]]:
    """Each table's row count and a SHA-256 over its rows in primary-key order."""
    from booking.extensions import db

    inspector = sa.inspect(db.engine)
    result = {}
    with db.engine.connect() as connection:
        for name in sorted(inspector.get_table_names()):
            table = sa.Table(name, sa.MetaData(), autoload_with=connection)
            order = list(table.primary_key.columns) or list(table.columns)
            digest, count = hashlib.sha256(), 0
            for row in connection.execute(sa.select(table).order_by(*order)):
                digest.update("\x1f".join(_text(value) for value in row).encode() + b"\x1e")
                count += 1
            result[name] = (count, digest.hexdigest())
    return result


def _print_summary() -> None:
    for name, (count, checksum) in summary().items():
        click.echo(f"{name:32} {count:8} rows  sha256 {checksum}")


def register_backup_commands(app: Flask) -> None:
    @app.cli.command("backup")
    @click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(target: Path) -> None:
        """Back up the database (DATABASE_URL) to TARGET."""
        back_up(target)
        click.echo(f"Backed up {len(table_names())} tables to {target}.")

    @app.cli.command("restore")
    @click.argument("backup", type=click.Path(dir_okay=False, path_type=Path))
    def restore_command(backup: Path) -> None:
        """Restore BACKUP into the database in DATABASE_URL, which must be empty."""
        restore(backup)
        click.echo(f"Restored {backup}:")
        _print_summary()

    @app.cli.command("database-summary")
    def summary_command() -> None:
        """Print each table's row count and checksum (compare a restore with its source)."""
        _print_summary()
