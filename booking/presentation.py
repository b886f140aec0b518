"""How the clinic's values read to a person: money, durations and local times."""

from datetime import UTC, datetime

from flask import Flask

from booking.clinic.localtime import to_local, within_reach

# How a start time travels in a URL (booking steps, the diary's empty slots): UTC, minutes.
START_FORMAT = "%Y%m%dT%H%MZ"


def format_start(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime(START_FORMAT)


def parse_start(value: str | None) -> datetime | None:
    """A start time from a URL, or None if it is not one we could have written."""
    try:
        instant = datetime.strptime(value or "", START_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return instant if within_reach(instant) else None


def format_money(pence: int) -> str:
    pounds, remainder = divmod(pence, 100)
    return f"£{pounds:,}" if remainder == 0 else f"£{pounds:,}.{remainder:02d}"


def format_duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} hour" + ("s" if hours > 1 else "")
    return f"{rest} min"


def _zone():
    from booking.clinic.settings import clinic_settings

    return clinic_settings().zone


def format_local_time(instant: datetime) -> str:
    """e.g. 09:30"""
    return to_local(instant, _zone()).strftime("%H:%M")


def format_local_date(instant: datetime) -> str:
    """e.g. Tuesday 24 November 2026"""
    local = to_local(instant, _zone())
    return f"{local:%A} {local.day} {local:%B %Y}"


def format_local_datetime(instant: datetime) -> str:
    """e.g. Tuesday 24 November 2026 at 09:30 (GMT)"""
    local = to_local(instant, _zone())
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} ({local:%Z})"


def register_filters(app: Flask) -> None:
    app.add_template_filter(format_money, "money")
    app.add_template_filter(format_duration, "duration")
    app.add_template_filter(format_local_time, "local_time")
    app.add_template_filter(format_local_date, "local_date")
    app.add_template_filter(format_local_datetime, "local_datetime")

    @app.template_global()
    def google_calendar_url(appointment) -> str:
        from booking.clinic.calendar import google_calendar_url as build

        return build(appointment)
