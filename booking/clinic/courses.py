"""A patient's course of sessions: asked for or sold, paid for, used, and how it stands.

A course holds credits, one per session (`booking.clinic.credits`); its sessions can be
booked one at a time or planned in one go (`booking.clinic.course_plans`). The rules
for when a course can pay for a session live here, so the booking and the plan ask the
same questions.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from booking.clinic import DomainError, audit, credits, notifications, submissions
from booking.clinic.credits import COURSE_GONE_MESSAGE, NO_CREDITS_MESSAGE
from booking.clinic.localtime import local_to_utc, to_local
from booking.clinic.patients import PatientDetails, find_or_create_patient, lock_bookable
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseProduct,
    CourseSource,
    CourseStatus,
    Patient,
    SessionType,
    StaffUser,
)

__all__ = ["COURSE_GONE_MESSAGE", "NO_CREDITS_MESSAGE"]


def _new_course(
    product: CourseProduct,
    patient: Patient | PatientDetails,
    *,
    source: str,
    now: datetime,
    health_consent: bool = False,
) -> Course:
    """A course awaiting payment, for a known patient or one found or created from details."""
    if not product.active:
        raise DomainError("That course is no longer on sale. Please call the clinic.")
    if isinstance(patient, PatientDetails):
        patient = find_or_create_patient(patient, consent_at=now if health_consent else None)
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
    patient: Patient | PatientDetails,
    *,
    now: datetime | None = None,
    health_consent: bool = False,
    submission_key: str | None = None,
) -> Course:
    """A patient asks for a course online; it waits for payment at the clinic.

    `health_consent` records when the patient agreed to the clinic keeping their health
    information, as a single booking does. With `submission_key` (the form's random
    key) a second send of the same form returns the course the first one asked for.
    """
    now = now or utcnow()
    try:
        with unit_of_work():
            claimed = None
            if submission_key is not None:
                claimed = submissions.claim(submission_key, "course_request")
            course = _new_course(
                product, patient, source=CourseSource.ONLINE, now=now, health_consent=health_consent
            )
            notifications.course_requested(course)
            if claimed is not None:
                claimed.course_id = course.id
    except submissions.AlreadySubmitted:
        earlier = submissions.earlier(submission_key) if submission_key else None
        if earlier is None or earlier.course is None or earlier.course.product_id != product.id:
            raise
        return earlier.course
    return course


def sell_course(
    product: CourseProduct,
    patient: Patient | PatientDetails,
    *,
    staff_user: StaffUser,
    payment_reference: str,
    now: datetime | None = None,
) -> Course:
    """Sell a course at the desk: created and paid for in one go, ready to book."""
    now = now or utcnow()
    with unit_of_work():
        course = _new_course(product, patient, source=CourseSource.STAFF, now=now)
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
    credits.change_credits(course, course.sessions_total, "Course paid", staff_user=staff_user)
    _count_sessions_booked_before_payment(course, staff_user)
    if staff_user is not None:
        audit.record(staff_user, "course.paid", course, reference=course.payment_reference or "")
    notifications.course_activated(course)


# The sessions of an unpaid course that hold its credit once it is paid: the first
# session, booked before payment, whether still to come, under way or attended.
_HOLDING_CREDIT = (
    AppointmentStatus.BOOKED.value,
    AppointmentStatus.ARRIVED.value,
    AppointmentStatus.ATTENDED.value,
)


def _count_sessions_booked_before_payment(course: Course, staff_user: StaffUser | None) -> None:
    """The session booked before payment takes its credit now, so the course adds up.

    A course of ten whose first session was booked unpaid ends with nine credits and
    one session holding a credit, never eleven sessions. A missed first session uses
    its credit only if the clinic's settings say a no-show does.
    """
    statuses = list(_HOLDING_CREDIT)
    if clinic_settings().no_show_uses_credit:
        statuses.append(AppointmentStatus.NO_SHOW.value)
    sessions = db.session.scalars(
        select(Appointment)
        .where(Appointment.course_id == course.id, Appointment.status.in_(statuses))
        .order_by(Appointment.starts_at)
    )
    for appointment in sessions:
        if credits.credits_held(appointment) == 0:
            credits.change_credits(
                course,
                -1,
                "Session booked before the course was paid",
                appointment=appointment,
                staff_user=staff_user,
            )


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


def how_to_pay(*, online: bool | None = None) -> str:
    """How a patient pays for a course, in a sentence: online where the clinic takes it."""
    if online is None:
        from booking.clinic.payments.configured import online_payment_configured

        online = online_payment_configured()
    phone = clinic_settings().phone
    if online:
        return f"Pay online on your course page, or at the clinic, or call us on {phone}."
    return f"Pay at the clinic, or call us on {phone} to pay by card."


def unpaid_sessions(course: Course) -> list[Appointment]:
    """The sessions of a course booked while it is unpaid and not cancelled (at most one)."""
    if course.status != CourseStatus.AWAITING_PAYMENT:
        return []
    return list(
        db.session.scalars(
            select(Appointment).where(
                Appointment.course_id == course.id,
                Appointment.status != AppointmentStatus.CANCELLED.value,
            )
        )
    )


def first_session_before_payment(course: Course) -> bool:
    """Whether this unpaid course may book its first session now (the clinic's setting)."""
    return (
        course.status == CourseStatus.AWAITING_PAYMENT
        and clinic_settings().first_course_session_before_payment
        and not unpaid_sessions(course)
    )


def awaiting_payment_problem(course: Course) -> str:
    """Why an unpaid course books no more sessions, with how to pay."""
    if unpaid_sessions(course):
        return (
            "Your first session is booked. The other sessions of this course can be "
            f"booked once it is paid. {how_to_pay()}"
        )
    return (
        "This course is waiting for payment. You can book your sessions here once it is "
        f"paid. {how_to_pay()}"
    )


def booking_problem(course: Course, *, now: datetime) -> str | None:
    """Why the course cannot book a session now, in words for the patient; None if it can.

    An unpaid course books nothing, unless the clinic lets a new patient book the first
    session before paying: then one session, whose credit is taken when the course is
    paid (`_count_sessions_booked_before_payment`).
    """
    if course.status == CourseStatus.AWAITING_PAYMENT:
        if first_session_before_payment(course):
            return None
        return awaiting_payment_problem(course)
    if course.status == CourseStatus.CANCELLED:
        return "This course has been cancelled, so it cannot be used to book."
    if course.expires_at is not None and course.expires_at <= now:
        ended = _expiry_day(course.expires_at)
        return f"This course ended on {long_date(ended)}, so it cannot be used to book."
    if course.credits_remaining <= 0:
        return NO_CREDITS_MESSAGE
    return None


def plan_problem(course: Course, *, now: datetime) -> str | None:
    """Why the remaining sessions cannot be planned in one go; None if they can.

    Planning needs a paid course, even where the first session may be booked unpaid.
    """
    if course.status == CourseStatus.AWAITING_PAYMENT:
        return awaiting_payment_problem(course)
    return booking_problem(course, now=now)


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
    # Arrived is still waiting for its outcome, as booked is.
    booked = by_status.get(AppointmentStatus.BOOKED.value, []) + by_status.get(
        AppointmentStatus.ARRIVED.value, []
    )
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
