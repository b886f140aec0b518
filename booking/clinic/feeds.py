"""Practitioners' private calendar feeds: the secret link, what it holds, and its version.

A feed shows one practitioner's appointments from 30 days ago to a year ahead and
their blocked time. Cancelled appointments stay for 30 days after the cancellation
(shown as cancelled, so subscribed calendars remove them) and then drop out.

The window moves a local day at a time, not continuously: the same data on the same
day gives the same feed, so its version (ETag and Last-Modified) is the day and the
practitioner's feed revision, read from one row without building the feed.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select

from booking.clinic import DomainError, audit, calendar
from booking.clinic.feed_revisions import active_feed_links
from booking.clinic.localtime import local_day_bounds, local_today
from booking.clinic.settings import clinic_settings, clinic_zone
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    FeedPrivacy,
    FeedRevision,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
    TimeOff,
)
from booking.models.clinic import new_feed_token

DAYS_BEHIND = 30
DAYS_AHEAD = 365
CANCELLED_KEPT_DAYS = 30
# A downloaded range is for printing or importing a few weeks, not a whole history.
MAX_DOWNLOAD_DAYS = 400

PRIVACY_CHOICES = {
    FeedPrivacy.FULL_NAME.value: "Patient's full name",
    FeedPrivacy.INITIALS.value: "Patient's initials only",
    FeedPrivacy.HIDDEN.value: "Only the word \u201cAppointment\u201d",
}


@dataclass(frozen=True)
class FeedWindow:
    """What a feed built today covers, as UTC instants on local-day boundaries."""

    day: date
    starts_at: datetime
    ends_at: datetime
    cancelled_since: datetime


@dataclass(frozen=True)
class FeedVersion:
    etag: str
    # HTTP dates have whole seconds. A change less than a second old could be followed
    # by another in the same second, and a client holding the first's date would then
    # be told "not modified": such a date is no validator (RFC 9110 8.8.2.2), so it is
    # not sent (`last_modified_is_firm` False) and the client relies on the ETag.
    last_modified: datetime
    last_modified_is_firm: bool = True


def feed_window(now: datetime) -> FeedWindow:
    """From the start of the local day 30 days ago to the end of the local day a year ahead."""
    zone = clinic_zone()
    today = local_today(now, zone)
    starts_at, _ = local_day_bounds(today - timedelta(days=DAYS_BEHIND), zone)
    _, ends_at = local_day_bounds(today + timedelta(days=DAYS_AHEAD), zone)
    cancelled_since, _ = local_day_bounds(today - timedelta(days=CANCELLED_KEPT_DAYS), zone)
    return FeedWindow(today, starts_at, ends_at, cancelled_since)


def practitioner_by_feed_token(token: str) -> Practitioner | None:
    """The active practitioner whose feed token this is, or None.

    Every stored token is compared with `hmac.compare_digest` and the loop never
    stops early, so the time taken does not depend on how much of a guess was right.
    An indexed `WHERE feed_token = ?` would be quicker but compares inside the
    database byte by byte; a clinic has a handful of practitioners, so reading all
    their tokens costs nothing. (A stored SHA-256 of the token, looked up by index,
    would scale better: that needs a new column.)
    """
    if not token or len(token) > 128:
        return None
    given = token.encode()
    found = None
    for practitioner in db.session.scalars(
        select(Practitioner).where(Practitioner.active.is_(True))
    ):
        if hmac.compare_digest(given, practitioner.feed_token.encode()) and found is None:
            found = practitioner
    return found


@dataclass(frozen=True, slots=True)
class FeedLink:
    """What a feed's validators are made of: its practitioner's link and revision."""

    practitioner_id: int
    feed_token: str
    feed_privacy: str
    revision: int
    changed_at: datetime | None


def feed_link_by_token(token: str) -> FeedLink | None:
    """The active practitioner's link that this token is, with its revision; or None.

    One query at most, no ORM objects: a calendar app's poll that ends in 304 needs nothing
    more (`version_of`). The links are kept for a second in each worker
    (`feed_revisions.active_feed_links`: a change made through this worker is seen at
    once, through another within that second). The tokens are compared as
    `practitioner_by_feed_token` compares them.
    """
    if not token or len(token) > 128:
        return None
    given = token.encode()
    found = None
    for practitioner_id, feed_token, privacy, revision, changed_at in active_feed_links():
        if hmac.compare_digest(given, feed_token.encode()) and found is None:
            found = FeedLink(practitioner_id, feed_token, privacy, revision, changed_at)
    return found


def _appointments_in(practitioner_id: int, window: FeedWindow) -> ColumnElement[bool]:
    """Which appointments a feed built in this window holds (a WHERE clause)."""
    return and_(
        Appointment.practitioner_id == practitioner_id,
        Appointment.starts_at >= window.starts_at,
        Appointment.starts_at < window.ends_at,
        or_(
            Appointment.status != AppointmentStatus.CANCELLED.value,
            Appointment.cancelled_at >= window.cancelled_since,
        ),
    )


def _time_off_in(practitioner_id: int, window: FeedWindow) -> ColumnElement[bool]:
    return and_(
        TimeOff.practitioner_id == practitioner_id,
        TimeOff.ends_at > window.starts_at,
        TimeOff.starts_at < window.ends_at,
    )


def feed_version(practitioner: Practitioner, now: datetime | None = None) -> FeedVersion:
    """The feed's ETag and Last-Modified from its revision row: nothing is built."""
    revision = db.session.get(FeedRevision, practitioner.id)
    link = FeedLink(
        practitioner.id,
        practitioner.feed_token,
        practitioner.feed_privacy,
        revision.revision if revision else 0,
        revision.changed_at if revision else None,
    )
    return version_of(link, now)


def version_of(link: FeedLink, now: datetime | None = None) -> FeedVersion:
    """The feed's ETag and Last-Modified from its link and revision: nothing is built.

    Every transaction that changes what the feed shows bumps the revision
    (booking.clinic.feed_revisions). The window moves a day at a time, so the day
    is part of the tag too, and the start of today is the latest Last-Modified can
    be for a feed nothing has changed since.
    """
    now = now or utcnow()
    window = feed_window(now)
    day_start, _ = local_day_bounds(window.day, clinic_zone())
    number, changed_at = link.revision, link.changed_at
    latest = max(day_start, changed_at) if changed_at else day_start
    fingerprint = "|".join(
        str(part)
        for part in (
            link.practitioner_id,
            # Changing either bumps the revision too; kept so that the tag can never be
            # the same for an old link and its replacement.
            hashlib.sha256(link.feed_token.encode()).hexdigest()[:16],
            link.feed_privacy,
            window.day.isoformat(),
            number,
        )
    )
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
    # Weak: the same revision on the same day gives the same events, but a change of
    # configuration between deploys (the UID domain, say) is not counted.
    return FeedVersion(
        etag=f'W/"{digest}"',
        last_modified=latest.replace(microsecond=0),
        last_modified_is_firm=now - latest >= timedelta(seconds=1),
    )


@dataclass(frozen=True, slots=True)
class FeedPatient:
    name: str
    # The same rule as the patient record's own initials, not a copy of it.
    initials = Patient.__dict__["initials"]


@dataclass(frozen=True, slots=True)
class FeedSessionType:
    """All of a session type that a feed shows: a plain attribute, read 4,000 times a
    feed, where a SessionType's instrumented one costs more and loading it more still."""

    name: str


@dataclass(slots=True)
class FeedAppointment:
    """The columns a feed shows, read without building full ORM objects.

    A busy year is 2,000 appointments; loading them as ORM objects with their
    patients took most of the feed's time. Notes and contact details are not read.
    Not frozen: a frozen dataclass sets each field through object.__setattr__, which
    made building the 2,000 a tenth of the feed's time; nothing changes them.
    """

    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    status: str
    created_at: datetime | None
    updated_at: datetime | None
    patient: FeedPatient
    session_type: FeedSessionType


def _feed_appointments(*conditions: ColumnElement[bool]) -> list[FeedAppointment]:
    rows = db.session.execute(
        select(
            Appointment.uid,
            Appointment.sequence,
            Appointment.starts_at,
            Appointment.ends_at,
            Appointment.status,
            Appointment.created_at,
            Appointment.updated_at,
            Appointment.session_type_id,
            Patient.name,
        )
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(*conditions)
        .order_by(Appointment.starts_at)
    ).all()
    session_types = {
        kind_id: FeedSessionType(name)
        for kind_id, name in db.session.execute(select(SessionType.id, SessionType.name))
    }
    patients: dict[str, FeedPatient] = {}
    # Unpacked by position, as the columns are selected: a row's fields by name cost
    # more than the rest of making the 2,000.
    return [
        FeedAppointment(
            uid,
            sequence,
            starts_at,
            ends_at,
            status,
            created_at,
            updated_at,
            patients.get(name) or patients.setdefault(name, FeedPatient(name)),
            session_types[session_type_id],
        )
        for (
            uid,
            sequence,
            starts_at,
            ends_at,
            status,
            created_at,
            updated_at,
            session_type_id,
            name,
        ) in rows
    ]


def feed_contents(
    practitioner: Practitioner, window: FeedWindow
) -> tuple[list[FeedAppointment], list[TimeOff]]:
    """The appointments and blocks in the practitioner's feed for the window, in time order."""
    appointments = _feed_appointments(_appointments_in(practitioner.id, window))
    time_off = db.session.scalars(
        select(TimeOff).where(_time_off_in(practitioner.id, window)).order_by(TimeOff.starts_at)
    ).all()
    return appointments, list(time_off)


def build_feed(practitioner: Practitioner, now: datetime | None = None) -> bytes:
    """The practitioner's subscription feed as iCalendar bytes."""
    now = now or utcnow()
    window = feed_window(now)
    appointments, time_off = feed_contents(practitioner, window)
    return calendar.feed(
        practitioner,
        appointments,
        time_off,
        now=now,
        covering=(window.starts_at, window.ends_at),
    )


def download_range(practitioner: Practitioner, first_day: date, last_day: date) -> bytes:
    """The practitioner's appointments and blocks between two local dates, inclusive.

    Cancelled appointments are left out: a downloaded file is a snapshot, and
    nothing would ever remove them from the calendar it is imported into.
    """
    if last_day < first_day:
        raise DomainError("The end date must be on or after the start date.")
    if (last_day - first_day).days >= MAX_DOWNLOAD_DAYS:
        raise DomainError(f"Please choose at most {MAX_DOWNLOAD_DAYS} days at a time.")
    zone = clinic_settings().zone
    starts_at, _ = local_day_bounds(first_day, zone)
    _, ends_at = local_day_bounds(last_day, zone)
    appointments = _feed_appointments(
        Appointment.practitioner_id == practitioner.id,
        Appointment.starts_at >= starts_at,
        Appointment.starts_at < ends_at,
        # A held time is not yet a booking, and a snapshot would never learn its outcome.
        Appointment.status.not_in(
            [AppointmentStatus.CANCELLED.value, AppointmentStatus.HELD.value]
        ),
    )
    time_off = db.session.scalars(
        select(TimeOff)
        .where(
            TimeOff.practitioner_id == practitioner.id,
            TimeOff.ends_at > starts_at,
            TimeOff.starts_at < ends_at,
        )
        .order_by(TimeOff.starts_at)
    ).all()
    return calendar.feed(
        practitioner,
        appointments,
        list(time_off),
        now=utcnow(),
        covering=(starts_at, ends_at),
        export=True,
    )


def regenerate_feed_token(practitioner: Practitioner, *, staff_user: StaffUser) -> Practitioner:
    """Give the practitioner a new secret feed link; the old one stops working at once."""
    with unit_of_work():
        practitioner = _lock(practitioner)
        practitioner.feed_token = new_feed_token()
        # The token itself never goes into the audit log.
        audit.record(staff_user, "feed.token_regenerated", practitioner)
    return practitioner


def _lock(practitioner: Practitioner) -> Practitioner:
    return lock_or_refuse(Practitioner, practitioner.id, "This practitioner no longer exists.")


def set_feed_privacy(
    practitioner: Practitioner, privacy: str, *, staff_user: StaffUser
) -> Practitioner:
    """Choose how patients are named in the practitioner's feed."""
    if privacy not in PRIVACY_CHOICES:
        raise DomainError("Please choose how patients appear in the calendar.")
    with unit_of_work():
        practitioner = _lock(practitioner)
        before = practitioner.feed_privacy
        if before != privacy:
            practitioner.feed_privacy = privacy
            audit.record(
                staff_user, "feed.privacy_changed", practitioner, before=before, after=privacy
            )
    return practitioner
