"""The database as a dump shows it: what a stolen backup would hold.

`pg_dump` on PostgreSQL; on SQLite both `iterdump()` and the database file's own bytes
(its WAL and journal too), as someone copying the file would have them.
"""

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking.extensions import db


def _pg_dump(database_url: str) -> str:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed (Debian's postgresql-client)")
    url = sa.engine.make_url(database_url)
    command = [pg_dump, "--no-owner", "-h", url.host or "127.0.0.1", "-U", url.username or ""]
    if url.port:
        command += ["-p", str(url.port)]
    command.append(db.engine.url.database or "")
    environment = {"PATH": "/usr/bin:/bin"}
    if url.password:
        environment["PGPASSWORD"] = url.password
    done = subprocess.run(  # noqa: S603  (a fixed program, arguments from the test's own URL)
        command, capture_output=True, text=True, env=environment, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _sqlite_dumps() -> list[str]:
    path = Path(db.engine.url.database or "")
    assert path.is_file(), path
    db.session.remove()
    db.engine.dispose()  # everything written reaches the file (and its WAL, if any)
    connection = sqlite3.connect(path)
    try:
        statements = "\n".join(connection.iterdump())
    finally:
        connection.close()
    raw = b"".join(
        candidate.read_bytes()
        for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
        if candidate.is_file()
    )
    return [statements, raw.decode("utf-8", errors="replace")]


def database_dumps(backend: str, database_url: str) -> list[str]:
    """Every form of dump of the test's database, as text."""
    return [_pg_dump(database_url)] if backend == "postgresql" else _sqlite_dumps()
