"""The mid-course review: at the middle session the practitioner decides to continue,
change the plan or stop; "stop" marks the unused credits (not yet spent, or held by the
sessions still booked after it), and their share of what was paid
(booking.clinic.payments.ledger), refundable. Reception makes the refund itself.
"""

from datetime import datetime

from sqlalchemy import select

from booking.clinic import audit, credits
from booking.clinic.errors import DomainError
from booking.clinic.payments import ledger
from booking.clinic.records.outcomes import checkpoint_of
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseReview,
    OutcomeCheckpoint,
    ReviewDecision,
    Role,
    StaffUser,
)

LONGEST_REVIEW_NOTE = 1000
DECISION_LABELS = {
    ReviewDecision.CONTINUE: "Continue the course as planned",
    ReviewDecision.CHANGE_PLAN: "Change the treatment plan",
    ReviewDecision.STOP: "Stop the course",
}


def review_of(course: Course) -> CourseReview | None:
    return db.session.scalar(select(CourseReview).where(CourseReview.course_id == course.id))


def review_due(appointment: Appointment) -> bool:
    """Whether this is the middle session of a course whose review is not made yet."""
    course = appointment.course
    return (
        course is not None
        and checkpoint_of(appointment) == OutcomeCheckpoint.MIDDLE
        and review_of(course) is None
    )


def record_review(
    appointment: Appointment,
    decision: ReviewDecision,
    *,
    note: str,
    staff_user: StaffUser,
    now: datetime | None = None,
) -> CourseReview:
    """The practitioner's mid-course decision; "stop" marks the unused credits refundable."""
    note = (note or "").strip()
    if len(note) > LONGEST_REVIEW_NOTE:
        raise DomainError(f"Please keep the note to {LONGEST_REVIEW_NOTE} characters or fewer.")
    if (
        staff_user.role != Role.PRACTITIONER
        or staff_user.practitioner_id != appointment.practitioner_id
    ):
        raise DomainError("The practitioner of this session makes the mid-course review.")
    with unit_of_work() as session:
        appointment = lock_or_refuse(
            Appointment, appointment.id, "This appointment no longer exists."
        )
        if appointment.course is None:
            raise DomainError("This appointment is not part of a course.")
        course = lock_or_refuse(Course, appointment.course.id, "This course no longer exists.")
        if checkpoint_of(appointment) != OutcomeCheckpoint.MIDDLE:
            raise DomainError("The review is made at the middle session of the course.")
        if review_of(course) is not None:
            raise DomainError("The review of this course has already been recorded.")
        refundable = unused_credits(course, appointment) if decision == ReviewDecision.STOP else 0
        review = CourseReview(
            course_id=course.id,
            patient_id=course.patient_id,
            appointment_id=appointment.id,
            decision=decision.value,
            note=note,
            refundable_credits=refundable,
            refundable_pence=refundable_share(course, refundable),
            decided_at=now or utcnow(),
            decided_by_id=staff_user.id,
        )
        session.add(review)
        session.flush()
        audit.record(
            staff_user,
            "course.reviewed",
            course,
            decision=decision.value,
            refundable_credits=review.refundable_credits,
            refundable_pence=review.refundable_pence,
        )
    return review


def unused_credits(course: Course, middle: Appointment) -> int:
    """The credits a course stopped at `middle` leaves unused: those not yet spent, and those
    held by its sessions still booked after it (reception cancels them, which returns them).

    A course booked all at once has spent every credit by its middle session, so counting
    only `credits_remaining` would mark nothing refundable.
    """
    later = db.session.scalars(
        select(Appointment).where(
            Appointment.course_id == course.id,
            Appointment.id != middle.id,
            Appointment.status.in_([AppointmentStatus.BOOKED.value, AppointmentStatus.HELD.value]),
            Appointment.starts_at > middle.starts_at,
        )
    )
    held = sum(credits.credits_held(session) for session in later)
    return min(course.credits_remaining + held, course.sessions_total)


def refundable_share(course: Course, credits: int) -> int:
    """The unused credits' share of what the patient paid for the course, in pence.

    Each credit is worth the course's price over its sessions (rounded down), and the
    share is never more than the ledger says was paid, less refunds already made.
    """
    if credits <= 0 or course.sessions_total <= 0:
        return 0
    share = course.price_pence * credits // course.sessions_total
    return max(0, min(share, ledger.amount_paid(course)))
