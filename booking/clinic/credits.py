"""A course's credits: one per session, spent when a session is booked, kept in a ledger.

Cancelling with notice gives the credit back; a late cancellation or a no-show uses it
when the clinic's settings say so. Credits never go negative, even when two bookings
race for the last one: the credit is taken with a conditional UPDATE inside the
booking's unit of work, and the database's CHECK constraint is the backstop. Every
change adds a CreditEntry row, so the ledger always adds up to the credits remaining.
"""

from sqlalchemy import func, select, update

from booking.clinic import DomainError, audit
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import rows_changed
from booking.extensions import db
from booking.models import Appointment, Course, CourseStatus, CreditEntry, StaffUser

NO_CREDITS_MESSAGE = "There are no sessions left on this course."
COURSE_GONE_MESSAGE = "This course no longer exists."


def change_credits(
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


def spend_credit(
    course: Course, appointment: Appointment, *, staff_user: StaffUser | None = None
) -> None:
    """Take one credit for a session being booked, inside the booking transaction.

    Raises DomainError when the last credit has just gone; the caller rolls back.
    """
    if not change_credits(
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
    if course is None or course.status == CourseStatus.AWAITING_PAYMENT:
        # An unpaid course has no credits yet: its session's credit is settled when it
        # is paid (booking.clinic.courses._count_sessions_booked_before_payment).
        return
    held = credits_held(appointment)
    if uses_credit and held == 0:
        if not change_credits(course, -1, reason, appointment=appointment, staff_user=staff_user):
            raise DomainError(
                "The course has no credit left to cover this session. "
                "Add a credit to the course first."
            )
    elif not uses_credit and held > 0:
        if not change_credits(course, held, reason, appointment=appointment, staff_user=staff_user):
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
        if not change_credits(course, change, reason, staff_user=staff_user):
            raise DomainError(
                f"That would leave {course.credits_remaining + change} credits: a course holds "
                f"between 0 and {course.sessions_total}."
            )
        audit.record(staff_user, "course.credits_adjusted", course, change=change, reason=reason)
    return course
