"""The owner's figures for a run of the clinic's local days: computed by the database.

Every figure over appointments comes from one grouped query: each appointment in the
range is put in its local week by comparing its start with the weeks' UTC boundaries
(worked out here, so a week holding a clock change is still Monday 00:00 to Monday 00:00
on the clinic's wall clock), and counted by week, practitioner, status, source and
whether it was cancelled late. The database returns a few hundred rows at most, never
the appointments themselves; working time comes from booking.clinic.working_time.

Definitions (the dashboard's text says the same):
- appointments: those starting in the range; "held" ones are not cancelled.
- utilisation: minutes of held appointments against working minutes less time off.
- no-show rate: no-shows among appointments marked attended or no-show.
- late cancellation: cancelled less than the clinic's notice period before the start,
  at the patient's request: online, or by staff for a patient who phoned (the cancel
  form asks who asked, `appointments.cancel_requested_by`). The clinic's own late
  cancellations (a practitioner off sick), and staff cancellations from before the form
  asked, are counted apart, not as the patients'. The rate is over every appointment in
  the range.
- new patient: one whose first held appointment at the clinic is in the range.
- course sales: courses paid for in the range; credits still owed: unused credits on
  active courses not yet expired, valued at the course's price per credit, today.
- outcome change: over courses whose last-session scores were given at a session in the
  range, the mean pain (0-10) at the first and last sessions and the mean change of the
  activities scored both times; the patients' own reports, not proof of what caused it.
- takings: payments recorded in the range less refunds, by payment method (the ledger,
  booking.clinic.payments); fees charged for missed appointments are shown apart, as
  they are owed, not taken.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from booking.clinic import DomainError, held_appointments
from booking.clinic.localtime import OUT_OF_REACH, local_day_bounds, within_reach
from booking.clinic.payments.ledger import method_label
from booking.clinic.working_time import working_minutes
from booking.extensions import db
from booking.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    CancelledBy,
    ClinicSettings,
    Course,
    CourseStatus,
    LedgerEntry,
    LedgerEntryKind,
    OutcomeCheckpoint,
    OutcomeRecord,
    PaymentMethod,
    Practitioner,
)

# A year and a little: a range longer than this is refused (the weeks are one CASE each).
LONGEST_RANGE_DAYS = 400

SOURCE_LABELS = {
    AppointmentSource.ONLINE.value: "Online",
    AppointmentSource.STAFF.value: "By staff (phone or desk)",
    AppointmentSource.COURSE_PLAN.value: "Course plan (by staff)",
}


class minutes_between(FunctionElement[float]):  # noqa: N801 - an SQL function's name
    """Minutes from one timestamp column to another, in the database."""

    type = Float()
    inherit_cache = True


@compiles(minutes_between, "sqlite")
def _minutes_sqlite(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"((julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)})) * 1440.0)"
    )


@compiles(minutes_between, "postgresql")
def _minutes_postgresql(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"(extract(epoch from ({compiler.process(end, **kw)} - "
        f"{compiler.process(start, **kw)})) / 60.0)"
    )


@dataclass(frozen=True)
class DayRange:
    """A run of the clinic's local days, both ends included, and its UTC bounds."""

    first_day: date
    last_day: date
    starts_at: datetime
    ends_at: datetime

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def day_range(first_day: date, last_day: date, zone: ZoneInfo) -> DayRange:
    """The range, or a DomainError fit for the person who chose it."""
    if not (within_reach(first_day) and within_reach(last_day)):
        raise DomainError(OUT_OF_REACH)
    if last_day < first_day:
        raise DomainError("The last day must not be before the first.")
    if (last_day - first_day).days >= LONGEST_RANGE_DAYS:
        raise DomainError(f"Choose a range of at most {LONGEST_RANGE_DAYS} days.")
    return DayRange(
        first_day,
        last_day,
        local_day_bounds(first_day, zone)[0],
        local_day_bounds(last_day, zone)[1],
    )


@dataclass(frozen=True)
class Week:
    starts_on: date  # the Monday (the week may begin before the range does)
    held: int
    cancelled: int


@dataclass(frozen=True)
class Utilisation:
    practitioner_id: int
    name: str
    booked_minutes: int
    working_minutes: int

    @property
    def percent(self) -> float | None:
        if self.working_minutes <= 0:
            return None
        return 100.0 * self.booked_minutes / self.working_minutes


@dataclass(frozen=True)
class Attendance:
    appointments: int  # every appointment starting in the range, cancelled too
    attended: int
    no_shows: int
    not_yet_marked: int  # held, started before now, neither attended nor no-show
    cancelled: int
    late_cancellations: int  # late, at the patient's request
    # Late too, but the clinic asked (or, for older ones, nobody recorded who did).
    late_not_by_patient: int = 0

    @property
    def no_show_rate(self) -> float | None:
        marked = self.attended + self.no_shows
        return 100.0 * self.no_shows / marked if marked else None

    @property
    def late_cancellation_rate(self) -> float | None:
        return 100.0 * self.late_cancellations / self.appointments if self.appointments else None


@dataclass(frozen=True)
class PatientMix:
    new: int
    returning: int


@dataclass(frozen=True)
class CourseFigures:
    sold: int
    sold_pence: int
    courses_with_credit: int
    credits_owed: int
    owed_pence: int


@dataclass(frozen=True)
class Takings:
    method: str
    label: str
    payments_pence: int
    refunds_pence: int  # negative, as the ledger stores refunds

    @property
    def net_pence(self) -> int:
        return self.payments_pence + self.refunds_pence


@dataclass(frozen=True)
class Money:
    takings: list[Takings]
    fees_charged_pence: int  # fees for missed appointments, not waived

    @property
    def net_pence(self) -> int:
        return sum(row.net_pence for row in self.takings)


@dataclass(frozen=True)
class OutcomeChange:
    """Scores patients gave at the first and last sessions of the courses that finished."""

    courses: int
    pain_first: float | None  # mean, 0-10
    pain_last: float | None
    pain_improved: int  # courses whose pain fell by MEANINGFUL_CHANGE points or more
    activity_change: float | None  # mean change of the activities scored both times

    @property
    def pain_change(self) -> float | None:
        if self.pain_first is None or self.pain_last is None:
            return None
        return self.pain_last - self.pain_first


# Two points on a 0-10 pain scale: the change usually taken as one a patient notices.
MEANINGFUL_CHANGE = 2


@dataclass
class Dashboard:
    range: DayRange
    practitioner_id: int | None
    weeks: list[Week]
    utilisation: list[Utilisation]
    attendance: Attendance
    patients: PatientMix
    sources: dict[str, int]
    courses: CourseFigures | None
    money: Money | None
    outcomes: OutcomeChange
    # Filled in by the money and outcome sections when those parts of the clinic exist.
    extra: dict[str, Any] = field(default_factory=dict)


def week_starts(day_span: DayRange) -> list[date]:
    """The Mondays of the weeks the range touches."""
    monday = day_span.first_day - timedelta(days=day_span.first_day.weekday())
    mondays = []
    while monday <= day_span.last_day:
        mondays.append(monday)
        monday += timedelta(days=7)
    return mondays


def _week_index(mondays: list[date], zone: ZoneInfo) -> ColumnElement[int]:
    """Each appointment's week by its start against the weeks' UTC starts.

    A CASE nested as a binary search: six comparisons a row for a year of weeks rather
    than up to fifty-three, each boundary the instant of a local Monday's midnight.
    """
    bounds = [local_day_bounds(monday, zone)[0] for monday in mondays]

    def between(low: int, high: int) -> ColumnElement[int]:
        # The weeks low..high-1: a row here starts at or after bounds[low].
        if high - low == 1:
            return literal(low)
        middle = (low + high) // 2
        return case(
            (Appointment.starts_at < bounds[middle], between(low, middle)),
            else_=between(middle, high),
        )

    return between(0, len(bounds))


def _in_range(day_span: DayRange, practitioner_id: int | None) -> list[ColumnElement[bool]]:
    conditions = [
        Appointment.starts_at >= day_span.starts_at,
        Appointment.starts_at < day_span.ends_at,
    ]
    if practitioner_id is not None:
        conditions.append(Appointment.practitioner_id == practitioner_id)
    return conditions


LATE_BY_PATIENT, LATE_NOT_BY_PATIENT = 1, 2


def _late_cancellation(notice_hours: int) -> ColumnElement[int]:
    """0: not a late cancellation; LATE_BY_PATIENT: one the patient asked for (online, or
    by phoning the desk); LATE_NOT_BY_PATIENT: the clinic asked, or nobody recorded who."""
    late = and_(
        Appointment.status == AppointmentStatus.CANCELLED.value,
        Appointment.cancelled_at.is_not(None),
        minutes_between(Appointment.cancelled_at, Appointment.starts_at) < notice_hours * 60,
    )
    by_patient = Appointment.cancel_requested_by == CancelledBy.PATIENT.value
    return case((and_(late, by_patient), LATE_BY_PATIENT), (late, LATE_NOT_BY_PATIENT), else_=0)


def appointment_groups(
    day_span: DayRange,
    mondays: list[date],
    *,
    settings: ClinicSettings,
    now: datetime,
    practitioner_id: int | None,
) -> list[Any]:
    """One row per week, practitioner, status, source, lateness and past-or-future."""
    # Computed per row in a subquery and grouped outside it: PostgreSQL would not see a
    # CASE in GROUP BY as the same CASE in the select list, its parameters numbered apart.
    rows = (
        select(
            _week_index(mondays, settings.zone).label("week"),
            Appointment.practitioner_id,
            Appointment.status,
            Appointment.source,
            _late_cancellation(settings.cancellation_notice_hours).label("late"),
            case((Appointment.starts_at < now, 1), else_=0).label("past"),
            minutes_between(Appointment.starts_at, Appointment.ends_at).label("minutes"),
        )
        .where(*_in_range(day_span, practitioner_id), *held_appointments.not_a_booking_yet())
        .subquery()
    )
    keys = [rows.c.week, rows.c.practitioner_id, rows.c.status, rows.c.source]
    keys += [rows.c.late, rows.c.past]
    statement = select(
        *keys, func.count().label("count"), func.sum(rows.c.minutes).label("minutes")
    ).group_by(*keys)
    return list(db.session.execute(statement))


def patient_mix(day_span: DayRange, practitioner_id: int | None) -> PatientMix:
    """Patients seen in the range, split by whether they had a held appointment before it."""
    earlier = aliased(Appointment)
    seen = (
        select(Appointment.patient_id.label("patient_id"))
        .where(
            Appointment.is_live,
            Appointment.status != AppointmentStatus.HELD.value,
            *_in_range(day_span, practitioner_id),
        )
        .distinct()
        .subquery()
    )
    came_before = (
        select(earlier.id)
        .where(
            earlier.patient_id == seen.c.patient_id,
            earlier.status.in_([status.value for status in LIVE_STATUSES]),
            earlier.starts_at < day_span.starts_at,
        )
        .exists()
    )
    returning = func.sum(case((came_before, 1), else_=0))
    row = db.session.execute(select(func.count(), returning).select_from(seen)).one()
    total, returning_count = int(row[0] or 0), int(row[1] or 0)
    return PatientMix(new=total - returning_count, returning=returning_count)


def course_figures(day_span: DayRange, *, now: datetime) -> CourseFigures:
    """Courses paid for in the range, and the credits still owed today with their value."""
    sold = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Course.price_pence), 0)).where(
            Course.paid_at >= day_span.starts_at, Course.paid_at < day_span.ends_at
        )
    ).one()
    # Rounded to the nearest penny per course (half up), in whole-number arithmetic on both
    # backends: `//` is integer division, where `/` would be true division (SQLAlchemy 2)
    # and leave half a penny on every course.
    value = (Course.price_pence * Course.credits_remaining * 2 + Course.sessions_total) // (
        Course.sessions_total * 2
    )
    owed = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Course.credits_remaining), 0),
            func.coalesce(func.sum(value), 0),
        ).where(
            Course.status == CourseStatus.ACTIVE.value,
            Course.credits_remaining > 0,
            or_(Course.expires_at.is_(None), Course.expires_at > now),
        )
    ).one()
    return CourseFigures(
        sold=int(sold[0]),
        sold_pence=int(sold[1]),
        courses_with_credit=int(owed[0]),
        credits_owed=int(owed[1]),
        owed_pence=int(owed[2]),
    )


def money_figures(day_span: DayRange) -> Money:
    """Payments and refunds recorded in the range by method, and the fees charged."""
    in_range = [
        LedgerEntry.recorded_at >= day_span.starts_at,
        LedgerEntry.recorded_at < day_span.ends_at,
    ]
    sums = {
        (method, kind): int(total or 0)
        for method, kind, total in db.session.execute(
            select(LedgerEntry.method, LedgerEntry.kind, func.sum(LedgerEntry.amount_pence))
            .where(
                *in_range,
                LedgerEntry.kind.in_([LedgerEntryKind.PAYMENT.value, LedgerEntryKind.REFUND.value]),
            )
            .group_by(LedgerEntry.method, LedgerEntry.kind)
        )
    }
    fees = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(
            *in_range,
            LedgerEntry.kind == LedgerEntryKind.FEE.value,
            LedgerEntry.waived_at.is_(None),
        )
    )
    takings = [
        Takings(
            method.value,
            method_label(method.value),
            sums.get((method.value, LedgerEntryKind.PAYMENT.value), 0),
            sums.get((method.value, LedgerEntryKind.REFUND.value), 0),
        )
        for method in PaymentMethod
    ]
    return Money(takings=takings, fees_charged_pence=int(fees or 0))


def outcome_change(day_span: DayRange, practitioner_id: int | None) -> OutcomeChange:
    """Courses whose last-session scores were given at a session in the range.

    The scores are sealed (clinical content), so the database finds the pairs and Python
    opens them: two records a finished course, never a row per appointment.
    """
    first, last = aliased(OutcomeRecord), aliased(OutcomeRecord)
    statement = (
        select(first.answers, last.answers)
        .join(last, last.course_id == first.course_id)
        .join(Appointment, Appointment.id == last.appointment_id)
        .where(
            first.checkpoint == OutcomeCheckpoint.FIRST.value,
            last.checkpoint == OutcomeCheckpoint.LAST.value,
            *_in_range(day_span, practitioner_id),
        )
    )
    pains: list[tuple[int, int]] = []
    activity_changes: list[int] = []
    for first_answers, last_answers in db.session.execute(statement):
        try:
            before, after = json.loads(first_answers), json.loads(last_answers)
            pains.append((int(before["pain"]), int(after["pain"])))
            later = {item["name"]: int(item["score"]) for item in after.get("activities", [])}
            activity_changes += [
                later[item["name"]] - int(item["score"])
                for item in before.get("activities", [])
                if item["name"] in later
            ]
        except (ValueError, KeyError, TypeError):
            continue  # a record that cannot be read is left out, not guessed
    count = len(pains)
    return OutcomeChange(
        courses=count,
        pain_first=sum(p for p, _ in pains) / count if count else None,
        pain_last=sum(p for _, p in pains) / count if count else None,
        pain_improved=sum(1 for p, q in pains if p - q >= MEANINGFUL_CHANGE),
        activity_change=(
            sum(activity_changes) / len(activity_changes) if activity_changes else None
        ),
    )


def _utilisation(
    day_span: DayRange,
    groups: list[Any],
    zone: ZoneInfo,
    practitioner_id: int | None,
) -> list[Utilisation]:
    booked: dict[int, float] = {}
    for row in groups:
        if row.status != AppointmentStatus.CANCELLED.value:
            booked[row.practitioner_id] = booked.get(row.practitioner_id, 0.0) + float(
                row.minutes or 0
            )
    query = select(Practitioner.id, Practitioner.name).order_by(
        Practitioner.position, Practitioner.id
    )
    if practitioner_id is not None:
        query = query.where(Practitioner.id == practitioner_id)
    else:
        query = query.where(or_(Practitioner.active, Practitioner.id.in_(list(booked))))
    people = list(db.session.execute(query))
    working = working_minutes(
        [pid for pid, _ in people], day_span.first_day, day_span.last_day, zone
    )
    return [
        Utilisation(pid, name, round(booked.get(pid, 0.0)), working.get(pid, 0))
        for pid, name in people
    ]


def _attendance(groups: list[Any]) -> Attendance:
    counts = {"all": 0, "attended": 0, "no_show": 0, "unmarked": 0, "cancelled": 0}
    counts |= {"late": 0, "late_other": 0}
    for row in groups:
        counts["all"] += row.count
        # Arrived: in the waiting room, so not a no-show whatever follows.
        if row.status in (AppointmentStatus.ATTENDED.value, AppointmentStatus.ARRIVED.value):
            counts["attended"] += row.count
        elif row.status == AppointmentStatus.NO_SHOW.value:
            counts["no_show"] += row.count
        elif row.status == AppointmentStatus.CANCELLED.value:
            counts["cancelled"] += row.count
            counts["late"] += row.count if row.late == LATE_BY_PATIENT else 0
            counts["late_other"] += row.count if row.late == LATE_NOT_BY_PATIENT else 0
        elif row.past:
            counts["unmarked"] += row.count
    return Attendance(
        appointments=counts["all"],
        attended=counts["attended"],
        no_shows=counts["no_show"],
        not_yet_marked=counts["unmarked"],
        cancelled=counts["cancelled"],
        late_cancellations=counts["late"],
        late_not_by_patient=counts["late_other"],
    )


def dashboard(
    first_day: date,
    last_day: date,
    *,
    settings: ClinicSettings,
    now: datetime,
    practitioner_id: int | None = None,
) -> Dashboard:
    """Every figure for the range; with `practitioner_id`, only that practitioner's own
    (their appointments, utilisation and patients: no clinic money or courses)."""
    zone = settings.zone
    day_span = day_range(first_day, last_day, zone)
    mondays = week_starts(day_span)
    groups = appointment_groups(
        day_span, mondays, settings=settings, now=now, practitioner_id=practitioner_id
    )
    held = [0] * len(mondays)
    cancelled = [0] * len(mondays)
    sources = {source: 0 for source in SOURCE_LABELS}
    for row in groups:
        if row.status == AppointmentStatus.CANCELLED.value:
            cancelled[row.week] += row.count
        else:
            held[row.week] += row.count
        sources[row.source] = sources.get(row.source, 0) + row.count
    return Dashboard(
        range=day_span,
        practitioner_id=practitioner_id,
        weeks=[Week(monday, held[i], cancelled[i]) for i, monday in enumerate(mondays)],
        utilisation=_utilisation(day_span, groups, zone, practitioner_id),
        attendance=_attendance(groups),
        patients=patient_mix(day_span, practitioner_id),
        sources=sources,
        courses=course_figures(day_span, now=now) if practitioner_id is None else None,
        money=money_figures(day_span) if practitioner_id is None else None,
        outcomes=outcome_change(day_span, practitioner_id),
    )
