"""Reading busy time from a practitioner's own calendar: one function per kind of source.

Both kinds end in the same reading of iCalendar data (with the `ical` package, which
expands repeating events): each timed event that is not free (TRANSP:TRANSPARENT) and
not cancelled is busy from its start to its end. All-day events are not counted:
calendars mark birthdays and reminders that way, and Google and Outlook show them as
free by default. Titles, places and descriptions are never kept.
"""

import xml.etree.ElementTree as ElementTree  # noqa: S405 - the body is size-capped, see below
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urljoin

from booking.clinic.calendar_fetch import FetchError, request

Span = tuple[datetime, datetime]

DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"


def busy_in_ics(data: bytes | str, window: Span) -> list[Span]:
    """The busy spans of an iCalendar file that reach into `window` (UTC instants)."""
    # Imported here: the ical package takes most of a second to import, and every process
    # that starts the app (each gunicorn worker, each flask command) would pay it.
    from ical.calendar_stream import IcsCalendarStream
    from ical.exceptions import CalendarParseError

    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    try:
        calendar = IcsCalendarStream.calendar_from_ics(text)
    except CalendarParseError as error:
        raise FetchError("the calendar could not be read as iCalendar data") from error
    start, end = window
    spans = []
    for event in calendar.timeline_tz(UTC).overlapping(start, end):
        begins, finish = event.dtstart, event.end
        if not isinstance(begins, datetime) or not isinstance(finish, datetime):
            continue  # all-day (a date, not a time)
        if _word(event.transparency) == "TRANSPARENT" or _word(event.status) == "CANCELLED":
            continue
        begins, ends = begins.astimezone(UTC), finish.astimezone(UTC)
        if ends > begins:
            spans.append((max(begins, start), min(ends, end)))
    return sorted(spans)


def _word(value: object) -> str:
    """An enumerated property's value, whether the parser gives an enum or a string."""
    return str(getattr(value, "value", value) or "").upper()


def busy_from_ical_url(url: str, window: Span) -> list[Span]:
    """A private iCal address (Google's "secret address", Apple's public calendar link)."""
    return busy_in_ics(request(url), window)


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _calendar_query(window: Span) -> bytes:
    """RFC 4791 7.8: the events overlapping the window, their data with repeats expanded."""
    start, end = (_stamp(instant) for instant in window)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/></C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>""".encode()


def _calendar_data(multistatus: bytes) -> Iterable[str]:
    try:
        # Size-capped by `request`, and ElementTree resolves no external entities.
        root = ElementTree.fromstring(multistatus)  # noqa: S314
    except ElementTree.ParseError as error:
        raise FetchError("the CalDAV server's answer could not be read") from error
    for element in root.iter(f"{CALDAV}calendar-data"):
        if element.text:
            yield element.text


def busy_from_caldav(url: str, username: str, password: str, window: Span) -> list[Span]:
    """A CalDAV calendar collection (Nextcloud, iCloud, Fastmail, Radicale ...)."""
    collection = url if url.endswith("/") else f"{url}/"
    answer = request(
        urljoin(collection, ""),
        method="REPORT",
        body=_calendar_query(window),
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        username=username,
        password=password,
    )
    spans: list[Span] = []
    for data in _calendar_data(answer):
        spans.extend(busy_in_ics(data, window))
    return sorted(spans)
