"""Deposits: part of a session's price paid online when it is booked, to keep the time.

A session type may ask for a deposit (`SessionType.deposit_pence`, never more than its
price). When the clinic takes payment online, a patient booking it online gets a HELD
appointment (booking.clinic.held_appointments, reason "deposit") kept for
DEPOSIT_HOLD_MINUTES while they pay on the provider's hosted page
(`online.start_deposit_checkout`). The webhook that reports the payment records it in the
ledger against the appointment (so it counts against what is due; the rest is paid at
the clinic) and calls `deposit_paid`, which books the appointment and only then queues
its confirmation. A payment that arrives after the hold was released is booked all the
same if the time is still free; if not, it is kept in the ledger and flagged for staff to
refund (never lost). With no keys configured, or a deposit of 0, booking is as before.
"""

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from booking.clinic import audit, held_appointments, notifications
from booking.clinic.errors import DomainError
from booking.clinic.held_appointments import Confirmed, Hold
from booking.clinic.money import format_money
from booking.clinic.payments.configured import online_payment_configured, online_provider
from booking.clinic.payments.hosted_checkout import Purchase
from booking.clinic.payments.provider import ProviderError
from booking.clinic.transaction import end_read, lock, unit_of_work
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    CheckoutStatus,
    Course,
    HoldReason,
    OnlineCheckout,
    SessionType,
)

log = logging.getLogger(__name__)

NOT_DUE = "This appointment has no deposit to pay online."


def deposit_for(session_type: SessionType) -> int:
    """The deposit a patient booking `session_type` online pays now (0: none, pay at the clinic)."""
    if not online_payment_configured():
        return 0
    return max(0, min(session_type.deposit_pence or 0, session_type.price_pence))


def hold_minutes() -> int:
    return int(current_app.config["DEPOSIT_HOLD_MINUTES"])


def hold_for_deposit(now: datetime) -> Hold:
    """How long a booking waiting for its deposit keeps its time."""
    return Hold.for_minutes(HoldReason.DEPOSIT, hold_minutes(), now=now)


def check_deposit(deposit_pence: int | None, price_pence: int) -> None:
    """Refuse a deposit the admin typed that cannot be: negative, or more than the price."""
    if deposit_pence is None or deposit_pence < 0:
        raise DomainError("A deposit cannot be negative. Leave it at 0 for no deposit.")
    if deposit_pence > price_pence:
        raise DomainError(
            f"The deposit ({format_money(deposit_pence)}) cannot be more than the price "
            f"({format_money(price_pence)})."
        )


def deposit_of(appointment: Appointment) -> int:
    """The deposit this appointment asks for: its session type's, at most its price."""
    return max(0, min(appointment.session_type.deposit_pence or 0, appointment.price_pence))


def purchase_terms(target: Appointment | Course, now: datetime) -> Purchase:
    """What the hosted page sells for a held appointment: its deposit (with the row locked)."""
    if not isinstance(target, Appointment):
        raise DomainError(NOT_DUE)
    appointment = target
    if appointment.status == AppointmentStatus.BOOKED:
        raise DomainError("Your deposit is paid and your appointment is booked.")
    if not appointment.is_held or appointment.hold_reason != HoldReason.DEPOSIT:
        raise DomainError(
            "The time we were keeping for you has been let go, so there is nothing to pay. "
            "Please choose a time again."
        )
    if appointment.held_until is None or appointment.held_until <= now:
        raise DomainError(
            "The time we were keeping for you has run out. Please choose a time again."
        )
    amount = deposit_of(appointment)
    if amount <= 0:
        raise DomainError(NOT_DUE)
    return Purchase(
        description=f"Deposit: {appointment.session_type.name}",
        amount_pence=amount,
        # The provider takes payment for at least 30 minutes; a payment after the hold
        # ends is still booked if the time is free (see deposit_paid).
        lifetime=timedelta(minutes=31),
        # Offer the same page again while it is open at all: the hold is short.
        reuse_margin=timedelta(minutes=1),
    )


def deposit_paid(checkout: OnlineCheckout, *, now: datetime) -> Confirmed | None:
    """The deposit `checkout` took has been recorded: book its held appointment.

    Inside the webhook's unit of work. Booked once however often it is called. If the
    appointment can no longer be kept (its time was released and taken, or it was
    cancelled meanwhile) the payment stays in the ledger and the checkout is flagged
    for staff to refund; None then.
    """
    appointment = checkout.appointment
    if appointment is None:
        return None
    try:
        outcome = held_appointments.confirm_held(appointment, HoldReason.DEPOSIT, now=now)
    except DomainError:
        outcome = Confirmed.SLOT_GONE
    if outcome == Confirmed.SLOT_GONE:
        _flag_for_refund(checkout, appointment, now)
        return None
    return outcome


def _flag_for_refund(checkout: OnlineCheckout, appointment: Appointment, now: datetime) -> None:
    if checkout.refund_due_at is not None:
        return
    checkout.refund_due_at = now
    audit.record(
        None,
        "deposit.refund_due",
        appointment,
        checkout_id=checkout.id,
        amount_pence=checkout.amount_pence,
        reason="paid after the held time was let go and could not be kept",
    )
    notifications.deposit_refund_due(appointment, checkout.amount_pence)
    log.warning("a deposit arrived for a time that could no longer be kept; flagged for refund")


def close_pages_of_released_holds(now: datetime | None = None) -> int:
    """Close the hosted pages still open for deposits whose appointment is no longer held.

    Run by the worker just after releasing expired holds (and so also after staff cancel
    a held booking): the patient can then no longer pay for a time that was let go. The
    provider is asked outside any transaction; a page it will not close (paid a moment
    ago, say) is left to its webhook, which books the time if still free or flags the
    payment for refund. Safe to run again; how many pages were closed.
    """
    provider = online_provider()
    if provider is None:
        return 0
    open_pages = db.session.execute(
        select(OnlineCheckout.id, OnlineCheckout.provider_session_id)
        .join(Appointment, OnlineCheckout.appointment_id == Appointment.id)
        .where(
            OnlineCheckout.status == CheckoutStatus.OPEN.value,
            OnlineCheckout.provider_session_id.is_not(None),
            Appointment.status == AppointmentStatus.CANCELLED.value,
        )
    ).all()
    end_read()
    closed = 0
    for checkout_id, session_id in open_pages:
        try:
            session = provider.expire_checkout(str(session_id))
        except ProviderError:
            log.warning("a released hold's payment page could not be closed; tried again later")
            continue
        if session.status != "expired":
            continue
        with unit_of_work():
            checkout = lock(OnlineCheckout, checkout_id)
            if checkout is not None and checkout.status == CheckoutStatus.OPEN:
                checkout.status = CheckoutStatus.EXPIRED.value
                closed += 1
    return closed


def price_words(appointment: Appointment, paid_pence: int) -> str:
    """'£65.00: £20.00 deposit paid online, £45.00 to pay at the clinic on the day'."""
    rest = max(0, appointment.price_pence - paid_pence)
    return (
        f"{format_money(appointment.price_pence)}: {format_money(paid_pence)} deposit paid "
        f"online, {format_money(rest)} to pay at the clinic on the day"
    )
