"""Where online payment meets the payments ledger: record a payment, a refund, read what is left.

Every amount goes through `booking.clinic.payments.ledger`, keyed by the provider's own
id (the payment intent for a payment, the refund's id for a refund), which the ledger
records once: asking again changes nothing. Paying a course in full activates it there,
through `courses.activate_course`. A payment's receipt, and a refund's credit note, are
issued and emailed to the patient in the same unit of work (documents.automatic).
"""

import logging
from datetime import datetime

from sqlalchemy import func, select

from booking.clinic.documents.automatic import (
    credit_note_for_online_refund,
    receipt_for_online_payment,
)
from booking.clinic.documents.from_ledger import refund_with_credit_note
from booking.clinic.payments import ledger, refund_failures
from booking.clinic.transaction import lock
from booking.extensions import db
from booking.models import (
    Appointment,
    Course,
    LedgerEntry,
    LedgerEntryKind,
    OnlineCheckout,
    PaymentMethod,
    StaffUser,
)

log = logging.getLogger(__name__)


def lock_checkout(checkout_id: int) -> OnlineCheckout | None:
    """Lock a checkout's row for a change, its appointment's (or course's) row first.

    The order every path takes (the ledger, a cancellation, a waiver, the refund worker,
    a refund from the diary, the webhook): two of them meeting on one appointment wait
    for each other in turn, never in a circle (a deadlock on PostgreSQL). What the
    checkout pays for never changes, so it is read before either lock."""
    pays_for = db.session.execute(
        select(OnlineCheckout.appointment_id, OnlineCheckout.course_id).where(
            OnlineCheckout.id == checkout_id
        )
    ).first()
    if pays_for is None:
        return None
    if pays_for.appointment_id is not None:
        lock(Appointment, pays_for.appointment_id)
    elif pays_for.course_id is not None:
        lock(Course, pays_for.course_id)
    return lock(OnlineCheckout, checkout_id)


def record_payment(
    checkout: OnlineCheckout, *, reference: str, amount_pence: int, now: datetime
) -> None:
    """Record the online payment against its course or appointment (once per provider reference).

    Its receipt is issued and emailed to the patient with it, once.
    """
    recorded = ledger.record_payment(
        checkout.target,
        amount_pence,
        PaymentMethod.ONLINE,
        None,
        reference=reference,
        provider_reference=reference,
        now=now,
    )
    if recorded.recorded:
        receipt_for_online_payment(recorded.entry.id, now=now)


def record_refund(
    checkout: OnlineCheckout,
    *,
    reference: str,
    amount_pence: int,
    staff_user: StaffUser | None,
    now: datetime,
) -> None:
    """Record a refund of the online payment (once per provider refund id)."""
    already = db.session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.provider_reference == reference[:255])
    )
    if already is not None or refund_failures.known_failed(reference):
        # Recorded already, or reported failed first (events can arrive out of order).
        return
    if amount_pence > refundable_pence(checkout):
        # The provider has refunded more than the ledger shows as paid online (a refund
        # also recorded by hand): nothing is recorded twice; staff see it in the dashboard.
        log.warning("an online refund larger than what is left of the payment was not recorded")
        return
    # Its credit note is issued with it, as for a refund at the desk, and emailed.
    entry, _note = refund_with_credit_note(
        checkout.target,
        amount_pence,
        PaymentMethod.ONLINE,
        staff_user,
        reference=reference,
        provider_reference=reference,
        now=now,
    )
    credit_note_for_online_refund(entry.id, now=now)
    if checkout.cancellation_refund_pence:
        # A refund a cancellation decided, made now (by staff, or reported by webhook).
        checkout.cancellation_refund_pence = (
            max(0, checkout.cancellation_refund_pence - amount_pence) or None
        )


def refundable_pence(checkout: OnlineCheckout) -> int:
    """What is left to refund of the target's online payments (never more than was paid)."""
    if checkout.course_id is not None:
        same_target = LedgerEntry.course_id == checkout.course_id
    else:
        same_target = LedgerEntry.appointment_id == checkout.appointment_id
    online = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(
            same_target,
            LedgerEntry.method == PaymentMethod.ONLINE,
            LedgerEntry.kind.in_([LedgerEntryKind.PAYMENT, LedgerEntryKind.REFUND]),
        )
    )
    return max(0, min(int(online or 0), ledger.amount_paid(checkout.target)))
