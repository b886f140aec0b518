"""iCalendar: one event, an invitation (REQUEST/CANCEL), a download and a practitioner's feed.

Times are written as local wall-clock times with the clinic's TZID and a VTIMEZONE
that covers the events' years, so calendars show 10:00 as 10:00 on both sides of
a clock change. The one local time that cannot be written that way is the second
pass through the repeated hour in October (RFC 5545 reads a repeated local time as
its first occurrence); such an instant is written in UTC instead.

Patients' health notes, staff notes and contact details never go into an event.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from ipaddress import ip_address
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from icalendar import (
    Calendar,
    Component,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vDuration,
    vText,
)

from booking.clinic.localtime import to_local
from booking.clinic.settings import clinic_settings
from booking.models import Appointment, AppointmentStatus, FeedPrivacy, Practitioner, TimeOff

PRODID = "-//Clinic Booking//Appointments 1.0//EN"
FALLBACK_UID_DOMAIN = "clinic-booking"
FEED_REFRESH = timedelta(minutes=15)
UNAVAILABLE = "Unavailable"


class FeedPatient(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def initials(self) -> str: ...


class FeedSessionType(Protocol):
    @property
    def name(self) -> str: ...


class FeedEvent(Protocol):
    """What a feed writes an appointment from: an Appointment, or the lighter row that
    booking.clinic.feeds reads for speed (so nothing else of an Appointment is there)."""

    @property
    def uid(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def updated_at(self) -> datetime | None: ...
    @property
    def patient(self) -> FeedPatient: ...
    @property
    def session_type(self) -> FeedSessionType: ...


def uid_domain() -> str:
    """The right-hand side of every UID: the site's host name, or a fixed word.

    It must never change once events are out in people's calendars, so it comes
    from configuration (PUBLIC_BASE_URL), not from anything staff can edit.
    """
    host = urlsplit(current_app.config.get("PUBLIC_BASE_URL", "")).hostname or ""
    if not host or host == "localhost" or "." not in host or _is_ip(host):
        return FALLBACK_UID_DOMAIN
    return host


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def appointment_uid(appointment: FeedEvent, domain: str | None = None) -> str:
    return f"{appointment.uid}@{domain or uid_domain()}"


def time_off_uid(time_off: TimeOff, domain: str | None = None) -> str:
    return f"time-off-{time_off.id}@{domain or uid_domain()}"


def _add_time(component: Component, name: str, instant: datetime, zone: ZoneInfo) -> None:
    """Write an instant as local time with TZID, or in UTC when local time is ambiguous."""
    local = to_local(instant, zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        # The second 01:30 of the night the clocks go back: TZID would mean the first.
        component.add(name, instant.astimezone(UTC))
    else:
        component.add(name, local)


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def _patient_summary(appointment: Appointment, clinic_name: str) -> str:
    summary = (
        f"{appointment.session_type.name} with {appointment.practitioner.name} — {clinic_name}"
    )
    if appointment.status == AppointmentStatus.CANCELLED:
        return f"Cancelled: {summary}"
    return summary


def _patient_description(appointment: Appointment) -> str:
    from booking.clinic.tokens import view_url

    settings = clinic_settings()
    minutes = appointment.session_type.duration_minutes
    lines = [
        f"{appointment.session_type.name} with {appointment.practitioner.name} ({minutes} min)."
    ]
    if appointment.status == AppointmentStatus.CANCELLED:
        lines.append("This appointment has been cancelled.")
    else:
        # Read-only: anyone who sees this calendar could follow it. Changes need the
        # manage link, which only the patient's email holds.
        lines.append(f"Your booking: {view_url(appointment)}")
        lines.append("To move or cancel, use the link in your confirmation email.")
    lines.append(f"{settings.name}, {settings.address}. Telephone {settings.phone}.")
    return "\n\n".join(lines)


def appointment_event(
    appointment: Appointment,
    *,
    summary: str | None = None,
    for_patient: bool = True,
    stamp: datetime | None = None,
) -> Event:
    """One VEVENT for an appointment; its UID never changes, its SEQUENCE follows each change.

    Patient-facing events carry the manage link; staff-facing ones (the feed) carry
    only the session type. Neither carries notes or contact details.
    """
    settings = clinic_settings()
    zone = settings.zone
    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("sequence", appointment.sequence or 0)
    event.add("dtstamp", _utc(stamp) if stamp is not None else datetime.now(UTC))
    _add_time(event, "dtstart", appointment.starts_at, zone)
    _add_time(event, "dtend", appointment.ends_at, zone)
    if appointment.created_at is not None:
        event.add("created", _utc(appointment.created_at))
    if appointment.updated_at is not None:
        event.add("last-modified", _utc(appointment.updated_at))
    cancelled = appointment.status == AppointmentStatus.CANCELLED
    event.add("status", _event_status(appointment))
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    event.add("location", settings.address)
    if for_patient:
        # Hidden from anyone the patient shares their calendar with (a work calendar, say).
        event.add("class", "PRIVATE")
        event.add("summary", summary or _patient_summary(appointment, settings.name))
        event.add("description", _patient_description(appointment))
    else:
        event.add("summary", summary or "Appointment")
    return event


@lru_cache(maxsize=32)
def _timezone_component(tzid: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for `tzid` from 1 January of `first_year` to 1 January of `last_year`.

    Where the zone follows one yearly rule through those years (London: forward on the
    last Sunday of March, back on the last Sunday of October) it is written as one
    STANDARD and one DAYLIGHT observance with an RRULE, the shape Outlook expects: it
    approximates any VTIMEZONE by one yearly rule (MS-OXCICAL 2.1.3.1.1.19), so a
    block of dated changes can come out an hour wrong there. Where the zone has no
    such rule (it changed its law within the years, or follows a calendar other than
    weekdays) each change is written as its own dated observance.

    Written from zoneinfo's own transitions rather than by icalendar's from_tzid, which
    puts the spring change an hour late (DTSTART 02:00 with TZOFFSETFROM +0000 for
    London, where the clocks go forward at 01:00 GMT). RFC 5545 3.6.5 wants each
    observance's DTSTART as the wall-clock time just before the change, in its
    TZOFFSETFROM. Cached: the same few are asked for again and again.
    """
    zone = ZoneInfo(tzid)
    start = datetime(first_year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(last_year, 1, 1, tzinfo=zone).astimezone(UTC)
    component = Timezone()
    component.add("tzid", tzid)
    # From a year earlier, so that each rule's first onset is before the block begins.
    changes = _offset_changes(zone, datetime(first_year - 1, 1, 1, tzinfo=UTC), end)
    rules = _yearly_rules(zone, changes, first_year - 1, last_year - 1)
    if rules is not None:
        for first_change, rule in rules:
            observance = _observance(
                first_change.astimezone(zone), _offset_before(first_change, zone), None
            )
            observance.add("rrule", rule)
            component.add_component(observance)
        return component
    offset = start.astimezone(zone).utcoffset()
    assert offset is not None  # every time in a ZoneInfo zone has an offset
    # The observance in force when the block begins, then one per change after it.
    component.add_component(_observance(start.astimezone(zone), offset, offset))
    for instant in changes:
        if instant >= start:
            component.add_component(
                _observance(instant.astimezone(zone), _offset_before(instant, zone), None)
            )
    return component


def _offset_before(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _yearly_rules(
    zone: ZoneInfo, changes: list[datetime], first_year: int, last_year: int
) -> list[tuple[datetime, dict[str, Any]]] | None:
    """(first change, RRULE) for each kind of change, if every year from `first_year` to
    `last_year` has exactly one change of each kind on the same weekday rule; else None.

    A kind is the change's offsets and name (into summer time, back to standard). The
    rule is "the nth weekday of the month" or "the last weekday of the month" at one
    wall-clock time; zones with no changes at all get None (one dated observance).
    """
    kinds: dict[tuple[timedelta, timedelta | None, str | None, bool], list[datetime]] = {}
    for instant in changes:
        local = instant.astimezone(zone)
        key = (_offset_before(instant, zone), local.utcoffset(), local.tzname(), bool(local.dst()))
        kinds.setdefault(key, []).append(instant)
    years = list(range(first_year, last_year + 1))
    if not kinds or len(kinds) > 2:
        return None
    rules = []
    for (offset_from, _, _, _), instants in kinds.items():
        onsets = [(instant + offset_from).replace(tzinfo=None) for instant in instants]
        rule = _weekday_rule(onsets)
        if rule is None or [onset.year for onset in onsets] != years:
            return None
        rules.append((instants[0], rule))
    return sorted(rules, key=lambda pair: pair[0])


def _weekday_rule(onsets: list[datetime]) -> dict[str, Any] | None:
    """FREQ=YEARLY;BYMONTH=m;BYDAY=nWD if every onset fits it, at one time of day."""
    first = onsets[0]
    if any(
        (onset.month, onset.weekday(), onset.time()) != (first.month, first.weekday(), first.time())
        for onset in onsets
    ):
        return None
    weekday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][first.weekday()]
    # "Last" first: the EU's rule is the last Sunday, which some years is also the 4th.
    nths = {(onset.day - 1) // 7 + 1 for onset in onsets}
    if all((onset + timedelta(days=7)).month != onset.month for onset in onsets):
        ordinal = -1
    elif len(nths) == 1:
        ordinal = nths.pop()
    else:
        return None
    return {"freq": "yearly", "bymonth": first.month, "byday": f"{ordinal}{weekday}"}


def _observance(
    local: datetime, offset_from: timedelta, offset_to: timedelta | None
) -> TimezoneDaylight | TimezoneStandard:
    """STANDARD or DAYLIGHT starting at `local`, entered from `offset_from`."""
    offset_to = local.utcoffset() if offset_to is None else offset_to
    observance = TimezoneDaylight() if local.dst() else TimezoneStandard()
    # The onset as the clock read just before it: the instant in the old offset.
    onset = (local.astimezone(UTC) + offset_from).replace(tzinfo=None)
    observance.add("dtstart", onset)
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    observance.add("tzname", local.tzname())
    return observance


def _offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Each UTC instant in [start, end) at which the zone's offset changes, to the second.

    Looked for a week at a time (no zone changes twice within a week), then narrowed
    down by halving.
    """
    changes = []
    step = timedelta(days=7)
    low = start
    while low < end:
        high = min(low + step, end)
        if low.astimezone(zone).utcoffset() != high.astimezone(zone).utcoffset():
            before, after = low, high
            while after - before > timedelta(seconds=1):
                middle = before + (after - before) / 2
                if middle.astimezone(zone).utcoffset() == before.astimezone(zone).utcoffset():
                    before = middle
                else:
                    after = middle
            changes.append(after.replace(microsecond=0))
        low = high
    return changes


def _years(instants: Iterable[datetime], *, fallback: datetime) -> tuple[int, int]:
    """The first year of `instants` on the clinic's clock, and the year after the last."""
    zone = clinic_settings().zone
    years = [instant.astimezone(zone).year for instant in instants] or [
        fallback.astimezone(zone).year
    ]
    return min(years), max(years) + 1


def _calendar(method: str | None, instants: Iterable[datetime], *, fallback: datetime) -> Calendar:
    """A VCALENDAR with the clinic's VTIMEZONE covering the years of `instants`."""
    settings = clinic_settings()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    first_year, after_last_year = _years(instants, fallback=fallback)
    calendar.add_component(_timezone_component(settings.timezone, first_year, after_last_year))
    return calendar


def clinic_mailbox() -> str:
    """The address that invitations name as ORGANIZER and emails give as Reply-To.

    Reception's mailbox, which staff read, so that a reply or a calendar's "Decline"
    reaches a person; the clinic's public address only when reception has none.
    """
    settings = clinic_settings()
    return settings.reception_email or settings.email


def _organizer() -> vCalAddress:
    settings = clinic_settings()
    organizer = vCalAddress(f"mailto:{clinic_mailbox()}")
    organizer.params["CN"] = vText(settings.name)
    return organizer


def _attendee(appointment: Appointment) -> vCalAddress | None:
    patient = appointment.patient
    if not patient.email:
        return None
    attendee = vCalAddress(f"mailto:{patient.email}")
    attendee.params["CN"] = vText(patient.name)
    attendee.params["ROLE"] = vText("REQ-PARTICIPANT")
    attendee.params["PARTSTAT"] = vText("ACCEPTED")
    attendee.params["RSVP"] = vText("FALSE")
    return attendee


def _span(appointments: Sequence[Appointment]) -> list[datetime]:
    return [a.starts_at for a in appointments] + [a.ends_at for a in appointments]


def invitation(appointment: Appointment, method: str) -> bytes:
    """An email invitation for one appointment: METHOD REQUEST (new or moved) or CANCEL.

    One UID per iTIP object (RFC 5546 1.4, RFC 6047 2.4): Outlook imports only the first
    event of an object holding several, and a CalDAV server stores an object as one
    resource, so a course plan sends one invitation per session. The clinic is the
    organizer, the patient an attendee who has already accepted and is asked for no
    reply (PARTSTAT=ACCEPTED, RSVP=FALSE); see "Calendar invitations" in the README.
    """
    method = method.upper()
    if method not in {"REQUEST", "CANCEL"}:
        raise ValueError(f"unsupported iTIP method {method!r}")
    now = datetime.now(UTC)
    calendar = _calendar(method, _span([appointment]), fallback=now)
    event = appointment_event(appointment, stamp=now)
    if method == "CANCEL":
        event["status"] = vText("CANCELLED")
    event.add("organizer", _organizer())
    attendee = _attendee(appointment)
    if attendee is not None:
        event.add("attendee", attendee)
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


def download(appointments: Sequence[Appointment]) -> bytes:
    """An .ics file for "Add to calendar": METHOD PUBLISH, no organizer or attendee."""
    now = datetime.now(UTC)
    calendar = _calendar("PUBLISH", _span(appointments), fallback=now)
    for appointment in appointments:
        calendar.add_component(appointment_event(appointment, stamp=now))
    ical: bytes = calendar.to_ical()
    return ical


def google_calendar_url(appointment: Appointment) -> str:
    """A link that opens Google Calendar's "new event" page filled in with the appointment."""
    settings = clinic_settings()

    def stamp(instant: datetime) -> str:
        return _utc(instant).strftime("%Y%m%dT%H%M%SZ")

    query = urlencode(
        {
            "action": "TEMPLATE",
            "text": _patient_summary(appointment, settings.name),
            "dates": f"{stamp(appointment.starts_at)}/{stamp(appointment.ends_at)}",
            "details": _patient_description(appointment),
            "location": settings.address,
            "ctz": settings.timezone,
        },
        # Google's own examples keep the slash between the two times unescaped.
        safe="/",
        quote_via=quote,
    )
    return f"https://calendar.google.com/calendar/render?{query}"


def feed_summary(appointment: FeedEvent, privacy: str) -> str:
    """What a practitioner's feed shows for an appointment, by their privacy choice."""
    if privacy == FeedPrivacy.FULL_NAME:
        summary = f"{appointment.patient.name} — {appointment.session_type.name}"
    elif privacy == FeedPrivacy.HIDDEN:
        summary = "Appointment"
    else:
        summary = f"{appointment.patient.initials} — {appointment.session_type.name}"
    if appointment.status == AppointmentStatus.CANCELLED:
        return f"Cancelled: {summary}"
    if appointment.status == AppointmentStatus.HELD:
        return f"Held: {summary}"
    return summary


def _event_status(appointment: "Appointment | FeedEvent") -> str:
    """CANCELLED, TENTATIVE for a held appointment (not yet booked), else CONFIRMED."""
    if appointment.status == AppointmentStatus.CANCELLED:
        return "CANCELLED"
    if appointment.status == AppointmentStatus.HELD:
        return "TENTATIVE"
    return "CONFIRMED"


# The feed is the hot path (a busy year is ~2,000 events, fetched every 15 minutes
# by each subscribed calendar). Building it through icalendar's objects costs about
# half a millisecond an event, so the feed's events are written here as content
# lines directly, with RFC 5545 escaping and folding; icalendar still writes the
# VCALENDAR header and the VTIMEZONE. Tests read the result back with an
# independent parser and with icalendar.


def escape_text(value: str) -> str:
    """A TEXT value escaped as RFC 5545 3.3.11 asks."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line so that no line is longer than 75 octets (RFC 5545 3.1).

    Never splits a UTF-8 character, nor a backslash from the character it escapes
    (some clients mis-read an escape broken across lines).
    """
    if len(line) <= 75 and (line.isascii() or len(line.encode()) <= 75):
        return line
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    limit = 75
    index = 0
    while index < len(line):
        # An escape (a backslash and the character after it) moves as one piece.
        step = 2 if line[index] == "\\" and index + 1 < len(line) else 1
        piece = line[index : index + step]
        index += step
        width = len(piece.encode())
        if size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
            limit = 74  # continuation lines begin with a space
        current.append(piece)
        size += width
    chunks.append("".join(current))
    return "\r\n ".join(chunks)


# "00" to "59": month, day, hour, minute and second, zero-padded, looked up.
_TWO_DIGITS = tuple(f"{number:02d}" for number in range(60))


def _basic_format(value: datetime) -> str:
    """YYYYMMDDTHHMMSS of the wall time in `value`'s own zone.

    A feed formats about 8,000 of these. Each field looked up in a table of padded
    numbers is several times quicker than slicing isoformat's text or formatting each
    field with a format spec (isoformat also works out the offset, which is not needed).
    """
    two = _TWO_DIGITS
    return (
        f"{value.year:04d}{two[value.month]}{two[value.day]}"
        f"T{two[value.hour]}{two[value.minute]}{two[value.second]}"
    )


def _utc_stamp(instant: datetime) -> str:
    if instant.tzinfo is not UTC:  # what the database gives back is UTC already
        instant = instant.astimezone(UTC)
    return _basic_format(instant) + "Z"


@dataclass(frozen=True)
class _FeedClock:
    """How a feed writes its times: clinic wall-clock with TZID where its VTIMEZONE
    reaches (from `covers_from` to `covers_until`), UTC elsewhere.

    UTC needs no VTIMEZONE: it is how a long leave's far end, beyond the years the
    feed covers, is written, and the second pass through October's repeated hour,
    which a TZID time cannot name (RFC 5545 reads it as the first).
    """

    zone: ZoneInfo
    tzid: str
    covers_from: datetime
    covers_until: datetime

    def line(self, name: str, instant: datetime) -> str:
        if not self.covers_from <= instant < self.covers_until:
            return f"{name}:{_utc_stamp(instant)}"
        local = instant.astimezone(self.zone)
        if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
            return f"{name}:{_utc_stamp(instant)}"
        # Folded: a zone's name is configuration, and may be long.
        return fold(f"{name};TZID={self.tzid}:{_basic_format(local)}")


class _RepeatedLines:
    """Lines many events share (the same patient, session or address), folded once."""

    def __init__(self, privacy: str, location: str):
        self.privacy = privacy
        self.location = fold(f"LOCATION:{location}")
        self._summaries: dict[tuple[str, str, str], str] = {}
        self._descriptions: dict[str, str] = {}
        self._statuses: dict[str, str] = {}

    def summary(self, appointment: FeedEvent) -> str:
        key = (appointment.patient.name, appointment.session_type.name, appointment.status)
        line = self._summaries.get(key)
        if line is None:
            text = escape_text(feed_summary(appointment, self.privacy))
            line = self._summaries[key] = fold(f"SUMMARY:{text}")
        return line

    def description(self, session_type_name: str) -> str:
        line = self._descriptions.get(session_type_name)
        if line is None:
            text = escape_text(session_type_name)
            line = self._descriptions[session_type_name] = fold(f"DESCRIPTION:{text}")
        return line

    def status(self, appointment: FeedEvent) -> str:
        """STATUS and TRANSP (two lines): a cancelled appointment leaves the time free."""
        lines = self._statuses.get(appointment.status)
        if lines is None:
            cancelled = appointment.status == AppointmentStatus.CANCELLED
            transparency = "TRANSPARENT" if cancelled else "OPAQUE"
            lines = f"STATUS:{_event_status(appointment)}\r\nTRANSP:{transparency}"
            self._statuses[appointment.status] = lines
        return lines


def _feed_appointment_text(
    appointment: FeedEvent,
    repeated: _RepeatedLines,
    clock: _FeedClock,
    uid_suffix: str,
    now: datetime,
) -> str:
    """One appointment's VEVENT, each line ending in CRLF.

    One string rather than a list of lines: a feed writes 2,000 of these. `uid_suffix`
    is "@" and the UID domain, escaped once: escaping works character by character
    (its one pair, CRLF, cannot straddle the "@"), so the UID comes out as if escaped
    whole. Every line whose length is not fixed is folded (a long UID domain, a long
    zone name, a patient's name); the rest are a few dozen octets at most.
    """
    modified = _utc_stamp(appointment.updated_at or now)
    # No METHOD in the feed, so DTSTAMP is the event's last change (RFC 5545 3.8.7.2).
    text = (
        f"BEGIN:VEVENT\r\n"
        f"{fold(f'UID:{escape_text(appointment.uid)}{uid_suffix}')}\r\n"
        f"SEQUENCE:{appointment.sequence or 0}\r\n"
        f"DTSTAMP:{modified}\r\n"
        f"LAST-MODIFIED:{modified}\r\n"
        f"{clock.line('DTSTART', appointment.starts_at)}\r\n"
        f"{clock.line('DTEND', appointment.ends_at)}\r\n"
        f"{repeated.summary(appointment)}\r\n"
        f"{repeated.location}\r\n"
        f"{repeated.status(appointment)}\r\n"
    )
    if appointment.created_at is not None:
        text += f"CREATED:{_utc_stamp(appointment.created_at)}\r\n"
    if repeated.privacy != FeedPrivacy.HIDDEN:
        text += f"{repeated.description(appointment.session_type.name)}\r\n"
    return text + "END:VEVENT\r\n"


def whole_days(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> tuple[date, date] | None:
    """(first day, day after the last) when a span runs from local midnight to local midnight."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    midnight = time(0)
    if start.time() != midnight or end.time() != midnight or end.date() <= start.date():
        return None
    return start.date(), end.date()


def _feed_time_off_lines(
    time_off: TimeOff, clock: _FeedClock, domain: str, now: datetime
) -> list[str]:
    modified = _utc_stamp(time_off.updated_at or time_off.created_at or now)
    days = whole_days(time_off.starts_at, time_off.ends_at, clock.zone)
    if days is None:
        span = [clock.line("DTSTART", time_off.starts_at), clock.line("DTEND", time_off.ends_at)]
    else:
        # A whole day off is an all-day event (RFC 5545 3.6.1: DTEND is the day after),
        # not a 00:00-00:00 timed one that calendars draw across the day grid.
        first, after_last = days
        span = [
            f"DTSTART;VALUE=DATE:{first:%Y%m%d}",
            f"DTEND;VALUE=DATE:{after_last:%Y%m%d}",
        ]
    return [
        "BEGIN:VEVENT",
        fold(f"UID:{escape_text(time_off_uid(time_off, domain))}"),
        "SEQUENCE:0",
        f"DTSTAMP:{modified}",
        f"LAST-MODIFIED:{modified}",
        *span,
        # The reason stays in the diary: it may be personal to the practitioner.
        f"SUMMARY:{UNAVAILABLE}",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "CLASS:PRIVATE",
        "END:VEVENT",
    ]


def feed(
    practitioner: Practitioner,
    appointments: Sequence[FeedEvent],
    time_off: Sequence[TimeOff],
    *,
    now: datetime,
    covering: tuple[datetime, datetime],
    export: bool = False,
) -> bytes:
    """A practitioner's subscription feed: appointments by privacy choice, time off as busy.

    With `export`, a plain file for importing once (a staff range download): METHOD
    PUBLISH, no calendar name or refresh interval (those tell a calendar app to keep
    the file as a subscription), and UIDs of its own, so that importing it beside the
    subscription adds no duplicates that the subscription would then fight over;
    importing the same range again replaces what the last import added.

    `covering` is the span the feed is about (its window, or a download's dates): its
    VTIMEZONE covers those years, so a block reaching years beyond them costs nothing.
    No METHOD, so each DTSTAMP is the event's last change: the same data gives the
    same bytes, which keeps the feed's ETag honest. No notes or contact details.
    """
    settings = clinic_settings()
    privacy = practitioner.feed_privacy or FeedPrivacy.INITIALS.value
    calendar = _calendar("PUBLISH" if export else None, covering, fallback=now)
    # The same years as the VTIMEZONE just added.
    first_year, after_last_year = _years(covering, fallback=now)
    clock = _FeedClock(
        settings.zone,
        settings.timezone,
        datetime(first_year, 1, 1, tzinfo=settings.zone).astimezone(UTC),
        datetime(after_last_year, 1, 1, tzinfo=settings.zone).astimezone(UTC),
    )
    if not export:
        calendar.add("x-wr-calname", f"{practitioner.name} — {settings.name}")
        calendar.add("x-wr-timezone", settings.timezone)
        calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    shell: bytes = calendar.to_ical()
    closing = b"END:VCALENDAR\r\n"
    if not shell.endswith(closing):
        raise ValueError("the calendar library wrote an unexpected ending")
    repeated = _RepeatedLines(privacy, escape_text(settings.address))
    domain = f"export.{uid_domain()}" if export else uid_domain()
    uid_suffix = escape_text(f"@{domain}")
    events = [
        _feed_appointment_text(appointment, repeated, clock, uid_suffix, now)
        for appointment in appointments
    ]
    for block in time_off:
        events.append("\r\n".join(_feed_time_off_lines(block, clock, domain, now)) + "\r\n")
    return shell[: -len(closing)] + "".join(events).encode() + closing
