"""Database plumbing shared by every model: UTC datetimes and SQLite's write lock."""

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, event
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores `timestamp with time zone`. SQLite has no such type, so the
    value is stored as naive UTC text and given its zone back when read. Naive
    datetimes are refused: a time without a zone is a bug waiting for the clocks
    to change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store a naive datetime: {value!r}")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def configure_engine(engine: Engine) -> None:
    """Give SQLite foreign keys, a busy wait, and transactions we begin ourselves.

    pysqlite's own transaction handling cannot take the write lock up front, so
    we switch it off and emit BEGIN from the engine's begin event. A transaction
    that must not race (booking a slot, spending a credit) asks for
    BEGIN IMMEDIATE through `begin_write`.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def begin_write(session: Session | scoped_session[Any]) -> None:
    """Start a transaction that holds the database's write lock (SQLite) from its start.

    Domain functions that check-then-write call this first, so two of them can never
    both see a slot as free. Anything the session was doing is committed first: a
    domain function is one transaction of its own. On PostgreSQL the row locks and
    the exclusion constraint do this job and this only starts the transaction.
    """
    # The proxy does not offer in_transaction().
    plain = session() if isinstance(session, scoped_session) else session
    if plain.in_transaction():
        plain.commit()
    plain.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed.

    Session.execute() is typed as returning a Result whatever the statement; for an
    UPDATE or DELETE it is a CursorResult, which counts the rows.
    """
    return cast(CursorResult[Any], result).rowcount


def render_migration_type(type_, object_, autogen_context):
    """Write UTCDateTime into migrations as the plain column type it stores.

    Migrations then stand on their own, without importing the application.
    """
    if type_ == "type" and isinstance(object_, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
