"""Database plumbing shared by every model: UTC datetimes and SQLite's write lock."""

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, event
from sqlalchemy.engine import CursorResult, Engine, Result
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

    def result_processor(self, dialect, coltype):
        """On SQLite, read the stored text straight into an aware UTC datetime.

        The same result as parsing the text and then `process_result_value`, in one C call
        (`fromisoformat` of the text with "+00:00" appended gives datetime.UTC itself)
        rather than three layers of Python: `replace(tzinfo=...)` alone cost more than
        the parsing, and a year's feed reads 8,000 of these. Text that already carries
        an offset, or anything that is not text, takes the general way.
        """
        general = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or general is None:
            return general
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value.__class__ is str:
                try:
                    return parse(value + "+00:00")
                except ValueError:
                    pass
            return general(value)

        return process


def utcnow() -> datetime:
    return datetime.now(UTC)


def configure_engine(engine: Engine) -> None:
    """Give SQLite foreign keys, a busy wait, and transactions we begin ourselves.

    pysqlite's own transaction handling cannot take the write lock up front, so
    we switch it off and emit BEGIN from the engine's begin event. A unit of work
    (`booking.clinic.transaction`) asks for BEGIN IMMEDIATE, so check-then-write
    can never interleave.
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
