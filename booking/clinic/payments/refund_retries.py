"""Asking the provider for a cancelled booking's deposit refund, and asking again.

A cancellation notes on the deposit's checkout the refund to make and the idempotency
key of its ask (`deposit_policy.decide_on_cancellation`); the refund is asked for once
the cancellation has committed (`ask_for_refund`). A refusal, or a provider that could
not be reached, is not the end: the worker's job `retry_refused_refunds` asks again
RETRY_AFTER[n] later (5 minutes, 15 minutes, 1 hour, 4 hours), always with the same key
(`OnlineCheckout.cancellation_refund_key`), so an ask that did reach the provider is
answered with that same refund and the card is never refunded twice. A refund noted but
never asked (the cancellation was part of a larger unit of work) is asked by the same job
at its first turn after RETRY_AFTER[0]. After the last retry the refund is left for staff:
the diary says "to refund" (as it does meanwhile) and reception is emailed once. Each
refusal, a retry that went through and the hand-over to staff are audited.
"""

import logging
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select

from booking.clinic import audit, notifications
from booking.clinic.errors import DomainError
from booking.clinic.payments import online_ledger
from booking.clinic.payments.configured import online_provider
from booking.clinic.payments.hosted_checkout import refund_at_provider
from booking.clinic.transaction import end_read, lock, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import Appointment, CheckoutStatus, OnlineCheckout

log = logging.getLogger(__name__)

# How long after each refused ask the worker asks again; after the last, staff make it.
RETRY_AFTER = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
)
RETRIES_EVERY = timedelta(minutes=5)


def note_refund(checkout: OnlineCheckout, appointment: Appointment, *, now: datetime) -> None:
    """Inside the cancellation's unit of work, with `cancellation_refund_pence` just set:
    the key every ask of this refund uses, and the worker's turn should nobody ask now."""
    checkout.refund_attempts = 0
    if checkout.cancellation_refund_pence:
        # One key per checkout and cancellation: each cancellation moves the sequence on.
        checkout.cancellation_refund_key = f"cancelled-{appointment.sequence}"
        checkout.refund_retry_at = now + RETRY_AFTER[0]
    else:
        checkout.cancellation_refund_key = None
        checkout.refund_retry_at = None


def note_more_to_refund(
    checkout: OnlineCheckout, extra_pence: int, *, because: str, now: datetime
) -> None:
    """Inside the unit of work that decided it (a waived fee's kept deposit), with the
    checkout's row locked: add `extra_pence` to the refund still to make of it.

    The refund then asked is a new one, so it has a new key naming why and the whole
    amount: an ask already out under the old key is answered as before, and a refund
    of both that came back unsure is asked again with this same key. The provider never
    refunds more than the payment, which here is all that is to go back."""
    total = (checkout.cancellation_refund_pence or 0) + extra_pence
    checkout.cancellation_refund_pence = total
    checkout.cancellation_refund_key = f"{because}-{total}"[:80]
    checkout.refund_attempts = 0
    checkout.refund_retry_at = now + RETRY_AFTER[0]


def _key(checkout: OnlineCheckout, appointment: Appointment) -> str:
    # Noted with the refund; a refund noted before keys were kept gets the one it had.
    return checkout.cancellation_refund_key or f"cancelled-{appointment.sequence}"


def ask_for_refund(appointment: Appointment, checkout_id: int, *, now: datetime) -> bool:
    """Ask the provider for the refund noted on the checkout; True when it was made.

    Outside any unit of work (no transaction is held open while the provider answers).
    A refusal schedules the next ask, or leaves the refund for staff after the last.
    """
    checkout = db.session.get(OnlineCheckout, checkout_id)
    if checkout is None or not checkout.cancellation_refund_pence:
        return False
    amount, key, attempt = (
        checkout.cancellation_refund_pence,
        _key(checkout, appointment),
        checkout.refund_attempts + 1,
    )
    try:
        refund = refund_at_provider(
            checkout,
            amount,
            refundable=partial(online_ledger.refundable_pence, checkout),
            request_key=key,
        )
    except DomainError as error:
        _refused(appointment, checkout_id, amount, error.message, key=key, now=now)
        return False
    with unit_of_work():
        # The appointment first, then the checkout, as every path takes them: a waiver
        # meeting this pass waits, never deadlocks.
        locked = online_ledger.lock_checkout(checkout_id)
        if locked is None:
            return False
        online_ledger.record_refund(
            locked, reference=refund.id, amount_pence=refund.amount_pence, staff_user=None, now=now
        )
        if locked.cancellation_refund_key not in (None, key) and locked.cancellation_refund_pence:
            # More was added while this ask was out (a waived fee's kept deposit): what is
            # left is a refund of its own, asked under a key for that amount, now.
            rest = locked.cancellation_refund_pence
            locked.cancellation_refund_key = f"{locked.cancellation_refund_key}-rest-{rest}"[:80]
            locked.refund_attempts = 0
            locked.refund_retry_at = now
        else:
            locked.cancellation_refund_pence = None
            locked.refund_retry_at = None
        if attempt > 1:
            audit.record(
                None,
                "deposit.refund_retried",
                appointment,
                checkout_id=checkout_id,
                amount_pence=refund.amount_pence,
                attempt=attempt,
                refund=refund.id,
            )
    return True


def _refused(
    appointment: Appointment, checkout_id: int, amount: int, why: str, *, key: str, now: datetime
) -> None:
    log.warning("a cancelled booking's deposit could not be refunded automatically")
    with unit_of_work():
        checkout = lock(OnlineCheckout, checkout_id)
        if checkout is None or not checkout.cancellation_refund_pence:
            return  # made meanwhile (by staff, or reported by webhook)
        if checkout.cancellation_refund_key not in (None, key):
            return  # a waiver added to the refund meanwhile: it is a new ask, not this one
        checkout.cancellation_refund_key = key
        checkout.refund_attempts += 1
        attempt = checkout.refund_attempts
        retry = attempt <= len(RETRY_AFTER)
        checkout.refund_retry_at = now + RETRY_AFTER[attempt - 1] if retry else None
        audit.record(
            None,
            "deposit.refund_refused",
            appointment,
            checkout_id=checkout_id,
            amount_pence=amount,
            reason=why[:300],
            attempt=attempt,
            retry_at=checkout.refund_retry_at,
        )
        if not retry:
            audit.record(
                None,
                "deposit.refund_left_for_staff",
                appointment,
                checkout_id=checkout_id,
                amount_pence=amount,
                attempts=attempt,
            )
            notifications.deposit_refund_refused(appointment, amount, attempts=attempt)


def retry_refused_refunds(now: datetime | None = None) -> int:
    """The worker's job: ask again for each refund whose next try has come; how many
    were made. Safe to run again (each ask reuses its refund's key)."""
    now = now or utcnow()
    if online_provider() is None:
        return 0  # nothing can be asked; staff see the refunds to make in the diary
    due = db.session.execute(
        select(OnlineCheckout.id, OnlineCheckout.appointment_id)
        .where(
            OnlineCheckout.cancellation_refund_pence.is_not(None),
            OnlineCheckout.refund_retry_at.is_not(None),
            OnlineCheckout.refund_retry_at <= now,
            OnlineCheckout.status == CheckoutStatus.PAID.value,
            OnlineCheckout.appointment_id.is_not(None),
        )
        .order_by(OnlineCheckout.refund_retry_at)
    ).all()
    end_read()
    made = 0
    for checkout_id, appointment_id in due:
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is not None and ask_for_refund(appointment, checkout_id, now=now):
            made += 1
    return made
