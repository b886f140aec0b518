"""Courses: buying a course of sessions, spending its credits, planning its sessions.

A course holds credits, one per session. A credit is spent when a session is
booked (not when it is attended), so a patient can never book more sessions than
they paid for. Cancelling with notice gives the credit back; a late cancellation
or a no-show uses it when the clinic's settings say so.

Credits never go negative, even when two bookings race for the last one: the
credit is taken with a conditional UPDATE inside the booking transaction, and the
database's CHECK constraint is the backstop. Every change to a course's credits
adds a CreditEntry row, so the ledger always adds up to the credits remaining.

Planning turns "every Tuesday at 10:00 from 1 December" into one proposed time
per remaining credit. The times are wall-clock times in the clinic's zone, so
Tuesday 10:00 stays 10:00 when the clocks change.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from booking.clinic import DomainError, appointments, audit, availability, notifications
from booking.clinic.clinic_admin import HIGHEST_PRICE_PENCE
from booking.clinic.localtime import local_to_utc, local_today, to_local
from booking.clinic.patients import lock_bookable
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import rows_changed, utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseProduct,
    CourseStatus,
    CreditEntry,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
)

NO_CREDITS_MESSAGE = "There are no sessions left on this course."
COURSE_GONE_MESSAGE = "This course no longer exists."
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALTERNATIVES_SHOWN = 3


class PlanSlotTaken(DomainError):
    """One time of a plan was taken before the plan was booked; nothing was booked."""

    def __init__(self, message: str, starts_at: datetime):
        super().__init__(message)
        self.starts_at = starts_at


# Products ---------------------------------------------------------------------------------


def products(*, include_inactive: bool = False) -> list[CourseProduct]:
    """The courses the clinic sells (only those on sale unless asked)."""
    query = select(CourseProduct).order_by(CourseProduct.id)
    if not include_inactive:
        query = query.where(CourseProduct.active.is_(True))
    return list(db.session.scalars(query))


def save_product(
    product: CourseProduct | None,
    *,
    name: str,
    session_type: SessionType,
    sessions_count: int,
    price_pence: int,
    validity_days: int,
    active: bool,
    staff_user: StaffUser,
) -> CourseProduct:
    """Add a course product, or change one. Courses already sold keep their own terms."""
    if sessions_count < 1 or sessions_count > 100:
        raise DomainError("A course has between 1 and 100 sessions.")
    if price_pence < 0:
        raise DomainError("The price cannot be negative.")
    if price_pence > HIGHEST_PRICE_PENCE:
        raise DomainError("That price is more than £10,000; please check it.")
    if validity_days < 1 or validity_days > 3660:
        raise DomainError("A course is valid for between 1 day and 10 years.")
    with unit_of_work():
        return _save_product(
            product,
            name=name,
            session_type=session_type,
            sessions_count=sessions_count,
            price_pence=price_pence,
            validity_days=validity_days,
            active=active,
            staff_user=staff_user,
        )


def _save_product(
    product: CourseProduct | None,
    *,
    name: str,
    session_type: SessionType,
    sessions_count: int,
    price_pence: int,
    validity_days: int,
    active: bool,
    staff_user: StaffUser,
) -> CourseProduct:
    created = product is None
    if product is None:
        product = CourseProduct()
        db.session.add(product)
    else:
        product = lock_or_refuse(CourseProduct, product.id, "This course product no longer exists.")
    product.name = " ".join(name.split())[:120]
    product.session_type = session_type
    product.sessions_count = sessions_count
    product.price_pence = price_pence
    product.validity_days = validity_days
    product.active = active
    db.session.flush()
    audit.record(
        staff_user,
        "course_product.created" if created else "course_product.changed",
        product,
        name=product.name,
        session_type=session_type.name,
        sessions=sessions_count,
        price_pence=price_pence,
        validity_days=validity_days,
        active=active,
    )
    return product


# Buying a course --------------------------------------------------------------------------


def _new_course(
    product: CourseProduct,
    patient: "Patient | appointments.PatientDetails",
    *,
    source: str,
    now: datetime,
) -> Course:
    """A course awaiting payment, for a known patient or one found or created from details."""
    if not product.active:
        raise DomainError("That course is no longer on sale. Please call the clinic.")
    if isinstance(patient, appointments.PatientDetails):
        patient = appointments.find_or_create_patient(patient, consent_at=None)
    else:
        patient = lock_bookable(patient)
    course = Course(
        patient=patient,
        product=product,
        session_type_id=product.session_type_id,
        status=CourseStatus.AWAITING_PAYMENT.value,
        sessions_total=product.sessions_count,
        # Credits arrive with the payment, as a ledger entry like every other change.
        credits_remaining=0,
        price_pence=product.price_pence,
        source=source,
        requested_at=now,
    )
    db.session.add(course)
    db.session.flush()
    return course


def request_course(
    product: CourseProduct,
    patient: "Patient | appointments.PatientDetails",
    *,
    now: datetime | None = None,
) -> Course:
    """A patient asks for a course online; it waits for payment at the clinic."""
    now = now or utcnow()
    with unit_of_work():
        course = _new_course(product, patient, source="online", now=now)
        notifications.course_requested(course)
    return course


def sell_course(
    product: CourseProduct,
    patient: "Patient | appointments.PatientDetails",
    *,
    staff_user: StaffUser,
    payment_reference: str,
    now: datetime | None = None,
) -> Course:
    """Sell a course at the desk: created and paid for in one go, ready to book."""
    now = now or utcnow()
    with unit_of_work():
        course = _new_course(product, patient, source="staff", now=now)
        audit.record(staff_user, "course.sold", course, product=product.name)
        _activate(course, payment_reference, staff_user, now=now)
    return course


def expiry_for(paid_at: datetime, validity_days: int, zone: ZoneInfo) -> datetime:
    """A course can be used until 23:59 local time, `validity_days` after the day it was paid."""
    last_day = to_local(paid_at, zone).date() + timedelta(days=validity_days)
    return local_to_utc(last_day, time(23, 59), zone)


def _activate(
    course: Course, reference: str, staff_user: StaffUser | None, *, now: datetime
) -> None:
    settings = clinic_settings()
    course.status = CourseStatus.ACTIVE.value
    course.payment_reference = reference.strip()[:120] or None
    course.paid_at = now
    course.expires_at = expiry_for(now, course.product.validity_days, settings.zone)
    _change_credits(course, course.sessions_total, "Course paid", staff_user=staff_user)
    if staff_user is not None:
        audit.record(staff_user, "course.paid", course, reference=course.payment_reference or "")
    notifications.course_activated(course)


def activate_course(
    course: Course,
    reference: str,
    staff_user: StaffUser | None = None,
    *,
    now: datetime | None = None,
) -> Course:
    """Record the payment for a course and give it its credits.

    The one way a course becomes active: the receptionist's "mark paid" calls it,
    and so can an online payment provider's webhook later (`staff_user=None`).
    Calling it again for a course already paid changes nothing, so a webhook
    delivered twice is harmless.
    """
    now = now or utcnow()
    with unit_of_work():
        course = lock_or_refuse(Course, course.id, COURSE_GONE_MESSAGE)
        if course.status == CourseStatus.ACTIVE:
            return course
        if course.status != CourseStatus.AWAITING_PAYMENT:
            raise DomainError("This course was cancelled, so it cannot be marked paid.")
        _activate(course, reference, staff_user, now=now)
    return course


# Credits ----------------------------------------------------------------------------------


def _change_credits(
    course: Course,
    change: int,
    reason: str,
    *,
    appointment: Appointment | None = None,
    staff_user: StaffUser | None = None,
) -> bool:
    """Add `change` credits (negative to spend) if the result stays in 0..total.

    One conditional UPDATE: two transactions spending the last credit cannot both
    succeed, because the second re-reads the row after the first commits. Returns
    False, writing nothing, when the change does not fit.
    """
    result = db.session.execute(
        update(Course)
        .where(
            Course.id == course.id,
            Course.credits_remaining + change >= 0,
            Course.credits_remaining + change <= Course.sessions_total,
        )
        .values(credits_remaining=Course.credits_remaining + change)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result) != 1:
        return False
    db.session.expire(course, ["credits_remaining"])
    db.session.add(
        CreditEntry(
            course_id=course.id,
            change=change,
            reason=reason[:200],
            appointment_id=appointment.id if appointment is not None else None,
            staff_user_id=staff_user.id if staff_user is not None else None,
        )
    )
    return True


def long_date(day: date) -> str:
    """e.g. Tuesday 1 December 2026"""
    return f"{day:%A} {day.day} {day:%B %Y}"


def last_valid_day(course: Course, zone: ZoneInfo | None = None) -> date | None:
    """The last local day a session of the course may take place on (None before payment)."""
    if course.expires_at is None:
        return None
    return _expiry_day(course.expires_at, zone)


def _expiry_day(expires_at: datetime, zone: ZoneInfo | None = None) -> date:
    return to_local(expires_at, zone or clinic_settings().zone).date()


def booking_problem(course: Course, *, now: datetime) -> str | None:
    """Why the course cannot book a session now, in words for the patient; None if it can."""
    if course.status == CourseStatus.AWAITING_PAYMENT:
        return (
            "This course is waiting for payment. Please pay at the clinic or call us, "
            "and you can then book your sessions here."
        )
    if course.status == CourseStatus.CANCELLED:
        return "This course has been cancelled, so it cannot be used to book."
    if course.expires_at is not None and course.expires_at <= now:
        ended = _expiry_day(course.expires_at)
        return f"This course ended on {long_date(ended)}, so it cannot be used to book."
    if course.credits_remaining <= 0:
        return NO_CREDITS_MESSAGE
    return None


def check_course_session_time(course: Course, starts_at: datetime) -> None:
    """A course session must take place before the course ends."""
    if course.expires_at is not None and starts_at >= course.expires_at:
        ended = _expiry_day(course.expires_at)
        raise DomainError(
            f"That time is after your course ends on {long_date(ended)}. "
            "Please choose an earlier time."
        )


def check_course_session(
    course: Course, session_type: SessionType, starts_at: datetime, *, now: datetime
) -> None:
    """Raise DomainError, in the patient's words, if the course cannot pay for this session."""
    problem = booking_problem(course, now=now)
    if problem:
        raise DomainError(problem)
    if session_type.id != course.session_type_id:
        raise DomainError(f"This course is for {course.session_type.name} sessions only.")
    check_course_session_time(course, starts_at)


def spend_credit(
    course: Course, appointment: Appointment, *, staff_user: StaffUser | None = None
) -> None:
    """Take one credit for a session being booked, inside the booking transaction.

    Raises DomainError when the last credit has just gone; the caller rolls back.
    """
    if not _change_credits(
        course, -1, "Session booked", appointment=appointment, staff_user=staff_user
    ):
        raise DomainError(NO_CREDITS_MESSAGE)


def credits_held(appointment: Appointment) -> int:
    """How many credits the appointment holds now: 1 while its credit is spent, else 0."""
    if appointment.course_id is None or appointment.id is None:
        return 0
    spent = db.session.execute(
        select(func.coalesce(func.sum(CreditEntry.change), 0)).where(
            CreditEntry.appointment_id == appointment.id
        )
    ).scalar_one()
    return -int(spent)


def settle_credit(
    appointment: Appointment,
    *,
    uses_credit: bool,
    reason: str,
    staff_user: StaffUser | None = None,
) -> None:
    """Make a course session hold its credit (`uses_credit`) or give it back.

    Works from the ledger, not from the status before: marking a no-show, undoing
    it and marking it again never counts a credit twice.
    """
    course = appointment.course
    if course is None:
        return
    held = credits_held(appointment)
    if uses_credit and held == 0:
        if not _change_credits(course, -1, reason, appointment=appointment, staff_user=staff_user):
            raise DomainError(
                "The course has no credit left to cover this session. "
                "Add a credit to the course first."
            )
    elif not uses_credit and held > 0:
        if not _change_credits(
            course, held, reason, appointment=appointment, staff_user=staff_user
        ):
            raise DomainError("The course already has all its credits back.")


def adjust_credits(course: Course, change: int, reason: str, *, staff_user: StaffUser) -> Course:
    """Staff add or remove credits by hand, with a reason (ledger and audit log)."""
    reason = " ".join(reason.split())
    if not reason:
        raise DomainError("Give a reason for the change: it is kept in the course's history.")
    if change == 0:
        raise DomainError("Enter how many credits to add (or a negative number to remove).")
    with unit_of_work():
        course = lock_or_refuse(Course, course.id, COURSE_GONE_MESSAGE)
        if course.status != CourseStatus.ACTIVE:
            raise DomainError("Credits can only be changed on a paid course.")
        if not _change_credits(course, change, reason, staff_user=staff_user):
            raise DomainError(
                f"That would leave {course.credits_remaining + change} credits: a course holds "
                f"between 0 and {course.sessions_total}."
            )
        audit.record(staff_user, "course.credits_adjusted", course, change=change, reason=reason)
    return course


# Reading ----------------------------------------------------------------------------------


def course_by_uid(uid: str) -> Course | None:
    return db.session.scalar(select(Course).where(Course.uid == uid))


def courses_for_desk(status: str | None = None) -> list[Course]:
    """Courses for the diary's list, those waiting for payment first, newest first."""
    query = select(Course).order_by(
        (Course.status != CourseStatus.AWAITING_PAYMENT.value), Course.requested_at.desc()
    )
    if status:
        query = query.where(Course.status == status)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class CourseProgress:
    """What the patient's course page and the diary show about a course."""

    credits_remaining: int
    sessions_total: int
    upcoming: list[Appointment]
    awaiting_outcome: list[Appointment]
    attended: list[Appointment]
    missed: list[Appointment]
    cancelled: list[Appointment]
    last_valid_day: date | None
    problem: str | None

    @property
    def sessions_booked(self) -> int:
        return len(self.upcoming) + len(self.awaiting_outcome)


def progress(course: Course, *, now: datetime | None = None) -> CourseProgress:
    now = now or utcnow()
    by_status: dict[str, list[Appointment]] = {}
    for appointment in course.appointments:
        by_status.setdefault(appointment.status, []).append(appointment)
    booked = by_status.get(AppointmentStatus.BOOKED.value, [])
    return CourseProgress(
        credits_remaining=course.credits_remaining,
        sessions_total=course.sessions_total,
        upcoming=[a for a in booked if a.starts_at > now],
        awaiting_outcome=[a for a in booked if a.starts_at <= now],
        attended=by_status.get(AppointmentStatus.ATTENDED.value, []),
        missed=by_status.get(AppointmentStatus.NO_SHOW.value, []),
        cancelled=by_status.get(AppointmentStatus.CANCELLED.value, []),
        last_valid_day=last_valid_day(course),
        problem=booking_problem(course, now=now),
    )


# Planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedSession:
    """One session of a plan: the time the rule asked for and, if taken, what is near."""

    wanted: datetime
    free: bool
    # Nearest first; empty when the wanted time is free.
    alternatives: tuple[datetime, ...] = ()

    @property
    def proposed(self) -> datetime:
        return self.wanted if self.free else self.alternatives[0]

    @property
    def choices(self) -> tuple[datetime, ...]:
        return (self.wanted,) if self.free else self.alternatives


@dataclass(frozen=True)
class CoursePlan:
    course: Course
    practitioner: Practitioner
    weekdays: tuple[int, ...]
    at: time
    first_day: date
    sessions: list[PlannedSession]
    # Wanted times in weeks with nothing free: the plan ran one occurrence further instead.
    skipped: list[datetime] = field(default_factory=list)
    # Credits the plan could not place before the course ends or the booking horizon.
    unplaced: int = 0

    @property
    def clashes(self) -> list[PlannedSession]:
        return [session for session in self.sessions if not session.free]

    def describe_rule(self) -> str:
        days = " and ".join(WEEKDAY_NAMES[day] for day in self.weekdays)
        return f"every {days} at {self.at:%H:%M}"


def plannable_practitioners(course: Course) -> list[Practitioner]:
    return sorted(
        (
            p
            for p in course.session_type.practitioners
            if availability.offers(p, course.session_type)
        ),
        key=lambda p: p.position,
    )


def _week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _distance(start: datetime, wanted: datetime, zone: ZoneInfo) -> tuple[int, int, datetime]:
    local, wanted_local = to_local(start, zone), to_local(wanted, zone)
    days = abs((local.date() - wanted_local.date()).days)
    minutes = abs((local.hour * 60 + local.minute) - (wanted_local.hour * 60 + wanted_local.minute))
    return days, minutes, start


def propose_plan(
    course: Course,
    *,
    practitioner: Practitioner,
    weekdays: Sequence[int],
    at: time,
    first_day: date,
    now: datetime | None = None,
    by_staff: bool = False,
) -> CoursePlan:
    """Propose one session per remaining credit following a weekly rule.

    `weekdays` holds one day (weekly) or two (twice a week). A week where the
    wanted time is not free offers up to three free times in that week nearest to
    it (nearest day, then nearest time of day); a week with nothing free is
    skipped and the plan runs one occurrence longer. Nothing is written:
    `book_plan` books what the patient accepts.
    """
    now = now or utcnow()
    weekdays = tuple(sorted(set(weekdays)))
    if not 1 <= len(weekdays) <= 2 or any(not 0 <= day <= 6 for day in weekdays):
        raise DomainError("Choose one day a week, or two.")
    problem = booking_problem(course, now=now)
    if problem:
        raise DomainError(problem)
    session_type = course.session_type
    if not availability.offers(practitioner, session_type):
        raise DomainError(f"{practitioner.name} does not offer {session_type.name}.")

    settings = clinic_settings()
    zone = settings.zone
    today = local_today(now, zone)
    start_day = max(first_day, today)
    end_day = last_valid_day(course, zone) or today
    if not by_staff:
        end_day = min(end_day, today + timedelta(days=settings.booking_horizon_days))
    if end_day < start_day:
        raise DomainError("That start date is after the last day this course can be used.")
    free = availability.practitioner_free_starts(
        practitioner,
        session_type,
        _week_of(start_day)[0],
        _week_of(end_day)[1],
        now=now,
        settings=settings,
        ignore_minimum_notice=by_staff,
    )

    needed = course.credits_remaining
    sessions: list[PlannedSession] = []
    skipped: list[datetime] = []
    planned_days: set[date] = set()
    day = start_day
    while len(sessions) < needed and day <= end_day:
        if day.weekday() in weekdays:
            wanted = local_to_utc(day, at, zone)
            if wanted in free.get(day, []):
                sessions.append(PlannedSession(wanted=wanted, free=True))
                planned_days.add(day)
            else:
                monday, sunday = _week_of(day)
                # Keep the other wanted day of a twice-weekly plan for its own session.
                reserved = planned_days | (
                    {monday + timedelta(days=weekday) for weekday in weekdays} - {day}
                )
                nearby = [
                    start
                    for other in (monday + timedelta(days=n) for n in range(7))
                    if start_day <= other <= end_day and other not in reserved
                    for start in free.get(other, [])
                ]
                # Nearest day first, then the nearest time of day: a patient who wanted
                # Tuesday 10:00 would rather have Wednesday 10:00 than Monday 17:00.
                nearby.sort(key=lambda start: _distance(start, wanted, zone))
                if nearby:
                    alternatives = tuple(nearby[:ALTERNATIVES_SHOWN])
                    sessions.append(PlannedSession(wanted, False, alternatives))
                    planned_days.add(to_local(alternatives[0], zone).date())
                else:
                    skipped.append(wanted)
        day += timedelta(days=1)
    return CoursePlan(
        course=course,
        practitioner=practitioner,
        weekdays=weekdays,
        at=at,
        first_day=start_day,
        sessions=sessions,
        skipped=skipped,
        unplaced=needed - len(sessions),
    )


def _describe(instant: datetime) -> str:
    local = to_local(instant, clinic_settings().zone)
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"


def book_plan(
    course: Course,
    *,
    practitioner: Practitioner,
    starts: Sequence[datetime],
    now: datetime | None = None,
    staff_user: StaffUser | None = None,
) -> list[Appointment]:
    """Book the accepted sessions of a plan in one transaction: all of them or none.

    Each session spends one credit. If any time was taken since the plan was
    proposed, nothing is booked and PlanSlotTaken names that time.
    """
    now = now or utcnow()
    starts = sorted(set(starts))
    if not starts:
        raise DomainError("Choose at least one session to book.")
    with unit_of_work():
        course = lock_or_refuse(Course, course.id, COURSE_GONE_MESSAGE)
        lock_bookable(course.patient)
        problem = booking_problem(course, now=now)
        if problem:
            raise DomainError(problem)
        if len(starts) > course.credits_remaining:
            raise DomainError(
                f"Your course has {course.credits_remaining} sessions left, "
                f"so you can book up to {course.credits_remaining}."
            )
        booked = []
        for starts_at in starts:
            try:
                booked.append(
                    appointments.add_appointment(
                        session_type=course.session_type,
                        starts_at=starts_at,
                        candidates=[practitioner],
                        patient=course.patient,
                        source="course_plan",
                        now=now,
                        staff_user=staff_user,
                        course=course,
                    )
                )
            except appointments.SlotTaken as error:
                raise PlanSlotTaken(
                    f"{_describe(starts_at)} was taken while you were choosing, so nothing "
                    "has been booked. Here is the plan again with the times free now.",
                    starts_at,
                ) from error
        notifications.course_planned(course, booked)
        if staff_user is not None:
            audit.record(
                staff_user,
                "course.planned",
                course,
                sessions=len(booked),
                first=booked[0].starts_at,
                last=booked[-1].starts_at,
            )
    return booked
