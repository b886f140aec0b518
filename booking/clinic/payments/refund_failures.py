"""Refunds the provider could not make: the money is back in the clinic's account.

Stripe reports a refund that failed (the card was closed, say) or was cancelled by
`refund.failed`, `refund.updated` or `charge.refund.updated` (a refund object whose
status is "failed" or "canceled"), or in a charge's list of refunds. We had recorded the
refund as made, so once per provider refund id (`RefundFailure`, unique):

- the ledger records the money coming back: an online payment of the refunded amount
  against the same appointment or course, so the patient's balance and the day's
  takings show it;
- the refund's credit note is balanced by a receipt naming it (documents are never
  changed once issued);
- it is audited, and staff see it on the appointment's or course's payments page;
- a refund reported as made after it was reported failed is not recorded.

A failure reported for a refund the ledger never recorded is noted (so that later
report is refused) and changes no money.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.documents.automatic import reversal_of_credit_note
from booking.clinic.money import format_money_exact
from booking.clinic.payments import ledger
from booking.clinic.transaction import lock
from booking.extensions import db
from booking.models import (
    Appointment,
    Course,
    LedgerEntry,
    LedgerEntryKind,
    PaymentMethod,
    RefundFailure,
    RefundFailureStatus,
)

FAILED = {status.value for status in RefundFailureStatus}
# Stripe's documented failure reasons, in staff's words.
REASONS = {
    "lost_or_stolen_card": "the card was reported lost or stolen",
    "expired_or_canceled_card": "the card has expired or was cancelled",
    "charge_for_pending_refund_disputed": "the patient disputed the payment",
    "insufficient_funds": "the clinic's Stripe balance was too low",
    "declined": "the card's bank declined it",
    "merchant_request": "it was cancelled on request",
}


@dataclass(frozen=True)
class ReportedFailure:
    refund_id: str
    amount_pence: int
    status: str
    reason: str


def failures_in(data: Mapping[str, Any]) -> list[ReportedFailure]:
    """The failed or cancelled refunds an event's object reports (a refund or a charge)."""
    if data.get("object") == "refund":
        items: Iterable[Mapping[str, Any]] = [data]
    else:
        items = (data.get("refunds") or {}).get("data") or []
    found = []
    for item in items:
        if not item.get("id") or item.get("status") not in FAILED:
            continue
        try:
            amount = int(item["amount"])
        except (KeyError, TypeError, ValueError):
            continue
        found.append(
            ReportedFailure(
                refund_id=str(item["id"])[:255],
                amount_pence=amount,
                status=str(item["status"]),
                reason=str(item.get("failure_reason") or "")[:60],
            )
        )
    return found


def known_failed(refund_id: str) -> bool:
    """Whether the provider has reported this refund as failed or cancelled."""
    found = db.session.scalar(
        select(RefundFailure.id).where(RefundFailure.refund_id == refund_id[:255])
    )
    return found is not None


def record_failures(data: Mapping[str, Any], *, now: datetime) -> bool:
    """Apply every failed refund the event reports, each once; whether any was new.

    Runs inside the webhook's unit of work.
    """
    applied = False
    for failure in failures_in(data):
        applied = record_failure(failure, now=now) or applied
    return applied


def record_failure(failure: ReportedFailure, *, now: datetime) -> bool:
    """Put a failed refund's money back in the ledger, once per refund id."""
    refund = db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.provider_reference == failure.refund_id,
            LedgerEntry.kind == LedgerEntryKind.REFUND.value,
        )
    )
    if refund is not None:
        # The target's row, as every ledger change takes it: two reports of one
        # failure at once are then one after the other.
        ledger.lock_target(_target_of(refund))
        lock(LedgerEntry, refund.id)
    if known_failed(failure.refund_id):
        return False
    record = RefundFailure(
        refund_id=failure.refund_id,
        status=failure.status,
        failure_reason=failure.reason,
        amount_pence=refund.amount_pence * -1 if refund is not None else failure.amount_pence,
        patient_id=refund.patient_id if refund is not None else None,
        refund_entry_id=refund.id if refund is not None else None,
        reported_at=now,
    )
    db.session.add(record)
    db.session.flush()
    if refund is None:
        return True
    target = _target_of(refund)
    back = ledger.record_payment(
        target,
        record.amount_pence,
        PaymentMethod.ONLINE,
        None,
        reference=f"Refund {failure.refund_id} {failure.status} at Stripe"[:120],
        provider_reference=f"{failure.refund_id}:reversed",
        now=now,
    )
    record.reversal_entry_id = back.entry.id
    document = reversal_of_credit_note(refund.id, back.entry.id, now=now)
    audit.record(
        None,
        "payment.refund_failed",
        target,
        refund_id=failure.refund_id,
        status=failure.status,
        failure_reason=failure.reason,
        amount_pence=record.amount_pence,
        refund_entry_id=refund.id,
        reversal_entry_id=back.entry.id,
        document=document.reference if document is not None else None,
    )
    return True


def _target_of(entry: LedgerEntry) -> Appointment | Course:
    target = entry.appointment if entry.appointment_id is not None else entry.course
    assert target is not None  # the ledger's CHECK names exactly one
    return target


def failures_for(target: Appointment | Course) -> list[RefundFailure]:
    """The failed refunds of an appointment's or course's payments, newest first."""
    column = (
        LedgerEntry.appointment_id if isinstance(target, Appointment) else LedgerEntry.course_id
    )
    return list(
        db.session.scalars(
            select(RefundFailure)
            .join(LedgerEntry, RefundFailure.refund_entry_id == LedgerEntry.id)
            .where(column == target.id)
            .order_by(RefundFailure.reported_at.desc(), RefundFailure.id.desc())
        )
    )


def failures_reported(starts_at: datetime, ends_at: datetime) -> list[RefundFailure]:
    """The failed refunds that put money back between two instants, oldest first."""
    return list(
        db.session.scalars(
            select(RefundFailure)
            .where(
                RefundFailure.reported_at >= starts_at,
                RefundFailure.reported_at < ends_at,
                RefundFailure.reversal_entry_id.is_not(None),
            )
            .order_by(RefundFailure.reported_at, RefundFailure.id)
        )
    )


def describe(failure: RefundFailure) -> str:
    """The message staff read, e.g. on the payments page."""
    why = REASONS.get(failure.failure_reason, "")
    said = "failed" if failure.status == RefundFailureStatus.FAILED else "was cancelled"
    return (
        f"Stripe could not make the refund of {format_money_exact(failure.amount_pence)} "
        f"({failure.refund_id}): it {said}{f' because {why}' if why else ''}. The money is "
        "back in the clinic's account and shows as paid again here and in the takings. "
        "Please contact the patient and refund them another way (cash or bank transfer)."
    )
