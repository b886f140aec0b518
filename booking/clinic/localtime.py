"""Converting between UTC instants and the clinic's wall-clock time.

Everything is stored in UTC; these are the only crossings to local time. Around
the clocks changing, a wall-clock time can be missing (the skipped hour in
March) or happen twice (the repeated hour in October): both are handled here.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The dates a person may ask about. A clinic's diary needs nothing outside them, and
# inside them a day or a year either way never leaves what Python's dates can hold
# (0001-01-01 minus a day, or 9999-12-31 plus one, would fail with OverflowError).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)
OUT_OF_REACH = "Please choose a date between 2000 and 2099."


def within_reach(day: date | datetime | None) -> bool:
    """True for a date (or instant) between EARLIEST_DAY and LATEST_DAY."""
    if day is None:
        return False
    if isinstance(day, datetime):
        day = day.date()
    return EARLIEST_DAY <= day <= LATEST_DAY


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """The clinic's wall-clock time of a UTC instant."""
    if instant.tzinfo is None:
        raise ValueError("to_local needs an aware datetime")
    return instant.astimezone(zone)


def wall_time_exists(day: date, at: time, zone: ZoneInfo) -> bool:
    """False for a time in the hour skipped when the clocks go forward."""
    local = datetime.combine(day, at, tzinfo=zone)
    round_trip = local.astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time.

    A repeated time means its first occurrence (fold=0). A skipped time is moved
    forward by the gap, as the clock on the wall would be (01:30 becomes 02:30 BST).
    """
    # With fold=0 zoneinfo reads a skipped time with the offset from before the gap,
    # which lands on the instant the wall clock shows one gap later, as wanted.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC start and end of a local calendar day (23 or 25 hours long when the clocks change)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return to_local(now, zone).date()
