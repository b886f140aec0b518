"""Each practitioner's feed revision, bumped by every transaction that changes their feed.

Calendar apps ask for a feed every few minutes and almost always hear "not modified".
Working that answer out from the appointments means an aggregate over a year of them
on every poll. Instead the feed's version is one row (`FeedRevision`), and nobody has
to remember to bump it: session events watch what each transaction writes.

- after_flush: the appointments and blocked time written (for their practitioner,
  and the one they moved from), practitioners changed, and the changes every feed
  shows (a patient's name, a session type, the clinic's settings).
- do_orm_execute: a bulk INSERT, UPDATE or DELETE on one of those tables changes
  an unknown set of rows, so it counts for every practitioner.
- before_commit: the bump itself, as the transaction's last statements, one
  practitioner at a time in id order. So a transaction holds a revision row's lock
  only while it commits, and two transactions never take them in opposite orders.

Counting too much only costs a calendar app one rebuilt feed; counting too little
would leave a stale appointment in someone's calendar, so where in doubt, count.
SQL written as text is not seen: the application writes none.

The same revisions tell the patients' times page when the free times it shows may have
changed (`free_times_version`), so working hours count as well: a change of hours
rebuilds a feed for nothing, rarely, and keeps a cached times page honest.
"""

import time
from collections.abc import Iterable
from datetime import datetime
from functools import cache

from flask import current_app
from sqlalchemy import Select, event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import (
    InstanceState,
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
)

from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    ClinicSettings,
    FeedRevision,
    Patient,
    Practitioner,
    SessionType,
    TimeOff,
    WorkingHours,
)
from booking.models.clinic import practitioner_session_types
from booking.models.own_calendars import BusyTime, CalendarConnection

# session.info key: a set of practitioner ids, or EVERY_PRACTITIONER.
CHANGED = "feed_revisions.changed"
# session.info key: this transaction bumped revisions or wrote busy time from a practitioner's
# own calendar, so this process's kept versions of the free times go when it ends.
BUMPED = "feed_revisions.bumped"
EVERY_PRACTITIONER = "every practitioner"
# Tables a bulk statement on which may change any feed.
WATCHED_TABLES = frozenset(
    [
        *(
            model.__tablename__
            for model in (
                Appointment,
                TimeOff,
                WorkingHours,
                Patient,
                Practitioner,
                SessionType,
                ClinicSettings,
            )
        ),
        practitioner_session_types.name,
    ]
)


def _note(session: Session, practitioner_ids: Iterable[int | None]) -> None:
    changed = session.info.setdefault(CHANGED, set())
    if changed is not EVERY_PRACTITIONER:
        changed.update(i for i in practitioner_ids if i is not None)


def _note_every_practitioner(session: Session) -> None:
    session.info[CHANGED] = EVERY_PRACTITIONER


def _practitioners_of(thing: Appointment | TimeOff | WorkingHours) -> list[int | None] | None:
    """The practitioner it belongs to now and any it moved from; None when unknowable."""
    state: InstanceState[Appointment | TimeOff | WorkingHours] = inspect(thing)
    try:
        ids: list[int | None] = [thing.practitioner_id]
    except InvalidRequestError:
        # Deleted while expired: its row is gone, and with it whose it was.
        return None
    ids.extend(state.attrs.practitioner_id.history.deleted or ())
    ids.extend(p.id for p in state.attrs.practitioner.history.deleted or () if p is not None)
    return ids


def _name_changed(thing: Patient) -> bool:
    changed: bool = inspect(thing).attrs.name.history.has_changes()
    return changed


@event.listens_for(Session, "after_flush")
def _notice_flushed_changes(session: Session, _flush_context: UOWTransaction) -> None:
    # Before the flush is finalised, new/dirty/deleted and attribute history still
    # describe what was just written. Each of session.new/.deleted builds a fresh set:
    # read once, not once per object (an import of 5,000 patients spent ten seconds here).
    new, deleted = session.new, session.deleted
    for thing in (*new, *session.dirty, *deleted):
        if isinstance(thing, Appointment | TimeOff | WorkingHours):
            practitioners = _practitioners_of(thing)
            if practitioners is None:
                _note_every_practitioner(session)
            else:
                _note(session, practitioners)
        elif isinstance(thing, CalendarConnection | BusyTime | FeedRevision):
            # In no feed, but in the free times: this process reads their version afresh.
            session.info[BUMPED] = True
        elif isinstance(thing, Practitioner):
            _note(session, [thing.id])
        elif isinstance(thing, SessionType | ClinicSettings):
            _note_every_practitioner(session)
        elif isinstance(thing, Patient) and (
            thing in deleted or (thing not in new and _name_changed(thing))
        ):
            # Feeds name patients. A new patient is in no feed until an appointment
            # (noted above) names them; other patient details are never in a feed.
            _note_every_practitioner(session)


@event.listens_for(Session, "do_orm_execute")
def _notice_bulk_statements(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in WATCHED_TABLES:
        _note_every_practitioner(state.session)
    elif name in (
        CalendarConnection.__tablename__,
        BusyTime.__tablename__,
        FeedRevision.__tablename__,
    ):
        state.session.info[BUMPED] = True


@event.listens_for(Session, "before_commit")
def _bump_changed_feeds(session: Session) -> None:
    if session.in_nested_transaction():
        return
    # Flush first: what the commit would flush may change a feed too.
    session.flush()
    changed = session.info.pop(CHANGED, None)
    if not changed:
        return
    if changed is EVERY_PRACTITIONER:
        changed = session.scalars(select(Practitioner.id)).all()
    bump(session, changed)


@event.listens_for(Session, "after_transaction_end")
def _forget_on_the_way_out(session: Session, transaction: SessionTransaction) -> None:
    # A rollback undid the changes; a commit has already bumped them.
    if transaction.parent is None:
        session.info.pop(CHANGED, None)
        if session.info.pop(BUMPED, False):
            # After the commit (or its failure): read before it, a version could be kept.
            forget_free_times_versions()


def bump(session: Session, practitioner_ids: Iterable[int]) -> None:
    """Move each practitioner's feed on by one revision, creating the row at the first."""
    session.info[BUMPED] = True
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    for practitioner_id in sorted(set(practitioner_ids)):
        statement = insert(FeedRevision).values(
            practitioner_id=practitioner_id, revision=1, changed_at=now
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[FeedRevision.practitioner_id],
                set_={"revision": FeedRevision.revision + 1, "changed_at": now},
            )
        )


# Each process's recent answers of `free_times_version`: (app, slug) -> (until, version).
# PostgreSQL costs a round trip or three for any query (the pool's ping, the query, the
# rollback that returns the connection), which on the times page cost more than the page.
_recent_versions: dict[tuple[int, str], tuple[float, tuple[tuple[object, ...], ...] | None]] = {}
DEFAULT_VERSION_SECONDS = 1.0


def free_times_version(session_type_slug: str) -> tuple[tuple[object, ...], ...] | None:
    """What the free times of a session depend on that the database keeps.

    For each practitioner giving it: their revision (bumped by every change to their
    appointments, blocked time, hours or offerings, to the session type or the clinic's
    settings) and their own calendars' last fetch (busy time is replaced whole at each
    fetch, in the same transaction that records it). None when nobody gives it.

    Read in one query, then kept for FREE_TIMES_VERSION_SECONDS (1 by default, 0 to read
    every time): a commit in this process that bumps a revision forgets it at once, and
    other processes (gunicorn's other workers) see the change within that second. A page
    is as old as the moment it was read anyway, and a booking never trusts one: the time
    is checked again, under the database's lock, when it is booked.
    """
    seconds = float(current_app.config.get("FREE_TIMES_VERSION_SECONDS", DEFAULT_VERSION_SECONDS))
    key = (id(current_app), session_type_slug)
    now = time.monotonic()
    recent = _recent_versions.get(key)
    if recent is not None and recent[0] > now:
        return recent[1]
    giver = practitioner_session_types.c.practitioner_id
    rows = db.session.execute(
        select(
            giver, FeedRevision.revision, CalendarConnection.id, CalendarConnection.last_fetched_at
        )
        .join(SessionType, SessionType.id == practitioner_session_types.c.session_type_id)
        .outerjoin(FeedRevision, FeedRevision.practitioner_id == giver)
        .outerjoin(CalendarConnection, CalendarConnection.practitioner_id == giver)
        .where(SessionType.slug == session_type_slug)
        .order_by(giver, CalendarConnection.id)
    )
    version = tuple(tuple(row) for row in rows) or None
    if seconds > 0:
        _recent_versions[key] = (now + seconds, version)
    return version


# Each process's recent list of active practitioners' feed links with their revisions:
# app -> (until, rows). What a calendar app's poll needs to be answered 304.
_recent_links: dict[int, tuple[float, list[tuple[int, str, str, int, datetime | None]]]] = {}


def active_feed_links() -> list[tuple[int, str, str, int, datetime | None]]:
    """(practitioner id, feed token, privacy, revision, changed at) of every active
    practitioner, in one query, kept as `free_times_version` keeps its answer (a commit in
    this process that bumps a revision, or changes a link, forgets it at once)."""
    seconds = float(current_app.config.get("FREE_TIMES_VERSION_SECONDS", DEFAULT_VERSION_SECONDS))
    key = id(current_app)
    now = time.monotonic()
    recent = _recent_links.get(key)
    if recent is not None and recent[0] > now:
        return recent[1]
    rows = [
        (practitioner_id, token, privacy, revision or 0, changed_at)
        for practitioner_id, token, privacy, revision, changed_at in db.session.execute(
            _feed_links()
        )
    ]
    if seconds > 0:
        _recent_links[key] = (now + seconds, rows)
    return rows


@cache
def _feed_links() -> Select[int, str, str, int | None, datetime | None]:
    """Every active practitioner's link and revision (the statement built once)."""
    return (
        select(
            Practitioner.id,
            Practitioner.feed_token,
            Practitioner.feed_privacy,
            FeedRevision.revision,
            FeedRevision.changed_at,
        )
        .outerjoin(FeedRevision, FeedRevision.practitioner_id == Practitioner.id)
        .where(Practitioner.active.is_(True))
    )


def forget_free_times_versions() -> None:
    """Read the versions afresh: after a bump in this process, or tables emptied by hand."""
    _recent_versions.clear()
    _recent_links.clear()
