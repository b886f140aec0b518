"""The clinic's dates and times in words, in the clinic's own zone.

For emails (the domain queues them) and pages alike; `booking.presentation` registers
them as template filters.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from booking.clinic.localtime import to_local
from booking.clinic.settings import clinic_zone


def _zone() -> ZoneInfo:
    return clinic_zone()


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
