"""Busy time from a practitioner's own calendar: connecting it, fetching it, reading it.

A practitioner (or reception for them) connects a private iCal address or a CalDAV
account. The worker fetches each connected calendar on a schedule and replaces that
practitioner's busy spans with what it read; availability treats them like blocked
time, and the diary shows them as "Busy (own calendar)" with no title. A fetch that
fails keeps the last good spans (a calendar server's hiccup must not open the diary
up) and records the reason, which staff see beside the practitioner.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, select

from booking.clinic import audit
from booking.clinic.busy_sources import Span, busy_from_caldav, busy_from_ical_url
from booking.clinic.calendar_fetch import FetchError
from booking.clinic.credentials import seal, unseal
from booking.clinic.errors import DomainError
from booking.clinic.transaction import end_read, lock, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import BusyTime, CalendarConnection, CalendarKind, Practitioner, StaffUser

BUSY_LABEL = "Busy (own calendar)"
# One calendar cannot flood the diary: a year of a busy week is far below this.
MAX_SPANS = 5000


@dataclass
class FetchReport:
    fetched: int = 0
    failed: int = 0


def connection_for(practitioner: Practitioner) -> CalendarConnection | None:
    return db.session.scalar(
        select(CalendarConnection).where(CalendarConnection.practitioner_id == practitioner.id)
    )


def _checked_address(url: str) -> str:
    url = (url or "").strip()
    if url.startswith("webcal://"):  # what Apple and Outlook show for a calendar link
        url = "https://" + url.removeprefix("webcal://")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or len(url) > 2000:
        raise DomainError("Enter the calendar's address, starting with https://.")
    return url


def connect_calendar(
    practitioner: Practitioner,
    *,
    kind: str,
    url: str,
    username: str = "",
    password: str = "",
    staff_user: StaffUser | None,
) -> CalendarConnection:
    """Connect (or replace) the practitioner's own calendar; its busy time arrives on the
    worker's next fetch. The address and password are stored encrypted."""
    if kind not in {k.value for k in CalendarKind}:
        raise DomainError("Choose the kind of calendar: an iCal address or a CalDAV account.")
    url = _checked_address(url)
    if kind == CalendarKind.CALDAV and not (username and password):
        raise DomainError("A CalDAV account needs its user name and password.")
    secret = seal({"url": url, "username": username or "", "password": password or ""})
    with unit_of_work() as session:
        lock(Practitioner, practitioner.id)
        session.execute(
            delete(CalendarConnection).where(CalendarConnection.practitioner_id == practitioner.id)
        )
        connection = CalendarConnection(
            practitioner_id=practitioner.id,
            kind=kind,
            secret=secret,
            host=urlsplit(url).hostname or "",
            last_error="",
        )
        session.add(connection)
        # The address itself is a secret: only its host goes into the audit log.
        audit.record(staff_user, "own_calendar.connected", practitioner, kind=kind)
    return connection


def disconnect_calendar(practitioner: Practitioner, *, staff_user: StaffUser | None) -> None:
    """Forget the practitioner's own calendar and the busy time read from it."""
    with unit_of_work() as session:
        lock(Practitioner, practitioner.id)
        session.execute(delete(BusyTime).where(BusyTime.practitioner_id == practitioner.id))
        session.execute(
            delete(CalendarConnection).where(CalendarConnection.practitioner_id == practitioner.id)
        )
        audit.record(staff_user, "own_calendar.disconnected", practitioner)


def _read(kind: str, secret: str, window: Span) -> list[Span]:
    details = unseal(secret)
    if kind == CalendarKind.CALDAV:
        return busy_from_caldav(details["url"], details["username"], details["password"], window)
    return busy_from_ical_url(details["url"], window)


def fetch_one(connection_id: int, *, now: datetime) -> bool:
    """Fetch one connected calendar and store what it says; False if it failed."""
    connection = db.session.get(CalendarConnection, connection_id)
    if connection is None:
        return False
    kind, secret = connection.kind, connection.secret
    days = int(current_app.config.get("CALENDAR_FETCH_DAYS", 120))
    window = (now, now + timedelta(days=days))
    # No transaction (on SQLite, no read snapshot) is held while the server is asked.
    end_read()
    try:
        spans = _read(kind, secret, window)
        if len(spans) > MAX_SPANS:
            raise FetchError(f"the calendar has more than {MAX_SPANS} busy times ahead")
    except (FetchError, DomainError) as error:
        _record_failure(connection_id, str(error), now)
        return False
    except Exception as error:  # a calendar we cannot read must not stop the others
        _record_failure(
            connection_id, f"the calendar could not be read ({type(error).__name__})", now
        )
        return False
    with unit_of_work() as session:
        connection = lock(CalendarConnection, connection_id)
        if connection is None:  # disconnected meanwhile
            return False
        session.execute(delete(BusyTime).where(BusyTime.connection_id == connection_id))
        session.add_all(
            BusyTime(
                connection_id=connection_id,
                practitioner_id=connection.practitioner_id,
                starts_at=start,
                ends_at=end,
            )
            for start, end in spans
        )
        connection.last_fetched_at = now
        connection.last_error = ""
        connection.failing_since = None
    return True


def _record_failure(connection_id: int, reason: str, now: datetime) -> None:
    with unit_of_work():
        connection = lock(CalendarConnection, connection_id)
        if connection is None:
            return
        connection.last_error = reason[:500]
        connection.failing_since = connection.failing_since or now


def fetch_busy_times(now: datetime | None = None) -> FetchReport:
    """Fetch every connected calendar once (the worker's scheduled job)."""
    now = now or utcnow()
    report = FetchReport()
    ids = list(db.session.scalars(select(CalendarConnection.id).order_by(CalendarConnection.id)))
    for connection_id in ids:
        if fetch_one(connection_id, now=now):
            report.fetched += 1
        else:
            report.failed += 1
    return report


def busy_times_by_practitioner(
    practitioner_ids: Sequence[int], starts_at: datetime, ends_at: datetime
) -> dict[int, list[Span]]:
    """Each practitioner's own-calendar busy spans reaching into the window, in one query."""
    found: dict[int, list[Span]] = {practitioner_id: [] for practitioner_id in practitioner_ids}
    if not practitioner_ids:
        return found
    rows = db.session.execute(
        select(BusyTime.practitioner_id, BusyTime.starts_at, BusyTime.ends_at)
        .where(
            BusyTime.practitioner_id.in_(list(practitioner_ids)),
            BusyTime.starts_at < ends_at,
            BusyTime.ends_at > starts_at,
        )
        .order_by(BusyTime.starts_at)
    )
    for practitioner_id, start, end in rows:
        found[practitioner_id].append((start, end))
    return found


def failing_connections() -> list[CalendarConnection]:
    """Connected calendars whose last fetch failed: the diary names them to staff."""
    return list(
        db.session.scalars(
            select(CalendarConnection)
            .where(CalendarConnection.failing_since.is_not(None))
            .order_by(CalendarConnection.failing_since)
        )
    )
