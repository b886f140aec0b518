"""New patients confirm their email address before an online booking is kept.

A clinic setting, off by default (`ClinicSettings.email_confirmation_for_new_patients`).
When it is on, a patient booking online with an address not yet known to be theirs gets
a HELD appointment (HoldReason.EMAIL_CONFIRMATION) until EMAIL_CONFIRMATION_HOLD_MINUTES
from now, and an email with a signed link, "Confirm your booking". Opening the link only
shows the booking with one button (`link_standing`: a mail scanner that opens links
first changes nothing); pressing it books the time (`confirm_from_link`, through
`booking.clinic.held_appointments.confirm_held`: the confirmation with its calendar
invitation goes only then) and records the address as confirmed; pressing or opening it
again changes nothing. Unconfirmed by then, the worker's release job lets the time go,
and the link then says so and offers to book again.

An address counts as confirmed once a patient with that address has opened such a link
(`Patient.email_confirmed_at`), or has come to an appointment (the clinic has met them).
Only the online booking form asks for this: bookings staff make and course sessions are
never held for it, and neither is a booking already held for a deposit (paying it says
more than an email can).
"""

import enum
from datetime import datetime

from flask import current_app
from sqlalchemy import exists, or_, select

from booking.clinic.errors import DomainError
from booking.clinic.held_appointments import RELEASED_BECAUSE, Hold, confirm_held
from booking.clinic.patients import PatientDetails
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock, unit_of_work
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, HoldReason, Patient

REASON = HoldReason.EMAIL_CONFIRMATION
# Coming to an appointment shows the clinic the person is real.
_MET = (AppointmentStatus.ARRIVED.value, AppointmentStatus.ATTENDED.value)


class LinkOutcome(enum.StrEnum):
    """How the emailed link's booking stands, or what pressing its button did."""

    WAITING = "waiting"  # still held for this confirmation: the page offers the button
    BOOKED = "booked"  # it was held and is booked now
    ALREADY = "already"  # booked by an earlier opening: nothing changed
    RELEASED = "released"  # not confirmed in time: the time was let go
    CANCELLED = "cancelled"  # cancelled since (by the patient or the clinic)


def address_confirmed(email: str) -> bool:
    """Whether a patient with this address has confirmed it, or has come to the clinic."""
    email = email.strip().lower()
    met = exists().where(Appointment.patient_id == Patient.id, Appointment.status.in_(_MET))
    return (
        db.session.scalar(
            select(Patient.id)
            .where(Patient.email == email, or_(Patient.email_confirmed_at.is_not(None), met))
            .limit(1)
        )
        is not None
    )


def hold_for(details: PatientDetails, *, now: datetime) -> Hold | None:
    """The hold an online booking with these details gets, or None when it is kept at once.

    Inside the booking's unit of work, after the caps' check: that serialises bookings
    by one address, so two at once are each held (neither sees the other confirmed).
    """
    if not clinic_settings().email_confirmation_for_new_patients or not details.email:
        return None
    if address_confirmed(details.email):
        return None
    minutes = int(current_app.config["EMAIL_CONFIRMATION_HOLD_MINUTES"])
    return Hold.for_minutes(REASON, minutes, now=now)


def link_standing(appointment: Appointment) -> LinkOutcome:
    """How the emailed link's booking stands, reading only (what opening the link shows).

    WAITING: still held for this confirmation (the page's button confirms it); otherwise
    the outcome an earlier press, the worker or a cancellation already gave it. A booking
    held for something else (a deposit) is a DomainError, as pressing would be.
    """
    if appointment.status == AppointmentStatus.CANCELLED:
        if appointment.cancellation_reason == RELEASED_BECAUSE[REASON]:
            return LinkOutcome.RELEASED
        return LinkOutcome.CANCELLED
    if not appointment.is_held:
        return LinkOutcome.ALREADY
    if appointment.hold_reason != REASON.value:
        raise DomainError("This booking is not waiting for an email confirmation.")
    return LinkOutcome.WAITING


def confirm_from_link(appointment: Appointment, *, now: datetime) -> LinkOutcome:
    """The patient pressed the link page's button: book the held time; safe to repeat.

    A hold not yet released is booked even a moment after its time (nobody else could
    have taken the slot meanwhile); once the worker has released it, the link says so
    and the patient books again, as anyone would.
    """
    with unit_of_work():
        locked = lock(Appointment, appointment.id)
        if locked is None:
            raise DomainError("This booking no longer exists. Please book again.")
        standing = link_standing(locked)
        if standing != LinkOutcome.WAITING:
            return standing
        confirm_held(locked, REASON, now=now)
        patient = locked.patient
        if patient.email_confirmed_at is None:
            patient.email_confirmed_at = now
    return LinkOutcome.BOOKED
