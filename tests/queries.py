"""Counting the SQL statements a piece of work sends (SQLAlchemy's before_cursor_execute)."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from booking.extensions import db


class Statements(list):
    """The SQL sent, in order; len() is the count."""

    def matching(self, text: str) -> list[str]:
        return [statement for statement in self if text.lower() in statement.lower()]


@contextmanager
def counting_queries() -> Iterator[Statements]:
    """Collect every statement sent on the app's engine inside the block."""
    statements = Statements()

    def collect(_connection, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", collect)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", collect)
