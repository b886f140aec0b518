"""Free start times: working hours minus appointments and blocked time.

The slot grid is wall-clock time in the clinic's zone: a practitioner who starts
at 09:00 offers 09:00 local on both sides of the clocks changing. A wall-clock
time skipped when the clocks go forward is never offered; a time repeated when
they go back is offered once (its first occurrence). Everything else is UTC.

`free_starts` is the pure core (no database), property-tested with Hypothesis;
the other functions load what it needs with two small queries.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from booking.clinic.localtime import local_day_bounds, local_to_utc, local_today, wall_time_exists
from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import (
    Appointment,
    ClinicSettings,
    Practitioner,
    SessionType,
    TimeOff,
)

# No session is longer than this; it bounds the appointments query so the index is used.
LONGEST_APPOINTMENT = timedelta(hours=12)

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Rules:
    """The clinic's booking rules, read once from the settings."""

    zone: ZoneInfo
    slot_step_minutes: int = 15
    buffer_minutes: int = 0
    minimum_notice: timedelta = timedelta(hours=2)
    horizon_days: int = 90

    @classmethod
    def from_settings(cls, settings: ClinicSettings) -> "Rules":
        return cls(
            zone=settings.zone,
            slot_step_minutes=max(5, settings.slot_step_minutes),
            buffer_minutes=max(0, settings.buffer_minutes),
            minimum_notice=timedelta(minutes=max(0, settings.minimum_booking_notice_minutes)),
            horizon_days=max(0, settings.booking_horizon_days),
        )


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same time."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _overlaps_busy(start: datetime, end: datetime, busy: Sequence[Interval], ends: list) -> bool:
    # `busy` is merged, so at most the first interval ending after `start` can overlap.
    index = bisect_right(ends, start)
    return index < len(busy) and busy[index][0] < end


def _wall_clock_converter(day: date, zone: ZoneInfo):
    """A function from a naive local time on `day` to its UTC instant, or None if skipped.

    Most days have one UTC offset throughout, and plain arithmetic is exact and fast;
    only the two days a year when the clocks change need zoneinfo for each time.
    """
    morning = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
    evening = datetime.combine(day, time(23, 59), tzinfo=zone).utcoffset()
    if morning == evening:
        return lambda wall: (wall - morning).replace(tzinfo=UTC)

    def convert(wall: datetime) -> datetime | None:
        if not wall_time_exists(day, wall.time(), zone):
            return None
        return local_to_utc(day, wall.time(), zone)

    return convert


def free_starts(
    day: date,
    *,
    duration: timedelta,
    hours: Sequence[tuple[time, time]],
    busy: Sequence[Interval],
    rules: Rules,
    earliest: datetime,
) -> list[datetime]:
    """Free UTC start instants on one local day.

    `hours` are the local working intervals that day; `busy` the merged UTC
    intervals already taken (appointments widened by the buffer, blocked time);
    `earliest` the first instant that may be offered (now plus notice).
    """
    step = timedelta(minutes=rules.slot_step_minutes)
    ends = [end for _, end in busy]
    to_utc = _wall_clock_converter(day, rules.zone)
    starts: list[datetime] = []
    for opens, closes in hours:
        if closes <= opens:
            continue
        closes_at = local_to_utc(day, closes, rules.zone)
        wall = datetime.combine(day, opens)
        last_wall = datetime.combine(day, closes)
        while wall < last_wall:
            start = to_utc(wall)
            if start is not None:
                end = start + duration
                if end > closes_at:
                    break
                if start >= earliest and not _overlaps_busy(start, end, busy, ends):
                    starts.append(start)
            wall += step
    return sorted(set(starts))


def _hours_by_weekday(practitioner: Practitioner) -> dict[int, list[tuple[time, time]]]:
    by_weekday: dict[int, list[tuple[time, time]]] = {}
    for hours in practitioner.working_hours:
        by_weekday.setdefault(hours.weekday, []).append((hours.starts_at, hours.ends_at))
    for intervals in by_weekday.values():
        intervals.sort()
    return by_weekday


def busy_intervals(
    practitioner_id: int,
    window_start: datetime,
    window_end: datetime,
    *,
    buffer: timedelta = timedelta(0),
    ignore_appointment_id: int | None = None,
) -> list[Interval]:
    """Live appointments (widened by the buffer) and blocked time, merged, in UTC."""
    query = select(Appointment.starts_at, Appointment.ends_at).where(
        Appointment.practitioner_id == practitioner_id,
        Appointment.is_live,
        Appointment.starts_at < window_end + buffer,
        Appointment.starts_at > window_start - buffer - LONGEST_APPOINTMENT,
        Appointment.ends_at > window_start - buffer,
    )
    if ignore_appointment_id is not None:
        query = query.where(Appointment.id != ignore_appointment_id)
    taken = [(start - buffer, end + buffer) for start, end in db.session.execute(query)]
    blocked = db.session.execute(
        select(TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.practitioner_id == practitioner_id,
            TimeOff.starts_at < window_end,
            TimeOff.ends_at > window_start,
        )
    )
    return merge_intervals([*taken, *((start, end) for start, end in blocked)])


def offers(practitioner: Practitioner, session_type: SessionType) -> bool:
    return (
        practitioner.active and session_type.active and session_type in practitioner.session_types
    )


def practitioner_free_starts(
    practitioner: Practitioner,
    session_type: SessionType,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    settings: ClinicSettings | None = None,
    ignore_appointment_id: int | None = None,
    ignore_minimum_notice: bool = False,
) -> dict[date, list[datetime]]:
    """Free start instants for each local day from `first_day` to `last_day`.

    Patients see times from now plus the minimum notice up to the booking horizon;
    staff (`ignore_minimum_notice`) see every future time.
    """
    settings = settings or clinic_settings()
    rules = Rules.from_settings(settings)
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    result: dict[date, list[datetime]] = {day: [] for day in days}
    if not days or not offers(practitioner, session_type):
        return result
    if ignore_minimum_notice:
        # Strictly after now: a time that has started is no longer bookable.
        earliest, last_bookable = now + timedelta(microseconds=1), date.max
    else:
        earliest = now + rules.minimum_notice
        last_bookable = local_today(now, rules.zone) + timedelta(days=rules.horizon_days)
    window_start = local_day_bounds(first_day, rules.zone)[0]
    window_end = local_day_bounds(last_day, rules.zone)[1]
    busy = busy_intervals(
        practitioner.id,
        window_start,
        window_end,
        buffer=timedelta(minutes=rules.buffer_minutes),
        ignore_appointment_id=ignore_appointment_id,
    )
    hours = _hours_by_weekday(practitioner)
    duration = timedelta(minutes=session_type.duration_minutes)
    for day in days:
        if day > last_bookable or not hours.get(day.weekday()):
            continue
        if local_day_bounds(day, rules.zone)[1] <= earliest:
            continue
        result[day] = free_starts(
            day,
            duration=duration,
            hours=hours[day.weekday()],
            busy=busy,
            rules=rules,
            earliest=earliest,
        )
    return result


def is_free_start(
    practitioner: Practitioner,
    session_type: SessionType,
    starts_at: datetime,
    *,
    now: datetime,
    settings: ClinicSettings | None = None,
    ignore_appointment_id: int | None = None,
    ignore_minimum_notice: bool = False,
) -> bool:
    """True when `starts_at` is on the grid, in hours, within the rules and free."""
    settings = settings or clinic_settings()
    day = starts_at.astimezone(settings.zone).date()
    by_day = practitioner_free_starts(
        practitioner,
        session_type,
        day,
        day,
        now=now,
        settings=settings,
        ignore_appointment_id=ignore_appointment_id,
        ignore_minimum_notice=ignore_minimum_notice,
    )
    return starts_at in by_day[day]


def first_available(
    practitioners: Sequence[Practitioner],
    session_type: SessionType,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    settings: ClinicSettings | None = None,
) -> dict[date, list[tuple[datetime, Practitioner]]]:
    """For "any practitioner": each free start once, with the first practitioner free then.

    Practitioners are tried in the order given (the clinic's order).
    """
    settings = settings or clinic_settings()
    result: dict[date, dict[datetime, Practitioner]] = {}
    for practitioner in practitioners:
        by_day = practitioner_free_starts(
            practitioner, session_type, first_day, last_day, now=now, settings=settings
        )
        for day, starts in by_day.items():
            chosen = result.setdefault(day, {})
            for start in starts:
                chosen.setdefault(start, practitioner)
    return {day: sorted(chosen.items(), key=lambda item: item[0]) for day, chosen in result.items()}
