"""A small iCalendar reader for tests (RFC 5545), independent of the icalendar library.

The application writes calendars with the icalendar package; reading them back
with the same package would hide its mistakes. This reader follows the RFC
directly: unfold the lines (3.1), split each content line into name,
parameters and value (quoted parameter values may hold ";", ":" and ","),
nest BEGIN/END components, and turn DATE-TIME values into UTC instants using
the TZID (3.3.5) or the "Z" suffix.

    calendar = parse_calendar(ics_bytes)
    calendar.value("METHOD")                 -> "REQUEST"
    [event] = calendar.components_named("VEVENT")
    event.instant("DTSTART")                 -> datetime in UTC
    event.text("SUMMARY")                    -> unescaped text
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


class ICalendarError(ValueError):
    """The data breaks RFC 5545 in a way this reader notices."""


@dataclass
class Property:
    name: str
    params: dict[str, list[str]]
    value: str

    def param(self, name: str) -> str | None:
        values = self.params.get(name.upper())
        return values[0] if values else None


@dataclass
class Component:
    name: str
    properties: list[Property] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)

    def all(self, name: str) -> list[Property]:
        return [p for p in self.properties if p.name == name.upper()]

    def get(self, name: str) -> Property | None:
        found = self.all(name)
        if len(found) > 1:
            raise ICalendarError(f"{self.name} has {len(found)} {name} properties, expected one")
        return found[0] if found else None

    def value(self, name: str) -> str | None:
        prop = self.get(name)
        return prop.value if prop is not None else None

    def text(self, name: str) -> str | None:
        """A TEXT value with its escapes (3.3.11) undone."""
        value = self.value(name)
        return unescape_text(value) if value is not None else None

    def components_named(self, name: str) -> list[Component]:
        return [c for c in self.components if c.name == name.upper()]

    def instant(self, name: str) -> datetime:
        """A DATE-TIME property as an aware UTC datetime."""
        prop = self.get(name)
        if prop is None:
            raise ICalendarError(f"{self.name} has no {name}")
        return parse_date_time(prop.value, prop.param("TZID"))


def unfold(data: bytes | str) -> list[str]:
    """The logical content lines: a line break followed by a space or tab continues a line."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    lines: list[str] = []
    for physical in text.replace("\r\n", "\n").split("\n"):
        if physical[:1] in (" ", "\t"):
            if not lines:
                raise ICalendarError("the data starts with a continuation line")
            lines[-1] += physical[1:]
        elif physical:
            lines.append(physical)
    return lines


def physical_lines_longer_than(data: bytes, octets: int = 75) -> list[bytes]:
    """Lines (without their CRLF) longer than the RFC's limit of 75 octets."""
    return [line for line in data.split(b"\r\n") if len(line) > octets]


def parse_line(line: str) -> Property:
    """Split one content line: name *(";" param) ":" value."""
    index = 0
    length = len(line)
    while index < length and line[index] not in ";:":
        index += 1
    name = line[:index].upper()
    if not name:
        raise ICalendarError(f"no property name in {line!r}")
    params: dict[str, list[str]] = {}
    while index < length and line[index] == ";":
        index += 1
        start = index
        while index < length and line[index] != "=":
            index += 1
        param_name = line[start:index].upper()
        index += 1  # the "="
        values: list[str] = []
        while True:
            if index < length and line[index] == '"':
                end = line.find('"', index + 1)
                if end == -1:
                    raise ICalendarError(f"unclosed quote in {line!r}")
                values.append(line[index + 1 : end])
                index = end + 1
            else:
                start = index
                while index < length and line[index] not in ",;:":
                    index += 1
                values.append(line[start:index])
            if index < length and line[index] == ",":
                index += 1
                continue
            break
        params[param_name] = values
    if index >= length or line[index] != ":":
        raise ICalendarError(f"no value in {line!r}")
    return Property(name=name, params=params, value=line[index + 1 :])


def parse_calendar(data: bytes | str) -> Component:
    """The single VCALENDAR in `data`, with its nested components."""
    stack: list[Component] = []
    top: list[Component] = []
    for line in unfold(data):
        prop = parse_line(line)
        if prop.name == "BEGIN":
            component = Component(prop.value.upper())
            if stack:
                stack[-1].components.append(component)
            else:
                top.append(component)
            stack.append(component)
        elif prop.name == "END":
            if not stack or stack[-1].name != prop.value.upper():
                raise ICalendarError(f"END:{prop.value} does not close the open component")
            stack.pop()
        else:
            if not stack:
                raise ICalendarError(f"{prop.name} outside any component")
            stack[-1].properties.append(prop)
    if stack:
        raise ICalendarError(f"{stack[-1].name} is never closed")
    if len(top) != 1 or top[0].name != "VCALENDAR":
        raise ICalendarError("expected exactly one VCALENDAR")
    return top[0]


def unescape_text(value: str) -> str:
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            following = value[index + 1]
            out.append("\n" if following in "nN" else following)
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def parse_date_time(value: str, tzid: str | None) -> datetime:
    """FORM #2 (UTC, "...Z") or FORM #3 (local time with TZID) as an aware UTC datetime.

    Floating times (FORM #1, no zone at all) are refused: an appointment must
    never move with the reader's own time zone.
    """
    if value.endswith("Z"):
        if tzid:
            raise ICalendarError("a UTC time must not carry a TZID")
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if not tzid:
        raise ICalendarError(f"floating time {value!r} has no zone")
    local = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(tzid))
    return local.astimezone(UTC)


def parse_date(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").date()
