"""Free start times: working hours minus appointments and blocked time.

The slot grid is wall-clock time in the clinic's zone: a practitioner who starts
at 09:00 offers 09:00 local on both sides of the clocks changing. A wall-clock
time skipped when the clocks go forward is never offered; a time repeated when
they go back is offered once (its first occurrence). Everything else is UTC.

`free_starts` is the pure core (no database), property-tested with Hypothesis;
the other functions load what it needs with two queries, whatever the number of
practitioners: their hours (only if they give the session) and their busy time.
"""

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Integer,
    Select,
    bindparam,
    literal_column,
    select,
    union_all,
)

from booking.clinic import offerings
from booking.clinic.localtime import local_day_bounds, local_to_utc, local_today, wall_time_exists
from booking.clinic.settings import clinic_settings
from booking.database import UTCDateTime
from booking.extensions import db
from booking.models import (
    Appointment,
    BusyTime,
    ClinicSettings,
    Practitioner,
    SessionType,
    TimeOff,
    WorkingHours,
)
from booking.models.clinic import practitioner_session_types

# No session is longer than this; it bounds the appointments query so the index is used.
LONGEST_APPOINTMENT = timedelta(hours=12)

Interval = tuple[datetime, datetime]

# The practitioners a query is about (an IN list of any length).
_IDS: BindParameter[list[int]] = bindparam("practitioner_ids", expanding=True)


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


def _overlaps_busy(
    start: datetime, end: datetime, busy: Sequence[Interval], ends: list[datetime]
) -> bool:
    # `busy` is merged, so at most the first interval ending after `start` can overlap.
    index = bisect_right(ends, start)
    return index < len(busy) and busy[index][0] < end


def _wall_clock_converter(day: date, zone: ZoneInfo) -> Callable[[datetime], datetime | None]:
    """A function from a naive local time on `day` to its UTC instant, or None if skipped.

    Most days have one UTC offset throughout, and plain arithmetic is exact and fast;
    only the two days a year when the clocks change need zoneinfo for each time.
    """
    offset = _constant_offset(day, zone)
    if offset is not None:
        constant = offset
        return lambda wall: (wall - constant).replace(tzinfo=UTC)

    def convert(wall: datetime) -> datetime | None:
        if not wall_time_exists(day, wall.time(), zone):
            return None
        return local_to_utc(day, wall.time(), zone)

    return convert


def free_starts_by_wall_clock(
    day: date,
    *,
    duration: timedelta,
    hours: Sequence[tuple[time, time]],
    busy: Sequence[Interval],
    rules: Rules,
    earliest: datetime,
) -> list[datetime]:
    """`free_starts` stepping through the wall clock: exact on every day, but slow.

    Used on the days the clocks change (and the property tests compare the fast
    arithmetic of `free_starts` with it on every other day).
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


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _seconds(instant: datetime | timedelta, *, up: bool = False) -> int:
    """Whole seconds since the epoch (or of a duration), rounded down or `up`."""
    delta = instant - EPOCH if isinstance(instant, datetime) else instant
    whole = delta.days * 86_400 + delta.seconds
    return whole + 1 if up and delta.microseconds else whole


def _instant(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def _second_of_day(at: time) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second


@dataclass(frozen=True)
class BusySeconds:
    """Merged busy intervals as whole epoch seconds (starts down, ends up), for bisecting."""

    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, busy: Sequence[Interval]) -> "BusySeconds":
        return cls(
            [_seconds(start) for start, _ in busy], [_seconds(end, up=True) for _, end in busy]
        )


def _constant_offset(day: date, zone: ZoneInfo) -> timedelta | None:
    """The day's one UTC offset, or None on a day the clocks change."""
    morning = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
    evening = datetime.combine(day, time(23, 59), tzinfo=zone).utcoffset()
    return morning if morning == evening else None


def _free_runs(
    midnight: int,
    *,
    length: int,
    step: int,
    hours: Sequence[tuple[time, time]],
    busy: BusySeconds,
    first_allowed: int,
) -> list[Sequence[int]]:
    """Free starts (epoch seconds) on a day of one UTC offset whose local midnight is given.

    As runs of the grid between busy intervals: the work is a few steps per busy
    interval, not one per slot, so twenty practitioners cost little more than one.
    """
    starts, ends = busy.starts, busy.ends
    count = len(ends)
    runs: list[Sequence[int]] = []
    for opens, closes in hours:
        if closes <= opens:
            continue
        start = midnight + _second_of_day(opens)
        last = midnight + _second_of_day(closes) - length
        if start < first_allowed:
            start += -(-(first_allowed - start) // step) * step
        while start <= last:
            # Busy intervals are merged and sorted, so only the first one ending after
            # `start` can overlap a session starting then (starts and ends both ascend).
            index = bisect_right(ends, start)
            if index < count and starts[index] < start + length:
                # Busy: every grid point before this interval ends overlaps it too.
                start += -(-(ends[index] - start) // step) * step
                continue
            stop = last if index == count else min(last, starts[index] - length)
            runs.append(range(start, stop + 1, step))
            start += ((stop - start) // step + 1) * step
    return runs


def _sorted_starts(runs: Iterable[Sequence[int]]) -> list[int]:
    """One sorted list from runs that may overlap (working intervals may, and so do
    several practitioners' runs for "anyone").

    Runs on one grid (ranges of one step and phase, as `_free_runs` makes them on a day
    of one UTC offset) are merged as intervals, a few steps per run rather than one per
    start; anything else goes through a set.
    """
    runs = [run for run in runs if len(run)]
    grid = [run for run in runs if isinstance(run, range)]
    step = grid[0].step if grid else 0
    if (
        not grid
        or len(grid) < len(runs)
        or any(run.step != step or run.start % step != grid[0].start % step for run in grid)
    ):
        found: set[int] = set()
        for run in runs:
            found.update(run)
        return sorted(found)
    grid.sort(key=lambda run: run.start)
    starts: list[int] = []
    low, high = grid[0].start, grid[0][-1]
    for run in grid[1:]:
        if run.start <= high + step:
            high = max(high, run[-1])
        else:
            starts.extend(range(low, high + 1, step))
            low, high = run.start, run[-1]
    starts.extend(range(low, high + 1, step))
    return starts


def _fast_path_fits(duration: timedelta, hours: Sequence[tuple[time, time]]) -> bool:
    return (
        duration > timedelta(0)
        and not duration.microseconds
        and not any(opens.microsecond or closes.microsecond for opens, closes in hours)
    )


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
    offset = _constant_offset(day, rules.zone)
    if offset is None or not _fast_path_fits(duration, hours):
        return free_starts_by_wall_clock(
            day, duration=duration, hours=hours, busy=busy, rules=rules, earliest=earliest
        )
    midnight = _seconds(datetime.combine(day, time(0), tzinfo=UTC) - offset)
    runs = _free_runs(
        midnight,
        length=_seconds(duration),
        step=rules.slot_step_minutes * 60,
        hours=hours,
        busy=BusySeconds.of(busy),
        first_allowed=_seconds(earliest, up=True),
    )
    return [_instant(start) for start in _sorted_starts(runs)]


Hours = dict[int, list[tuple[time, time]]]  # weekday (Monday is 0) -> local intervals


@cache
def _hours_statement() -> Select[int, int, time, time]:
    """Working hours of the active practitioners among some who give a session (built once)."""
    return (
        select(
            WorkingHours.practitioner_id,
            WorkingHours.weekday,
            WorkingHours.starts_at,
            WorkingHours.ends_at,
        )
        .join(Practitioner, Practitioner.id == WorkingHours.practitioner_id)
        .join(
            practitioner_session_types,
            (practitioner_session_types.c.practitioner_id == WorkingHours.practitioner_id)
            & (
                practitioner_session_types.c.session_type_id
                == bindparam("session_type_id", type_=Integer)
            ),
        )
        .where(WorkingHours.practitioner_id.in_(_IDS), Practitioner.active.is_(True))
    )


def hours_offering(practitioner_ids: Sequence[int], session_type: SessionType) -> dict[int, Hours]:
    """The weekly hours of those of the practitioners who are active and give the session.

    One query for any number of practitioners; one who does not give it has no entry.
    """
    if not session_type.active or not practitioner_ids:
        return {}
    rows = db.session.execute(
        _hours_statement(),
        {"practitioner_ids": list(practitioner_ids), "session_type_id": session_type.id},
    )
    by_practitioner: dict[int, Hours] = {}
    for practitioner_id, weekday, opens, closes in rows:
        by_practitioner.setdefault(practitioner_id, {}).setdefault(weekday, []).append(
            (opens, closes)
        )
    for by_weekday in by_practitioner.values():
        for intervals in by_weekday.values():
            intervals.sort()
    return by_practitioner


def working_weekdays(practitioner_ids: Sequence[int]) -> set[int]:
    """The weekdays (Monday is 0) on which any of the practitioners works: one query."""
    if not practitioner_ids:
        return set()
    return set(
        db.session.scalars(
            select(WorkingHours.weekday)
            .where(WorkingHours.practitioner_id.in_(practitioner_ids))
            .distinct()
        )
    )


# Where busy time comes from. Each source is a SELECT of (practitioner_id, starts_at,
# ends_at, padded) for the practitioners and the window, written with the bind parameters
# below; `padded` rows are widened by the clinic's buffer. All sources go to the database
# as one UNION ALL, so one more source (say, busy times from a practitioner's own calendar)
# is one more function here and no more queries. The statement is built once and reused:
# building it afresh (SQLAlchemy's expression objects) cost more than running it.
BusyRows = Select[int, datetime, datetime, int]  # practitioner_id, starts_at, ends_at, padded
BusySource = Callable[[bool], BusyRows]  # (leave out one appointment?) -> statement

_WINDOW_START = bindparam("window_start", type_=UTCDateTime)
_WINDOW_END = bindparam("window_end", type_=UTCDateTime)
# The window widened by the buffer, and the earliest start of an appointment that can reach
# into it (bounding the appointments query so that the index is used).
_PADDED_START = bindparam("padded_start", type_=UTCDateTime)
_PADDED_END = bindparam("padded_end", type_=UTCDateTime)
_EARLIEST_REACHING = bindparam("earliest_reaching", type_=UTCDateTime)
_IGNORED = bindparam("ignore_appointment_id", type_=Integer)


def _booked(ignoring_one: bool) -> BusyRows:
    """Live appointments that reach into the window (by the buffer)."""
    query = select(
        Appointment.practitioner_id,
        Appointment.starts_at,
        Appointment.ends_at,
        literal_column("1", Integer).label("padded"),
    ).where(
        Appointment.practitioner_id.in_(_IDS),
        Appointment.is_live,
        Appointment.starts_at < _PADDED_END,
        Appointment.starts_at > _EARLIEST_REACHING,
        Appointment.ends_at > _PADDED_START,
    )
    if ignoring_one:
        query = query.where(Appointment.id != _IGNORED)
    return query


def _unpadded(model: type[TimeOff] | type[BusyTime], what: str) -> BusySource:
    """A source of plain busy intervals from `model`'s practitioner_id, starts_at, ends_at."""

    def source(_ignoring_one: bool) -> BusyRows:
        return select(
            model.practitioner_id,
            model.starts_at,
            model.ends_at,
            literal_column("0", Integer).label("padded"),
        ).where(
            model.practitioner_id.in_(_IDS),
            model.starts_at < _WINDOW_END,
            model.ends_at > _WINDOW_START,
        )

    source.__doc__ = what
    return source


# Blocked time (holidays, training, the clinic closed) that reaches into the window.
_blocked = _unpadded(TimeOff, "Blocked time that reaches into the window.")
# Busy time read from the practitioner's own calendar (booking.clinic.busy_time).
_own_calendar = _unpadded(BusyTime, "Busy time from the practitioner's own calendar.")


BUSY_SOURCES: tuple[BusySource, ...] = (_booked, _blocked, _own_calendar)


@cache
def _busy_statement(ignoring_one: bool) -> CompoundSelect[int, datetime, datetime, int]:
    return union_all(*(source(ignoring_one) for source in BUSY_SOURCES))


def busy_by_practitioner(
    practitioner_ids: Sequence[int],
    window_start: datetime,
    window_end: datetime,
    *,
    buffer: timedelta = timedelta(0),
    ignore_appointment_id: int | None = None,
) -> dict[int, list[Interval]]:
    """Each practitioner's busy time in the window, merged, in UTC: one query for all."""
    if not practitioner_ids:
        return {}
    ids = list(practitioner_ids)
    parameters: dict[str, object] = {
        "practitioner_ids": ids,
        "window_start": window_start,
        "window_end": window_end,
        "padded_start": window_start - buffer,
        "padded_end": window_end + buffer,
        "earliest_reaching": window_start - buffer - LONGEST_APPOINTMENT,
    }
    if ignore_appointment_id is not None:
        parameters["ignore_appointment_id"] = ignore_appointment_id
    statement = _busy_statement(ignore_appointment_id is not None)
    intervals: dict[int, list[Interval]] = {practitioner_id: [] for practitioner_id in ids}
    for practitioner_id, start, end, padded in db.session.execute(statement, parameters):
        if padded and buffer:
            start, end = start - buffer, end + buffer
        intervals[practitioner_id].append((start, end))
    return {practitioner_id: merge_intervals(spans) for practitioner_id, spans in intervals.items()}


def busy_intervals(
    practitioner_id: int,
    window_start: datetime,
    window_end: datetime,
    *,
    buffer: timedelta = timedelta(0),
    ignore_appointment_id: int | None = None,
) -> list[Interval]:
    """Live appointments (widened by the buffer) and blocked time, merged, in UTC."""
    return busy_by_practitioner(
        [practitioner_id],
        window_start,
        window_end,
        buffer=buffer,
        ignore_appointment_id=ignore_appointment_id,
    )[practitioner_id]


def offers(practitioner: Practitioner, session_type: SessionType) -> bool:
    """Whether the practitioner offers it (`booking.clinic.offerings`) and it is on offer."""
    return session_type.active and offerings.offers(practitioner, session_type)


def _free_seconds_by_practitioner(
    practitioners: Sequence[Practitioner],
    session_type: SessionType,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    settings: ClinicSettings | None,
    ignore_appointment_id: int | None = None,
    ignore_minimum_notice: bool = False,
) -> tuple[list[date], dict[int, dict[date, list[Sequence[int]]]]]:
    """The days asked for, and each giving practitioner's free starts by day.

    The starts are epoch seconds, in runs (ranges of the grid) that may overlap.

    Two queries, however many practitioners: their hours, and their busy time. Whole
    seconds are exact: the grid starts at working hours (whole minutes) and steps by
    whole minutes; `free_starts` shows how the notice and busy time are compared.
    """
    settings = settings or clinic_settings()
    rules = Rules.from_settings(settings)
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    hours = hours_offering([p.id for p in practitioners], session_type) if days else {}
    if not hours:
        return days, {}
    if ignore_minimum_notice:
        # Strictly after now: a time that has started is no longer bookable.
        earliest, last_bookable = now + timedelta(microseconds=1), date.max
    else:
        earliest = now + rules.minimum_notice
        last_bookable = local_today(now, rules.zone) + timedelta(days=rules.horizon_days)
    window_start = local_day_bounds(first_day, rules.zone)[0]
    window_end = local_day_bounds(last_day, rules.zone)[1]
    busy = busy_by_practitioner(
        list(hours),
        window_start,
        window_end,
        buffer=timedelta(minutes=rules.buffer_minutes),
        ignore_appointment_id=ignore_appointment_id,
    )
    duration = timedelta(minutes=session_type.duration_minutes)
    length, step = _seconds(duration), rules.slot_step_minutes * 60
    first_allowed = _seconds(earliest, up=True)
    # Each open day's local midnight in epoch seconds, or None on a day the clocks change.
    midnights: dict[date, int | None] = {}
    for day in days:
        if day <= last_bookable and local_day_bounds(day, rules.zone)[1] > earliest:
            offset = _constant_offset(day, rules.zone)
            midnights[day] = (
                None
                if offset is None
                else _seconds(datetime.combine(day, time(0), tzinfo=UTC) - offset)
            )
    result: dict[int, dict[date, list[Sequence[int]]]] = {}
    for practitioner_id, by_weekday in hours.items():
        by_day = result[practitioner_id] = {}
        merged = busy[practitioner_id]
        busy_seconds = BusySeconds.of(merged)
        for day, midnight in midnights.items():
            today_hours = by_weekday.get(day.weekday())
            if not today_hours:
                continue
            if midnight is not None and _fast_path_fits(duration, today_hours):
                by_day[day] = _free_runs(
                    midnight,
                    length=length,
                    step=step,
                    hours=today_hours,
                    busy=busy_seconds,
                    first_allowed=first_allowed,
                )
            else:
                by_day[day] = [
                    [
                        _seconds(start)
                        for start in free_starts_by_wall_clock(
                            day,
                            duration=duration,
                            hours=today_hours,
                            busy=merged,
                            rules=rules,
                            earliest=earliest,
                        )
                    ]
                ]
    return days, result


def free_starts_by_practitioner(
    practitioners: Sequence[Practitioner],
    session_type: SessionType,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    settings: ClinicSettings | None = None,
    ignore_appointment_id: int | None = None,
    ignore_minimum_notice: bool = False,
) -> dict[int, dict[date, list[datetime]]]:
    """Free start instants for each practitioner (by id) and local day, first to last day.

    Patients see times from now plus the minimum notice up to the booking horizon;
    staff (`ignore_minimum_notice`) see every future time. Two queries, however many
    practitioners: their hours, and their busy time.
    """
    days, by_practitioner = _free_seconds_by_practitioner(
        practitioners,
        session_type,
        first_day,
        last_day,
        now=now,
        settings=settings,
        ignore_appointment_id=ignore_appointment_id,
        ignore_minimum_notice=ignore_minimum_notice,
    )
    result: dict[int, dict[date, list[datetime]]] = {}
    for practitioner in practitioners:
        free = by_practitioner.get(practitioner.id, {})
        result[practitioner.id] = {
            day: [_instant(start) for start in _sorted_starts(free.get(day, ()))] for day in days
        }
    return result


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
    return free_starts_by_practitioner(
        [practitioner],
        session_type,
        first_day,
        last_day,
        now=now,
        settings=settings,
        ignore_appointment_id=ignore_appointment_id,
        ignore_minimum_notice=ignore_minimum_notice,
    )[practitioner.id]


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
    days, by_practitioner = _free_seconds_by_practitioner(
        practitioners, session_type, first_day, last_day, now=now, settings=settings
    )
    result: dict[date, list[tuple[datetime, Practitioner]]] = {}
    for day in days:
        chosen: dict[int, Practitioner] = {}
        for practitioner in practitioners:
            for run in by_practitioner.get(practitioner.id, {}).get(day, ()):
                for start in run:
                    chosen.setdefault(start, practitioner)
        result[day] = [(_instant(start), chosen[start]) for start in sorted(chosen)]
    return result


def anyone_free_starts(
    practitioners: Sequence[Practitioner],
    session_type: SessionType,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    settings: ClinicSettings | None = None,
) -> dict[date, list[datetime]]:
    """For "any practitioner": the starts at which at least one of them is free, by day.

    The same starts as `first_available`, without working out who: what the booking
    page shows, at the cost of merging their runs of the grid once per day.
    """
    days, by_practitioner = _free_seconds_by_practitioner(
        practitioners, session_type, first_day, last_day, now=now, settings=settings
    )
    result: dict[date, list[datetime]] = {}
    for day in days:
        runs = [run for by_day in by_practitioner.values() for run in by_day.get(day, ())]
        result[day] = [_instant(start) for start in _sorted_starts(runs)]
    return result
