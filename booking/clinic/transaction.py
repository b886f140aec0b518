"""One unit of work for every state change: begin, lock what changes, flush, commit once.

Every function that changes the clinic's data runs its body inside `unit_of_work()`:

    with unit_of_work() as session:
        appointment = lock(Appointment, appointment_id)
        ...                      # check the rules, change rows, queue messages, audit
    # committed here; any exception rolled everything back and went on up

Nothing else commits and no helper commits for its caller. A unit of work opened inside
another joins it, so a course plan can book ten sessions through the same functions that
book one, all or nothing. Domain errors (their message fit for a person) pass through
unchanged after the rollback.

On SQLite the transaction takes the database's write lock from its start (BEGIN
IMMEDIATE), so a check-then-write can never interleave with another. On PostgreSQL
`lock()` takes the row (SELECT ... FOR UPDATE), so of two racing changes to one row the
second waits, then sees the first's result and re-checks its rules against it.

A database constraint that refuses the change (the exclusion constraint that keeps a
practitioner's appointments apart, say) becomes the DomainError it stands for, wherever
the flush happened (an autoflush inside a query too), so the person who lost the race
reads a message instead of a server error.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from booking.clinic.errors import DomainError, refusal_for
from booking.extensions import Model, db

_DEPTH = "unit_of_work_depth"

Row = TypeVar("Row", bound=Model)


class PendingChangesOutsideUnitOfWork(RuntimeError):
    """A programming error: rows were changed before the unit of work began."""


def _session() -> Session:
    session = db.session
    if isinstance(session, scoped_session):
        return session()
    return session


def in_unit_of_work() -> bool:
    depth: int = _session().info.get(_DEPTH, 0)
    return depth > 0


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Run one state change as one transaction; join the open one when nested."""
    session = _session()
    depth = session.info.get(_DEPTH, 0)
    if depth:
        session.info[_DEPTH] = depth + 1
        try:
            yield session
        finally:
            session.info[_DEPTH] = depth
        return

    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            # Committing them here would save work nobody checked; dropping them would
            # lose it silently. Either way the caller has a bug worth hearing about.
            raise PendingChangesOutsideUnitOfWork(
                "Changes were made outside a unit of work; start it before changing rows."
            )
        # A read-only transaction from loading the page's objects: end it, so the unit
        # of work starts afresh with the write lock and reads current rows.
        session.rollback()
    session.info[_DEPTH] = 1
    try:
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        yield session
        session.commit()
    except IntegrityError as error:
        session.rollback()
        refusal = refusal_for(error)
        if refusal is None:
            raise
        raise refusal from error
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[_DEPTH] = 0


def end_read() -> None:
    """End the read-only transaction the session holds, before a long wait (a network call).

    Only reads may be pending: changed rows belong in a unit of work, and are refused
    here rather than dropped.
    """
    session = _session()
    if in_unit_of_work():
        raise RuntimeError("end_read() would end the open unit of work")
    if session.new or session.dirty or session.deleted:
        raise PendingChangesOutsideUnitOfWork(
            "Changes were made outside a unit of work; start it before changing rows."
        )
    session.rollback()


def discard_after_failure() -> None:
    """Drop whatever a failed piece of work left in the session (a job that raised).

    Its own unit of work has already rolled back; this clears a read transaction or
    half-loaded state it left, so the next piece of work starts clean. Refused inside a
    unit of work, whose own rollback is the one that counts.
    """
    if in_unit_of_work():
        raise RuntimeError("discard_after_failure() would end the open unit of work")
    _session().rollback()


def flush() -> None:
    """Write what the session holds now; a constraint's refusal becomes its DomainError.

    For a caller that must know at this point (a course plan naming the time that was
    taken); the unit of work rolls back when the error goes on up.
    """
    try:
        _session().flush()
    except IntegrityError as error:
        refusal = refusal_for(error)
        if refusal is None:
            raise
        raise refusal from error


@contextmanager
def savepoint() -> Iterator[None]:
    """A part of the unit of work that may be refused on its own (a SAVEPOINT).

    Its changes are flushed at the end; if a constraint refuses them, only this part is
    rolled back and the refusal is raised as its DomainError, so the caller may catch it
    and let the rest of the unit of work commit (a payment recorded though the time it
    paid for was taken a moment ago, say).
    """
    if not in_unit_of_work():
        raise RuntimeError("savepoint() only makes sense inside a unit of work")
    nested = _session().begin_nested()
    try:
        yield
        _session().flush()
    except IntegrityError as error:
        nested.rollback()
        refusal = refusal_for(error)
        if refusal is None:
            raise
        raise refusal from error
    except BaseException:
        nested.rollback()
        raise
    nested.commit()


def lock(model: type[Row], key: Any) -> Row | None:
    """Read one row afresh and hold it until the unit of work ends (FOR UPDATE).

    The object already in the session, if any, is refreshed in place, so the caller's
    references see what another transaction committed while this one waited.
    """
    if not in_unit_of_work():
        raise RuntimeError("lock() only makes sense inside a unit of work")
    primary_key = model.__mapper__.primary_key[0]
    statement = (
        select(model)
        .where(primary_key == key)
        # OF the row's own table: a relationship loaded by a join must not be locked too
        # (nor make PostgreSQL refuse FOR UPDATE on the nullable side of an outer join).
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    )
    return _session().scalar(statement)


def lock_or_refuse(model: type[Row], key: Any, message: str) -> Row:
    """lock(), refusing with `message` when the row is gone (deleted meanwhile)."""
    row = lock(model, key)
    if row is None:
        raise DomainError(message)
    return row


def serialise_on(*names: str) -> None:
    """Hold these names until the unit of work ends: a count-then-insert on no one row.

    A rule that counts rows and then adds one (the caps on online bookings per contact
    and per address) has no row to lock, so two transactions could each count, each
    find room, and both insert. On PostgreSQL each name becomes a transaction-scoped
    advisory lock (released at commit or rollback), taken in a fixed order so that two
    units of work sharing several names never wait for each other in a circle; the
    second one waits here, then counts what the first committed. On SQLite the unit of
    work already holds the database's write lock from its start (BEGIN IMMEDIATE), which
    orders every writer, so there is nothing more to take.
    """
    if not in_unit_of_work():
        raise RuntimeError("serialise_on() only makes sense inside a unit of work")
    session = _session()
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({_advisory_key(name) for name in names}):
        session.execute(select(func.pg_advisory_xact_lock(key)))


def _advisory_key(name: str) -> int:
    """A name as PostgreSQL's signed 64-bit advisory lock key (a hash: no data in the lock)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
