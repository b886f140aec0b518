"""Paying a fee online: the fee's page, the hosted checkout, and the webhook that records it.

A fee (a no-show or late cancellation fee, a ledger entry of kind "fee") is paid on the
provider's hosted page, as a course is (`booking.clinic.payments.online`), but through a
checkout of its own (`FeeCheckout`), named in the session's metadata ("fee": its uid):

1. `fee_for_link` finds the fee a signed link names; `fee_page` says how it stands
   (due, paid, waived) and what paying it now would cost.
2. `start_fee_checkout` notes a checkout (its uid is the Idempotency-Key) and asks the
   provider for the page; a page still open for the same amount is offered again.
3. The webhook (`online.handle_event`, once per event id) hands fee sessions to
   `fee_session_paid`, which records the payment against the fee's appointment once per
   payment intent, and issues and emails its receipt in the same unit of work.
4. Refunds, from the diary (`refund_fee_payment`) or Stripe's dashboard (the webhook,
   `record_fee_refunds`), are recorded once per refund id with their credit note; one
   that then fails is put back by `refund_failures`, as for any online refund.
5. A fee paid here and then waived is refunded to the card by `fees.waive_fee`, through
   `refund_fee_payment`, under a key naming the fee; the fee's page then says so.

Fees are collected by this link, never by charging a saved card: the clinic keeps no
card details.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from booking.clinic import audit
from booking.clinic.documents.automatic import (
    credit_note_for_online_refund,
    receipt_for_online_payment,
)
from booking.clinic.documents.from_ledger import refund_with_credit_note
from booking.clinic.errors import DomainError
from booking.clinic.payments import fee_links, ledger, refund_failures
from booking.clinic.payments.configured import online_payment_configured
from booking.clinic.payments.hosted_checkout import (
    CHECKOUT_LIFETIME,
    REUSE_MARGIN,
    open_page,
    provider_or_refuse,
    refund_at_provider,
)
from booking.clinic.payments.provider import CheckoutRequest
from booking.clinic.transaction import lock, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    CheckoutStatus,
    FeeCheckout,
    LedgerEntry,
    LedgerEntryKind,
    PaymentMethod,
    ProviderEventOutcome,
    StaffUser,
)

FEE_GONE = "This fee is no longer on record. Please call the clinic."
METADATA_KEY = "fee"


class FeeState(StrEnum):
    DUE = "due"
    PAID = "paid"
    WAIVED = "waived"


@dataclass(frozen=True)
class FeePage:
    """What the patient's fee page shows."""

    fee: LedgerEntry
    appointment: Appointment
    label: str
    reason: str
    state: FeeState
    # What paying now would take (the fee, or what is left of it); 0 unless due.
    to_pay_pence: int
    # Whether the page offers the online payment (due, and the clinic takes it).
    payable_online: bool
    # Paid through the link, then waived: whether that payment went back to the card
    # (waive_fee refunds it; refused, staff make it, and the page says to call).
    refunded_to_card: bool = False


def fee_for_link(appointment_uid: str, fee_kind: str) -> LedgerEntry | None:
    """The latest fee of `fee_kind` on the appointment a signed link names."""
    return db.session.scalar(
        select(LedgerEntry)
        .join(Appointment, LedgerEntry.appointment_id == Appointment.id)
        .where(
            Appointment.uid == appointment_uid,
            LedgerEntry.kind == LedgerEntryKind.FEE.value,
            LedgerEntry.fee_kind == fee_kind,
        )
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )


def paid_checkout(fee: LedgerEntry) -> FeeCheckout | None:
    return db.session.scalar(
        select(FeeCheckout).where(
            FeeCheckout.fee_entry_id == fee.id, FeeCheckout.status == CheckoutStatus.PAID
        )
    )


def _to_pay(fee: LedgerEntry, appointment: Appointment) -> int:
    """The fee, or what is left of it when part of the appointment's charges were paid
    (a deposit kept towards it, say)."""
    return fee_links.left_to_pay(fee, appointment)


def fee_page(fee: LedgerEntry) -> FeePage:
    """How the fee stands: paid (online, or nothing left owed), waived, or due."""
    appointment = fee.appointment
    if appointment is None:  # pragma: no cover - a fee is always on an appointment
        raise DomainError(FEE_GONE)
    # Paid online first: a fee waived after it was paid is still paid (and owed back).
    paid_online = paid_checkout(fee)
    refunded = False
    if paid_online is not None:
        state, to_pay = FeeState.PAID, 0
        refunded = fee.is_waived and refundable_fee_pence(paid_online) == 0
    elif fee.is_waived:
        state, to_pay = FeeState.WAIVED, 0
    else:
        to_pay = _to_pay(fee, appointment)
        state = FeeState.DUE if to_pay > 0 else FeeState.PAID
    return FeePage(
        fee=fee,
        appointment=appointment,
        label=fee_links.label(fee),
        reason=fee_links.reason(fee, appointment),
        state=state,
        to_pay_pence=to_pay,
        payable_online=state == FeeState.DUE and online_payment_configured(),
        refunded_to_card=refunded,
    )


def start_fee_checkout(
    fee: LedgerEntry, *, success_url: str, cancel_url: str, now: datetime | None = None
) -> str:
    """The hosted page's address where the patient pays `fee` (reused while open)."""
    provider = provider_or_refuse()
    now = now or utcnow()
    with unit_of_work():
        if fee.appointment_id is None:  # pragma: no cover - a fee is always on an appointment
            raise DomainError(FEE_GONE)
        # The appointment's row first, as every ledger change takes it.
        appointment = lock(Appointment, fee.appointment_id)
        fee = lock(LedgerEntry, fee.id) or _gone()
        if appointment is None:
            _gone()
        page = fee_page(fee)
        if page.state == FeeState.WAIVED:
            raise DomainError("This fee was waived, so there is nothing to pay.")
        if page.state == FeeState.PAID:
            raise DomainError("This fee is already paid. Thank you.")
        checkout = _reusable_checkout(fee, page.to_pay_pence, now)
        if checkout is not None and checkout.checkout_url:
            return checkout.checkout_url
        if checkout is None:
            checkout = FeeCheckout(
                fee_entry_id=fee.id,
                amount_pence=page.to_pay_pence,
                status=CheckoutStatus.CREATING.value,
                created_at=now,
                expires_at=now + CHECKOUT_LIFETIME,
            )
            db.session.add(checkout)
        db.session.flush()
        request = CheckoutRequest(
            description=f"{page.label}: {page.appointment.session_type.name}",
            amount_pence=checkout.amount_pence,
            success_url=success_url,
            cancel_url=cancel_url,
            metadata={METADATA_KEY: checkout.uid, "appointment": page.appointment.uid},
            idempotency_key=checkout.uid,
            customer_email=page.appointment.patient.email,
            expires_at=int(checkout.expires_at.timestamp()) if checkout.expires_at else None,
        )
        checkout_id = checkout.id
    return open_page(provider, request, FeeCheckout, checkout_id, _gone)


def _reusable_checkout(fee: LedgerEntry, amount: int, now: datetime) -> FeeCheckout | None:
    candidates = db.session.scalars(
        select(FeeCheckout)
        .where(
            FeeCheckout.fee_entry_id == fee.id,
            FeeCheckout.status == CheckoutStatus.OPEN,
            FeeCheckout.amount_pence == amount,
        )
        .order_by(FeeCheckout.id.desc())
    )
    for checkout in candidates:
        if checkout.expires_at is not None and checkout.expires_at > now + REUSE_MARGIN:
            return checkout
    return None


def _gone() -> Any:
    raise DomainError(FEE_GONE)


def returned_paid(fee: LedgerEntry, session_id: str | None) -> bool:
    """Whether the page the patient came back from is this fee's, paid (webhook recorded)."""
    if not session_id:
        return False
    checkout = db.session.scalar(
        select(FeeCheckout).where(FeeCheckout.provider_session_id == session_id[:255])
    )
    return (
        checkout is not None
        and checkout.fee_entry_id == fee.id
        and checkout.status == CheckoutStatus.PAID
    )


# From the webhook (inside online.handle_event's unit of work) ----------------------------


def is_fee_session(data: Mapping[str, Any]) -> bool:
    """Whether a checkout session event is about a fee's page (its metadata says so)."""
    metadata = data.get("metadata") or {}
    return isinstance(metadata, Mapping) and bool(metadata.get(METADATA_KEY))


def _checkout_for_session(data: Mapping[str, Any]) -> FeeCheckout | None:
    session_id = str(data.get("id") or "")
    uid = str((data.get("metadata") or {}).get(METADATA_KEY) or "")
    found = db.session.scalar(
        select(FeeCheckout.id).where(
            (FeeCheckout.provider_session_id == session_id[:255]) | (FeeCheckout.uid == uid[:64])
        )
    )
    return lock_checkout(found) if found is not None else None


def lock_checkout(checkout_id: int) -> FeeCheckout | None:
    """Lock a fee's checkout for a change, its appointment's row first: the order the
    ledger, a waiver and a cancellation take, so none of them meets this in a circle."""
    appointment_id = db.session.scalar(
        select(LedgerEntry.appointment_id)
        .join(FeeCheckout, FeeCheckout.fee_entry_id == LedgerEntry.id)
        .where(FeeCheckout.id == checkout_id)
    )
    if appointment_id is not None:
        lock(Appointment, appointment_id)
    return lock(FeeCheckout, checkout_id)


def fee_session_paid(data: Mapping[str, Any], *, now: datetime) -> str:
    """Record a paid fee session: the payment once, its receipt issued and emailed once."""
    checkout = _checkout_for_session(data)
    if checkout is None or checkout.status == CheckoutStatus.PAID:
        return ProviderEventOutcome.IGNORED.value
    fee = db.session.get(LedgerEntry, checkout.fee_entry_id)
    if fee is None or fee.appointment is None:  # pragma: no cover - cascades with the fee
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
    # Recorded even if the fee was waived meanwhile: the money has moved, and the
    # patient is then in credit for staff to refund.
    recorded = ledger.record_payment(
        fee.appointment,
        amount,
        PaymentMethod.ONLINE,
        None,
        reference=intent,
        provider_reference=intent,
        now=now,
    )
    if recorded.recorded:
        audit.record(
            None,
            "fee.paid_online",
            fee.appointment,
            fee_entry_id=fee.id,
            entry_id=recorded.entry.id,
            amount_pence=amount,
        )
        receipt_for_online_payment(recorded.entry.id, now=now)
    return ProviderEventOutcome.PROCESSED.value


def fee_session_expired(data: Mapping[str, Any]) -> str:
    checkout = _checkout_for_session(data)
    if checkout is not None and checkout.status != CheckoutStatus.PAID:
        checkout.status = CheckoutStatus.EXPIRED.value
        return ProviderEventOutcome.PROCESSED.value
    return ProviderEventOutcome.IGNORED.value


def record_fee_refunds(intent: str, refunds: Iterable[list[Any]], *, now: datetime) -> bool:
    """Refunds of a fee paid online (made in the provider's dashboard), each once.

    False when `intent` is not a fee's payment (the caller then looks elsewhere).
    """
    found = db.session.scalar(
        select(FeeCheckout.id).where(
            FeeCheckout.payment_intent == intent[:255],
            FeeCheckout.status == CheckoutStatus.PAID,
        )
    )
    if found is None:
        return False
    checkout = lock_checkout(found)
    if checkout is not None:
        _record_refunds(checkout, refunds, None, now=now)
    return True


def _record_refunds(
    checkout: FeeCheckout,
    refunds: Iterable[list[Any]],
    staff_user: StaffUser | None,
    *,
    now: datetime,
) -> None:
    """Each refund once, with its credit note, emailed; never more than was paid."""
    fee = db.session.get(LedgerEntry, checkout.fee_entry_id)
    if fee is None or fee.appointment is None:  # pragma: no cover - cascades with the fee
        return
    for refund_id, amount in refunds:
        reference = str(refund_id)[:255]
        if refund_failures.known_failed(reference) or _recorded(reference):
            continue
        if int(amount) > ledger.amount_paid(fee.appointment):
            continue
        entry, _note = refund_with_credit_note(
            fee.appointment,
            int(amount),
            PaymentMethod.ONLINE,
            staff_user,
            reference=reference,
            provider_reference=reference,
            now=now,
        )
        credit_note_for_online_refund(entry.id, now=now)


def _recorded(provider_reference: str) -> bool:
    return (
        db.session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.provider_reference == provider_reference)
        )
        is not None
    )


# Refunds from the diary ----------------------------------------------------------------------


def checkout_for_entry(entry_id: int) -> FeeCheckout | None:
    """The paid fee checkout a ledger entry (an online payment) records, if any."""
    reference = db.session.scalar(
        select(LedgerEntry.provider_reference).where(LedgerEntry.id == entry_id)
    )
    if not reference:
        return None
    return db.session.scalar(
        select(FeeCheckout).where(
            FeeCheckout.payment_intent == reference, FeeCheckout.status == CheckoutStatus.PAID
        )
    )


def refundable_fee_pence(checkout: FeeCheckout) -> int:
    """What is left to refund of a fee paid online: never more than it, or than was paid."""
    appointment = checkout.fee.appointment
    if appointment is None:  # pragma: no cover - a fee is always on an appointment
        return 0
    online = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(
            LedgerEntry.appointment_id == appointment.id,
            LedgerEntry.method == PaymentMethod.ONLINE,
            LedgerEntry.kind.in_([LedgerEntryKind.PAYMENT, LedgerEntryKind.REFUND]),
        )
    )
    return max(0, min(int(online or 0), checkout.amount_pence, ledger.amount_paid(appointment)))


def refund_fee_payment(
    checkout: FeeCheckout,
    amount_pence: int,
    *,
    staff_user: StaffUser | None,
    request_key: str,
    now: datetime | None = None,
) -> int:
    """Refund part or all of a fee paid online: through the provider first, then the ledger.

    `request_key` comes from the form, so the same form sent twice refunds once (the
    provider answers the repeated call with the first refund).
    """
    now = now or utcnow()
    checkout_id = checkout.id
    refund = refund_at_provider(
        checkout,
        amount_pence,
        refundable=lambda: refundable_fee_pence(checkout),
        request_key=request_key,
    )
    with unit_of_work():
        checkout = lock_checkout(checkout_id) or _gone()
        _record_refunds(checkout, [[refund.id, refund.amount_pence]], staff_user, now=now)
    return refund.amount_pence
