"""Held appointments: a time kept for a patient while something is still owed.

A booking that needs something more before the clinic keeps it (a deposit paid online,
a new patient's email confirmed) is made HELD, with a HoldReason and a `held_until`.
Until then it occupies its slot everywhere a booked appointment does (availability,
the overlap checks, PostgreSQL's exclusion constraint, which counts every status but
cancelled), but it is not yet a booking: no confirmation, no invitation, no reminder.

- `book_appointment(..., hold=Hold(...))` makes one (booking.clinic.appointments).
- `confirm_held` turns it BOOKED, inside the caller's unit of work, and only then queues
  the confirmation with its invitation. Confirming twice changes nothing twice; a hold
  that has expired is put back if its time is still free.
- `release_expired_holds` (a scheduled job of the worker) cancels every hold past its
  `held_until`, each in its own unit of work with the row locked and re-read, so two
  workers never release one twice, and tells the patient why, by reason. The freed time
  is then offered to the waiting list by that job's next turn, as after any cancellation.
"""

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, not_, select
from sqlalchemy.sql.elements import ColumnElement

from booking.clinic import audit, availability, notifications, transaction
from booking.clinic.errors import DomainError, SlotTaken
from booking.clinic.local_wording import format_local_time
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, CancelledBy, HoldReason

log = logging.getLogger("booking.held_appointments")

# A hold lasts tens of minutes: released within two minutes of its end is soon enough.
RELEASE_EVERY = timedelta(minutes=2)

# What a hold waits for, in the diary's words ("Held: awaiting deposit until 14:32").
AWAITING = {
    HoldReason.DEPOSIT: "awaiting deposit",
    HoldReason.EMAIL_CONFIRMATION: "awaiting email confirmation",
}
# Why an expired hold was cancelled: kept on the appointment for staff.
RELEASED_BECAUSE = {
    HoldReason.DEPOSIT: "Released: the deposit was not paid in time",
    HoldReason.EMAIL_CONFIRMATION: "Released: the email address was not confirmed in time",
}


@dataclass(frozen=True)
class Hold:
    """Keep the time for the patient until `until` (UTC), waiting for `reason`."""

    reason: HoldReason
    until: datetime

    @classmethod
    def for_minutes(cls, reason: HoldReason, minutes: int, *, now: datetime) -> "Hold":
        return cls(reason, now + timedelta(minutes=minutes))


class Confirmed(enum.StrEnum):
    """What `confirm_held` did."""

    BOOKED = "booked"  # it was held and is now booked
    ALREADY = "already"  # it was booked already: nothing changed
    SLOT_GONE = "slot_gone"  # the hold had expired and its time is no longer free


def apply_hold(appointment: Appointment, hold: Hold) -> None:
    """Make a new appointment held (inside the booking's unit of work)."""
    appointment.status = AppointmentStatus.HELD.value
    appointment.held_until = hold.until
    appointment.hold_reason = hold.reason.value


def describe(appointment: Appointment) -> str:
    """For staff: "Held: awaiting deposit until 14:32" (the clinic's time), or ""."""
    if not appointment.is_held or appointment.held_until is None:
        return ""
    awaiting = AWAITING.get(HoldReason(appointment.hold_reason or ""), "awaiting")
    return f"Held: {awaiting} until {format_local_time(appointment.held_until)}"


def was_released(appointment: Appointment) -> bool:
    """A hold let go before it was ever booked: nothing was booked, nothing was cancelled."""
    reason = appointment.hold_reason
    return reason in {r.value for r in HoldReason} and _was_released(
        appointment, HoldReason(reason)
    )


def _was_released(appointment: Appointment, reason: HoldReason) -> bool:
    return (
        appointment.status == AppointmentStatus.CANCELLED
        and appointment.hold_reason == reason.value
        and appointment.cancellation_reason == RELEASED_BECAUSE[reason]
    )


def confirm_held(appointment: Appointment, reason: HoldReason, *, now: datetime) -> Confirmed:
    """Turn a hold waiting for `reason` into a booking; joins the caller's unit of work.

    Queues the confirmation (with its invitation) and reception's notice, once: a second
    call finds it booked and returns ALREADY. A hold released for lateness is booked
    again if its time is still free (SLOT_GONE if not: the caller decides what then,
    a payment flagged for refund, say). Anything else (cancelled by the patient or
    staff, or held for another reason) is a DomainError.
    """
    with unit_of_work():
        locked = lock(Appointment, appointment.id)
        if locked is None:
            raise DomainError("This appointment no longer exists.")
        kept = locked.status not in (AppointmentStatus.HELD, AppointmentStatus.CANCELLED)
        if kept and locked.hold_reason == reason.value:
            return Confirmed.ALREADY  # booked by an earlier call (and perhaps attended since)
        if _was_released(locked, reason):
            if not _still_free(locked, now):
                return Confirmed.SLOT_GONE
            try:
                # A savepoint: if another booking took the time a moment ago (PostgreSQL's
                # exclusion constraint says so), the caller's work still commits.
                with transaction.savepoint():
                    _book(locked)
            except SlotTaken:
                return Confirmed.SLOT_GONE
        elif not (locked.is_held and locked.hold_reason == reason.value):
            raise DomainError("This appointment is not waiting for that.")
        else:
            _book(locked)
        notifications.appointment_booked(locked, by_staff=False)
        audit.record(None, "appointment.hold_confirmed", locked, reason=reason.value)
    return Confirmed.BOOKED


def _book(appointment: Appointment) -> None:
    appointment.status = AppointmentStatus.BOOKED.value
    appointment.held_until = None
    appointment.cancelled_at = None
    appointment.cancelled_by = None
    appointment.cancel_requested_by = None
    appointment.cancellation_reason = ""
    # hold_reason stays: it says how the booking was kept, and makes confirming idempotent.


def _still_free(appointment: Appointment, now: datetime) -> bool:
    if appointment.starts_at <= now:
        return False
    return availability.is_free_start(
        appointment.practitioner,
        appointment.session_type,
        appointment.starts_at,
        now=now,
        settings=clinic_settings(),
        ignore_appointment_id=appointment.id,
        ignore_minimum_notice=True,  # the patient held this time: no new notice applies
    )


def not_a_booking_yet() -> list[ColumnElement[bool]]:
    """WHERE conditions leaving out holds and holds released unpaid (for the reports):
    neither was ever a booking, so neither counts as booked nor as cancelled."""
    return [
        Appointment.status != AppointmentStatus.HELD.value,
        not_(
            and_(
                Appointment.status == AppointmentStatus.CANCELLED.value,
                Appointment.cancellation_reason.in_(list(RELEASED_BECAUSE.values())),
            )
        ),
    ]


def expired_hold_ids(now: datetime) -> list[int]:
    """The holds whose time ran out by `now`, oldest first."""
    return list(
        db.session.scalars(
            select(Appointment.id)
            .where(
                Appointment.status == AppointmentStatus.HELD.value,
                Appointment.held_until <= now,
            )
            .order_by(Appointment.held_until, Appointment.id)
        )
    )


def release_expired_holds(now: datetime | None = None) -> int:
    """Cancel every hold past its time and tell each patient why; how many were released.

    Each hold is released in its own unit of work with its row locked and re-read, so
    one that was confirmed meanwhile, or released by another worker, is left alone, and
    a failure on one leaves the others to go ahead. Safe to run again at any time.
    """
    now = now or utcnow()
    released = 0
    for appointment_id in expired_hold_ids(now):
        with unit_of_work():
            appointment = lock(Appointment, appointment_id)
            if appointment is None or not appointment.is_held:
                continue
            if appointment.held_until is None or appointment.held_until > now:
                continue  # extended meanwhile
            _release(appointment, now)
            released += 1
    if released:
        log.info("released %d expired holds", released)
    return released


def _release(appointment: Appointment, now: datetime) -> None:
    reason = HoldReason(appointment.hold_reason or "")  # a hold always names one (CHECK)
    held_until = appointment.held_until
    appointment.status = AppointmentStatus.CANCELLED.value
    appointment.cancelled_at = now
    appointment.cancelled_by = CancelledBy.CLINIC.value
    appointment.cancellation_reason = RELEASED_BECAUSE[reason]
    appointment.held_until = None
    appointment.sequence += 1
    notifications.hold_released(appointment, reason)
    audit.record(
        None, "appointment.hold_released", appointment, reason=reason.value, held_until=held_until
    )
