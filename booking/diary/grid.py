"""The diary grid: rows of local wall-clock times, one column per practitioner or per day.

Rows are built from the clinic's wall-clock times, not by adding minutes to a UTC instant,
so 09:00 is the 09:00 row on the days the clocks change too. A wall time that does not
exist on a day (the hour skipped in March) has no row on that day.
"""

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from booking.clinic.busy_time import BUSY_LABEL, busy_times_by_practitioner
from booking.clinic.localtime import local_day_bounds, local_to_utc, to_local, wall_time_exists
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    TimeOff,
)

MINUTES_IN_DAY = 24 * 60
STATUS_LABELS = {
    AppointmentStatus.BOOKED.value: "Booked",
    AppointmentStatus.HELD.value: "Held",
    AppointmentStatus.ARRIVED.value: "Arrived",
    AppointmentStatus.ATTENDED.value: "Attended",
    AppointmentStatus.NO_SHOW.value: "No-show",
    AppointmentStatus.CANCELLED.value: "Cancelled",
}


@dataclass
class Cell:
    kind: str  # appointment, covered, blocked, busy, free, closed, missing
    starts_at: datetime | None = None
    appointments: list[Appointment] = field(default_factory=list)
    rowspan: int = 1
    reason: str = ""


@dataclass
class Column:
    practitioner: Practitioner
    day: date
    cells: list[Cell]


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _local_minutes(instant: datetime, day: date, zone: ZoneInfo) -> int:
    local = to_local(instant, zone)
    if local.date() < day:
        return 0
    if local.date() > day:
        return MINUTES_IN_DAY
    return local.hour * 60 + local.minute


def _overlapping_days(
    model: type[Appointment] | type[TimeOff],
    practitioners: list[Practitioner],
    first_day: date,
    last_day: date,
    zone: ZoneInfo,
    *conditions,
) -> list:
    """Rows of `model` for these practitioners that overlap the local days, earliest first."""
    start, _ = local_day_bounds(first_day, zone)
    _, end = local_day_bounds(last_day, zone)
    return list(
        db.session.scalars(
            select(model)
            .where(
                model.practitioner_id.in_([p.id for p in practitioners]),
                *conditions,
                model.starts_at < end,
                model.ends_at > start,
            )
            .order_by(model.starts_at)
        )
    )


def live_appointments(
    practitioners: list[Practitioner], first_day: date, last_day: date, zone: ZoneInfo
) -> list[Appointment]:
    return _overlapping_days(
        Appointment,
        practitioners,
        first_day,
        last_day,
        zone,
        Appointment.is_live,
    )


def cancelled_appointments(
    practitioners: list[Practitioner], day: date, zone: ZoneInfo
) -> list[Appointment]:
    start, end = local_day_bounds(day, zone)
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.practitioner_id.in_([p.id for p in practitioners]),
                Appointment.status == AppointmentStatus.CANCELLED.value,
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
            .order_by(Appointment.starts_at)
        )
    )


@dataclass(frozen=True)
class OwnCalendarBlock:
    """Busy time from the practitioner's own calendar, shown without any title."""

    practitioner_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str = BUSY_LABEL
    own_calendar: bool = True


def time_off_blocks(
    practitioners: list[Practitioner], first_day: date, last_day: date, zone: ZoneInfo
) -> list[TimeOff | OwnCalendarBlock]:
    """Blocked time and busy time from the practitioners' own calendars, in one list."""
    blocks: list[TimeOff | OwnCalendarBlock] = list(
        _overlapping_days(TimeOff, practitioners, first_day, last_day, zone)
    )
    start, _ = local_day_bounds(first_day, zone)
    _, end = local_day_bounds(last_day, zone)
    busy = busy_times_by_practitioner([p.id for p in practitioners], start, end)
    for practitioner_id, spans in busy.items():
        blocks.extend(OwnCalendarBlock(practitioner_id, begins, ends) for begins, ends in spans)
    return blocks


def course_positions(appointments: list[Appointment]) -> dict[int, tuple[int, int]]:
    """For course sessions: appointment id -> (its place among the course's live ones, total)."""
    course_ids = {a.course_id for a in appointments if a.course_id is not None}
    if not course_ids:
        return {}
    rows = db.session.execute(
        select(Appointment.id, Appointment.course_id)
        .where(
            Appointment.course_id.in_(course_ids),
            Appointment.is_live,
        )
        .order_by(Appointment.course_id, Appointment.starts_at, Appointment.id)
    )
    places: dict[int, tuple[int, int]] = {}
    counters: dict[int, int] = defaultdict(int)
    totals = {a.course_id: a.course.sessions_total for a in appointments if a.course is not None}
    for appointment_id, course_id in rows:
        assert course_id is not None  # the query asked for these courses' appointments
        counters[course_id] += 1
        places[appointment_id] = (counters[course_id], totals.get(course_id, counters[course_id]))
    return places


def first_visits(appointments: list[Appointment]) -> set[int]:
    """The appointments that are their patient's first live visit: "new patient" on the grid."""
    patient_ids = {a.patient_id for a in appointments}
    if not patient_ids:
        return set()
    first = (
        select(Appointment.patient_id, func.min(Appointment.starts_at).label("first_start"))
        .where(Appointment.patient_id.in_(patient_ids), Appointment.is_live)
        .group_by(Appointment.patient_id)
    )
    earliest = {row.patient_id: row.first_start for row in db.session.execute(first)}
    return {a.id for a in appointments if a.is_live and earliest.get(a.patient_id) == a.starts_at}


def opening_minutes(
    practitioners: list[Practitioner],
    days: list[date],
    appointments: list[Appointment],
    zone: ZoneInfo,
) -> tuple[int, int] | None:
    """The earliest start and latest end (minutes of the local day) to show, or None."""
    starts, ends = [], []
    weekdays = {day.weekday() for day in days}
    for practitioner in practitioners:
        for hours in practitioner.working_hours:
            if hours.weekday in weekdays:
                starts.append(_minutes(hours.starts_at))
                ends.append(_minutes(hours.ends_at))
    # An appointment outside today's hours (the hours changed after it was booked) still shows.
    for appointment in appointments:
        day = to_local(appointment.starts_at, zone).date()
        if day in days:
            starts.append(_local_minutes(appointment.starts_at, day, zone))
            ends.append(_local_minutes(appointment.ends_at, day, zone))
    if not starts:
        return None
    return min(starts), max(ends)


def row_times(span: tuple[int, int] | None, step: int) -> list[time]:
    if span is None:
        return []
    first, last = span
    return [time(m // 60, m % 60) for m in range(first, last, step)]


def build_column(
    practitioner: Practitioner,
    day: date,
    rows: list[time],
    *,
    step: int,
    zone: ZoneInfo,
    appointments: list[Appointment],
    blocks: list,
) -> list[Cell]:
    """One column's cells: appointments span the rows they fill; the rest are free or not."""
    row_minutes = [_minutes(at) for at in rows]
    # Only this practitioner's time off: a colleague's holiday leaves this column bookable.
    # (Closing the clinic blocks every practitioner, one row each, so it still shows here.)
    blocks = [block for block in blocks if block.practitioner_id == practitioner.id]
    # Each row's instant (its first pass, the day the clocks go back); None where skipped.
    row_instants: list[datetime | None] = []
    cells: list[Cell] = []
    for at in rows:
        if not wall_time_exists(day, at, zone):
            row_instants.append(None)
            cells.append(Cell("missing"))
            continue
        starts_at = local_to_utc(day, at, zone)
        row_instants.append(starts_at)
        ends_at = starts_at + timedelta(minutes=step)
        block = next((b for b in blocks if b.starts_at < ends_at and b.ends_at > starts_at), None)
        if block is not None:
            kind = "busy" if getattr(block, "own_calendar", False) else "blocked"
            cells.append(Cell(kind, starts_at=starts_at, reason=block.reason))
        elif _working(practitioner, day, _minutes(at)):
            cells.append(Cell("free", starts_at=starts_at))
        else:
            cells.append(Cell("closed", starts_at=starts_at))

    mine = [
        a
        for a in appointments
        if a.practitioner_id == practitioner.id and to_local(a.starts_at, zone).date() == day
    ]
    for appointment in mine:
        first = max(
            bisect_right(row_minutes, _local_minutes(appointment.starts_at, day, zone)) - 1, 0
        )
        # By wall clock an appointment from 00:30 BST to 01:00 GMT the night the clocks go
        # back ends at 01:00, but it also fills the rows of the first 01:00-02:00: it ends
        # at whichever comes later, its end on the clock or the first row after its end.
        end = max(
            bisect_left(row_minutes, _local_minutes(appointment.ends_at, day, zone)),
            next(
                (
                    index
                    for index, instant in enumerate(row_instants)
                    if instant is not None and instant >= appointment.ends_at
                ),
                len(rows),
            ),
        )
        cell = cells[first]
        if cell.kind == "covered":
            # Starts inside another appointment's rows (the slot step changed): join that cell.
            owner = next(c for c in reversed(cells[:first]) if c.kind == "appointment")
            owner.appointments.append(appointment)
            continue
        if cell.kind != "appointment":
            cells[first] = cell = Cell("appointment", starts_at=cell.starts_at)
        cell.appointments.append(appointment)
        span = max(end - first, 1)
        for index in range(first + cell.rowspan, min(first + span, len(cells))):
            if cells[index].kind == "appointment":
                # A later appointment already owns this row: merge it in.
                cell.appointments.extend(cells[index].appointments)
            cells[index] = Cell("covered")
        cell.rowspan = max(cell.rowspan, min(span, len(cells) - first))
    return cells


def _working(practitioner: Practitioner, day: date, minute: int) -> bool:
    return any(
        hours.weekday == day.weekday()
        and _minutes(hours.starts_at) <= minute < _minutes(hours.ends_at)
        for hours in practitioner.working_hours
    )
