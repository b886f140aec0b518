"""Paying online for a course or an appointment's deposit: the hosted page, the webhook, refunds.

The flow, with the provider behind `booking.clinic.payments.provider`:

1. `start_course_checkout` (or `start_deposit_checkout`, for an appointment held while its
   deposit is paid; both through `start_checkout`) notes a checkout row (its random uid is
   the Idempotency-Key),
   then asks the provider for a hosted page and sends the patient there. A retry after
   a timeout uses the same key, so the provider answers with the same page; pressing Pay
   again while that page is open offers it again.
2. The provider calls our webhook, signed. `handle_event` records each event id once
   (a repeated delivery changes nothing; two at the same moment: the database's unique
   index lets one through), records the payment in the ledger and activates the course
   through `courses.activate_course`, the one way a course becomes active; a deposit
   books its held appointment (`booking.clinic.payments.deposits`).
3. Refunds, from the diary (`refund_online_payment`) or made in the provider's dashboard
   (their webhook), are recorded in the ledger once per provider refund id. A refund
   reported before its payment is put aside and applied when the payment arrives.
"""

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.clinic.errors import DomainError
from booking.clinic.payments import deposits, online_fees, online_ledger, refund_failures
from booking.clinic.payments.hosted_checkout import (
    NOT_OFFERED,
    REFUND_COUNTS,
    Purchase,
    open_page,
    provider_or_refuse,
    refund_at_provider,
)
from booking.clinic.payments.provider import (
    CheckoutRequest,
    ProviderEvent,
)
from booking.clinic.transaction import (
    discard_after_failure,
    in_unit_of_work,
    lock,
    unit_of_work,
)
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    CheckoutStatus,
    Course,
    CourseStatus,
    LedgerEntry,
    OnlineCheckout,
    PaymentProviderEvent,
    ProviderEventOutcome,
    StaffUser,
)

log = logging.getLogger(__name__)
Target = Course | Appointment

PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
REFUND_EVENTS = {
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refund.updated",
}


# Paying ------------------------------------------------------------------------------------


def start_course_checkout(
    course: Course,
    *,
    success_url: str,
    cancel_url: str,
    now: datetime | None = None,
) -> str:
    """The hosted page's address where the patient pays for `course` (reused while open)."""
    return start_checkout(
        course, _course_purchase, success_url=success_url, cancel_url=cancel_url, now=now
    )


def _course_purchase(course: Target, now: datetime) -> Purchase:
    assert isinstance(course, Course)
    if course.status == CourseStatus.ACTIVE:
        raise DomainError("This course is already paid for: you can book your sessions.")
    if course.status != CourseStatus.AWAITING_PAYMENT:
        raise DomainError("This course was cancelled, so it cannot be paid for.")
    if course.price_pence <= 0:
        raise DomainError(NOT_OFFERED)
    return Purchase(
        description=f"{course.product.name} ({course.sessions_total} sessions)",
        amount_pence=course.price_pence,
    )


def start_deposit_checkout(
    appointment: Appointment,
    *,
    success_url: str,
    cancel_url: str,
    now: datetime | None = None,
) -> str:
    """The hosted page where the patient pays the deposit that keeps their held appointment."""
    return start_checkout(
        appointment,
        deposits.purchase_terms,
        success_url=success_url,
        cancel_url=cancel_url,
        now=now,
    )


def start_checkout(
    target: Target,
    purchase_for: Callable[[Target, datetime], Purchase],
    *,
    success_url: str,
    cancel_url: str,
    now: datetime | None = None,
) -> str:
    """The hosted page's address for `target` (a course, or a deposit's appointment).

    `purchase_for(target, now)` says what is sold, or refuses with a DomainError; it runs
    with the target's row locked. An open page for the same amount is offered again.
    """
    provider = provider_or_refuse()
    now = now or utcnow()
    with unit_of_work():
        target = lock(type(target), target.id) or _gone()
        purchase = purchase_for(target, now)
        checkout = _reusable_checkout(target, purchase, now)
        if checkout is not None and checkout.checkout_url:
            return checkout.checkout_url
        if checkout is None:
            checkout = OnlineCheckout(
                amount_pence=purchase.amount_pence,
                status=CheckoutStatus.CREATING.value,
                created_at=now,
                expires_at=now + purchase.lifetime,
            )
            if isinstance(target, Course):
                checkout.course = target
            else:
                checkout.appointment = target
            db.session.add(checkout)
        db.session.flush()
        kind = "course" if isinstance(target, Course) else "appointment"
        request = CheckoutRequest(
            description=purchase.description,
            amount_pence=checkout.amount_pence,
            success_url=success_url,
            cancel_url=cancel_url,
            metadata={kind: target.uid, "checkout": checkout.uid},
            idempotency_key=checkout.uid,
            customer_email=target.patient.email,
            expires_at=int(checkout.expires_at.timestamp()) if checkout.expires_at else None,
        )
        checkout_id = checkout.id
    return open_page(provider, request, OnlineCheckout, checkout_id, _gone)


def _pays_for(target: Target) -> Any:
    """The WHERE clause: checkouts of this course, or of this appointment's deposit."""
    if isinstance(target, Course):
        return OnlineCheckout.course_id == target.id
    return OnlineCheckout.appointment_id == target.id


def _reusable_checkout(target: Target, purchase: Purchase, now: datetime) -> OnlineCheckout | None:
    candidates = db.session.scalars(
        select(OnlineCheckout)
        .where(
            _pays_for(target),
            OnlineCheckout.status == CheckoutStatus.OPEN,
            OnlineCheckout.amount_pence == purchase.amount_pence,
        )
        .order_by(OnlineCheckout.id.desc())
    )
    for checkout in candidates:
        if checkout.expires_at is not None and checkout.expires_at > now + purchase.reuse_margin:
            return checkout
    return None


def _gone() -> Any:
    raise DomainError("This is no longer there. Please call the clinic.")


@dataclass(frozen=True)
class CheckoutState:
    """What the success page may say: paid only once the webhook has recorded it."""

    target: Target
    confirmed: bool
    # Paid, but what it paid for could no longer be had: staff will refund it.
    refund_due: bool = False


def checkout_state(target: Target, session_id: str | None) -> CheckoutState | None:
    """How the payment the patient came back from stands (None if it is not `target`'s)."""
    if not session_id:
        return None
    checkout = db.session.scalar(
        select(OnlineCheckout).where(
            OnlineCheckout.provider_session_id == session_id[:255], _pays_for(target)
        )
    )
    if checkout is None:
        return None
    return CheckoutState(
        target=target,
        confirmed=checkout.status == CheckoutStatus.PAID,
        refund_due=checkout.refund_due_at is not None,
    )


# Webhook events ----------------------------------------------------------------------------


def handle_event(event: ProviderEvent, *, now: datetime | None = None) -> str:
    """Apply one verified event once; returns what became of it (for the log and tests).

    A second delivery of the same event id, even at the same moment, changes nothing.
    """
    now = now or utcnow()
    if in_unit_of_work():
        raise RuntimeError("handle_event runs its own unit of work")
    try:
        with unit_of_work():
            if _seen(event.id):
                return "duplicate"
            record = PaymentProviderEvent(
                event_id=event.id[:255],
                type=event.type[:100],
                outcome=ProviderEventOutcome.IGNORED.value,
                received_at=now,
            )
            db.session.add(record)
            # The unique index now makes a simultaneous second delivery wait for this one.
            db.session.flush()
            record.outcome = _apply(event, record, now=now)
            return record.outcome
    except IntegrityError:
        # The same event, delivered twice at once: the other delivery recorded it.
        discard_after_failure()
        if _seen(event.id):
            return "duplicate"
        raise


def _seen(event_id: str) -> bool:
    found = db.session.scalar(
        select(PaymentProviderEvent.id).where(PaymentProviderEvent.event_id == event_id[:255])
    )
    return found is not None


def _apply(event: ProviderEvent, record: PaymentProviderEvent, *, now: datetime) -> str:
    data = event.data
    if event.type in PAID_EVENTS:
        if data.get("payment_status") != "paid":
            # Paid by a slower method: its async_payment_succeeded event follows.
            return ProviderEventOutcome.IGNORED.value
        if online_fees.is_fee_session(data):
            return online_fees.fee_session_paid(data, now=now)
        return _checkout_paid(data, now=now)
    if event.type == "checkout.session.expired":
        if online_fees.is_fee_session(data):
            return online_fees.fee_session_expired(data)
        checkout = _checkout_for_session(data)
        if checkout is not None and checkout.status != CheckoutStatus.PAID:
            checkout.status = CheckoutStatus.EXPIRED.value
            return ProviderEventOutcome.PROCESSED.value
        return ProviderEventOutcome.IGNORED.value
    if event.type in REFUND_EVENTS:
        # A refund that failed or was cancelled after we recorded it: the money is back.
        failed = refund_failures.record_failures(data, now=now)
        intent, refunds = _refunds_in(event)
        if intent is None or not refunds:
            return (
                ProviderEventOutcome.PROCESSED if failed else ProviderEventOutcome.IGNORED
            ).value
        if online_fees.record_fee_refunds(intent, refunds, now=now):
            return ProviderEventOutcome.PROCESSED.value
        checkout = _paid_checkout_for_intent(intent)
        if checkout is None:
            if _known_intent_elsewhere(intent):
                return ProviderEventOutcome.IGNORED.value
            # Reported before its payment: kept until the payment is recorded.
            record.payment_intent = intent[:255]
            record.deferred_refunds = json.dumps(refunds)
            return ProviderEventOutcome.DEFERRED.value
        _record_refunds(checkout, refunds, staff_user=None, now=now)
        return ProviderEventOutcome.PROCESSED.value
    return ProviderEventOutcome.IGNORED.value


def _checkout_for_session(data: Mapping[str, Any]) -> OnlineCheckout | None:
    session_id = str(data.get("id") or "")
    checkout_uid = str((data.get("metadata") or {}).get("checkout") or "")
    found = db.session.scalar(
        select(OnlineCheckout.id).where(
            (OnlineCheckout.provider_session_id == session_id[:255])
            | (OnlineCheckout.uid == checkout_uid[:64])
        )
    )
    return online_ledger.lock_checkout(found) if found is not None else None


def _checkout_paid(data: Mapping[str, Any], *, now: datetime) -> str:
    checkout = _checkout_for_session(data)
    if checkout is None:
        # Not a page this clinic started (another integration on the same account).
        return ProviderEventOutcome.IGNORED.value
    if checkout.status == CheckoutStatus.PAID:
        return ProviderEventOutcome.IGNORED.value
    intent = data.get("payment_intent")
    if isinstance(intent, Mapping):
        intent = intent.get("id")
    intent = str(intent or data.get("id"))[:255]
    amount = int(data.get("amount_total") or checkout.amount_pence)
    checkout.status = CheckoutStatus.PAID.value
    checkout.paid_at = now
    checkout.payment_intent = intent
    checkout.provider_session_id = checkout.provider_session_id or str(data.get("id"))[:255]
    # The ledger activates a course awaiting payment once it is paid in full, through
    # courses.activate_course, in this same transaction. A course paid at the desk or
    # cancelled meanwhile keeps its state; the money shows against it for staff to refund.
    online_ledger.record_payment(checkout, reference=intent, amount_pence=amount, now=now)
    if checkout.appointment_id is not None:
        # A deposit books its held appointment, in this same transaction; one that can no
        # longer be kept is flagged for staff to refund.
        deposits.deposit_paid(checkout, now=now)
    _apply_deferred_refunds(checkout, intent, now=now)
    return ProviderEventOutcome.PROCESSED.value


def _paid_checkout_for_intent(intent: str) -> OnlineCheckout | None:
    found = db.session.scalar(
        select(OnlineCheckout.id).where(
            OnlineCheckout.payment_intent == intent[:255],
            OnlineCheckout.status == CheckoutStatus.PAID,
        )
    )
    return online_ledger.lock_checkout(found) if found is not None else None


def _known_intent_elsewhere(intent: str) -> bool:
    """Whether the ledger knows this payment though no page of ours took it (never here)."""
    return False


def _refunds_in(event: ProviderEvent) -> tuple[str | None, list[list[Any]]]:
    """The payment and its refunds ([[refund id, pence], ...]) an event reports."""
    data = event.data
    if data.get("object") == "refund":
        items: Iterable[Mapping[str, Any]] = [data]
        intent = data.get("payment_intent")
    else:
        items = (data.get("refunds") or {}).get("data") or []
        intent = data.get("payment_intent")
    refunds = [
        [str(item["id"]), int(item["amount"])]
        for item in items
        if item.get("id") and item.get("status") in REFUND_COUNTS
    ]
    return (str(intent) if intent else None), refunds


def _apply_deferred_refunds(checkout: OnlineCheckout, intent: str, *, now: datetime) -> None:
    waiting = db.session.scalars(
        select(PaymentProviderEvent).where(
            PaymentProviderEvent.payment_intent == intent,
            PaymentProviderEvent.outcome == ProviderEventOutcome.DEFERRED,
        )
    )
    for event in waiting:
        _record_refunds(checkout, json.loads(event.deferred_refunds or "[]"), None, now=now)
        event.outcome = ProviderEventOutcome.PROCESSED.value
        event.deferred_refunds = None


def _record_refunds(
    checkout: OnlineCheckout,
    refunds: Iterable[list[Any]],
    staff_user: StaffUser | None,
    *,
    now: datetime,
) -> None:
    for refund_id, amount in refunds:
        online_ledger.record_refund(
            checkout,
            reference=str(refund_id),
            amount_pence=int(amount),
            staff_user=staff_user,
            now=now,
        )


# Refunds from the diary --------------------------------------------------------------------


def refundable_pence(checkout: OnlineCheckout) -> int:
    """What is left to refund of an online payment."""
    return online_ledger.refundable_pence(checkout)


def refund_online_payment(
    checkout: OnlineCheckout,
    amount_pence: int,
    *,
    staff_user: StaffUser,
    request_key: str,
    now: datetime | None = None,
) -> int:
    """Refund part or all of an online payment through the provider, then the ledger.

    `request_key` comes from the form, so sending the same form twice makes one refund
    (the provider answers the repeated call with the first refund).
    """
    now = now or utcnow()
    checkout_id = checkout.id
    refund = refund_at_provider(
        checkout,
        amount_pence,
        refundable=lambda: refundable_pence(checkout),
        request_key=request_key,
    )
    with unit_of_work():
        checkout = online_ledger.lock_checkout(checkout_id) or _gone()
        _record_refunds(checkout, [[refund.id, refund.amount_pence]], staff_user, now=now)
    return refund.amount_pence


def paid_checkouts(target: Target) -> list[OnlineCheckout]:
    """The course's (or the appointment's deposit's) online payments that went through."""
    return list(
        db.session.scalars(
            select(OnlineCheckout)
            .where(_pays_for(target), OnlineCheckout.status == CheckoutStatus.PAID)
            .order_by(OnlineCheckout.id)
        )
    )


def checkout_for_entry(entry_id: int) -> OnlineCheckout | None:
    """The paid checkout a ledger entry (an online payment) records, if any."""
    reference = db.session.scalar(
        select(LedgerEntry.provider_reference).where(LedgerEntry.id == entry_id)
    )
    if not reference:
        return None
    return db.session.scalar(
        select(OnlineCheckout).where(
            OnlineCheckout.payment_intent == reference,
            OnlineCheckout.status == CheckoutStatus.PAID,
        )
    )
