"""Invoices, receipts and credit notes for what the ledger holds (booking.clinic.payments).

    issue_invoice(target, claim, staff_user)      what is due for an appointment or course,
                                                  with what has been paid so far
    issue_receipt(payment_id, claim, staff_user)  one payment; asking again for the same
                                                  payment gives the same receipt
    issue_credit_note(refund_id, staff_user)      one refund, naming the receipt (or else the
                                                  invoice) it corrects
    refund_with_credit_note(target, amount_pence, method, staff_user)
                                                  the refund and its credit note, one change

A receipt or credit note is tied to its ledger entry (unique), and the entry's row is
locked while the document is issued, so two desks asking at once get one document.
"""

from datetime import date, datetime

from sqlalchemy import select

from booking.clinic.documents.issuing import (
    ClaimDetails,
    Line,
    appointment_line,
    course_line,
    course_practitioner,
    issue,
)
from booking.clinic.errors import DomainError
from booking.clinic.localtime import local_today
from booking.clinic.payments import ledger
from booking.clinic.payments.fee_labels import FEE_LABELS
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.extensions import db
from booking.models import (
    Appointment,
    Course,
    Document,
    DocumentKind,
    LedgerEntry,
    LedgerEntryKind,
    PaymentMethod,
    Practitioner,
    StaffUser,
)

ENTRY_GONE = "That payment is no longer in the ledger."

Target = Appointment | Course


def _practitioner(target: Target) -> Practitioner | None:
    if isinstance(target, Appointment):
        return target.practitioner
    return course_practitioner(target)


def _target_of(entry: LedgerEntry) -> Target:
    target = entry.appointment if entry.appointment_id is not None else entry.course
    if target is None:  # pragma: no cover - the ledger's CHECK names exactly one
        raise DomainError(ENTRY_GONE)
    return target


def _base_line(target: Target) -> Line:
    return appointment_line(target) if isinstance(target, Appointment) else course_line(target)


def lines_due(target: Target) -> list[Line]:
    """What is charged for the target: its price (where due) and each fee not waived."""
    base = _base_line(target)
    price = ledger.price_due(target)
    lines = [Line(base.description, price, base.treatment_on, base.practitioner_name)]
    if not price:
        lines = []
    for entry in ledger.entries_for(target):
        if entry.kind == LedgerEntryKind.FEE and not entry.is_waived:
            label = FEE_LABELS.get(entry.fee_kind or "", "Fee")
            lines.append(
                Line(
                    f"{label}: {base.description}",
                    entry.amount_pence,
                    base.treatment_on,
                    base.practitioner_name,
                )
            )
    return lines


def _method_text(entry: LedgerEntry) -> str:
    return ledger.method_label(entry.method)


def _entry_day(entry: LedgerEntry) -> date:
    return local_today(entry.recorded_at, clinic_settings().zone)


def issue_invoice(
    target: Target, *, claim: ClaimDetails, staff_user: StaffUser, now: datetime | None = None
) -> Document:
    """An invoice for what the appointment or course costs (fees included), as of now."""
    with unit_of_work():
        target = ledger.lock_target(target)
        lines = lines_due(target)
        if not lines:
            if isinstance(target, Appointment) and target.course_id is not None:
                raise DomainError(
                    "This session is part of a course: issue the invoice for the course instead."
                )
            raise DomainError("Nothing is charged for this, so there is nothing to invoice.")
        return issue(
            DocumentKind.INVOICE,
            patient=target.patient,
            practitioner=_practitioner(target),
            lines=lines,
            staff_user=staff_user,
            claim=claim,
            paid_pence=max(ledger.amount_paid(target), 0),
            appointment=target if isinstance(target, Appointment) else None,
            course=target if isinstance(target, Course) else None,
            now=now,
        )


def document_for_entry(entry_id: int) -> Document | None:
    return db.session.scalar(select(Document).where(Document.ledger_entry_id == entry_id))


def issue_receipt(
    payment_id: int,
    *,
    claim: ClaimDetails,
    staff_user: StaffUser | None,
    now: datetime | None = None,
) -> Document:
    """The receipt for one payment: the charge it was for and the amount paid.

    A payment already receipted gives its receipt back (no second number).
    """
    with unit_of_work():
        entry = lock_or_refuse(LedgerEntry, payment_id, ENTRY_GONE)
        if entry.kind != LedgerEntryKind.PAYMENT:
            raise DomainError("A receipt is issued for a payment, not for a refund or a fee.")
        existing = document_for_entry(entry.id)
        if existing is not None:
            return existing
        target = _target_of(entry)
        lines = lines_due(target) or [
            Line(
                _base_line(target).description,
                entry.amount_pence,
                _base_line(target).treatment_on,
                _base_line(target).practitioner_name,
            )
        ]
        return issue(
            DocumentKind.RECEIPT,
            patient=target.patient,
            practitioner=_practitioner(target),
            lines=lines,
            staff_user=staff_user,
            claim=claim,
            paid_pence=entry.amount_pence,
            method=_method_text(entry),
            paid_on=_entry_day(entry),
            appointment=target if isinstance(target, Appointment) else None,
            course=target if isinstance(target, Course) else None,
            ledger_entry=entry,
            now=now,
        )


def _original_for(target: Target) -> Document | None:
    """The latest receipt issued for the target's payments, else its latest invoice."""
    column = Document.appointment_id if isinstance(target, Appointment) else Document.course_id
    documents = list(
        db.session.scalars(
            select(Document)
            .where(
                column == target.id,
                Document.kind.in_([DocumentKind.RECEIPT.value, DocumentKind.INVOICE.value]),
            )
            .order_by(Document.id.desc())
        )
    )
    for kind in (DocumentKind.RECEIPT, DocumentKind.INVOICE):
        for document in documents:
            if document.kind == kind:
                return document
    return None


def issue_credit_note(
    refund_id: int, *, staff_user: StaffUser | None, now: datetime | None = None
) -> Document:
    """The credit note for one refund; a refund already credited gives its note back."""
    with unit_of_work():
        entry = lock_or_refuse(LedgerEntry, refund_id, ENTRY_GONE)
        if entry.kind != LedgerEntryKind.REFUND:
            raise DomainError("A credit note is issued for a refund.")
        existing = document_for_entry(entry.id)
        if existing is not None:
            return existing
        target = _target_of(entry)
        base = _base_line(target)
        refunded = -entry.amount_pence
        original = _original_for(target)
        return issue(
            DocumentKind.CREDIT_NOTE,
            patient=target.patient,
            practitioner=_practitioner(target),
            lines=[
                Line(
                    f"Refund: {base.description}",
                    refunded,
                    base.treatment_on,
                    base.practitioner_name,
                )
            ],
            staff_user=staff_user,
            claim=ClaimDetails(
                insurer=original.insurer if original else "",
                membership_number=original.membership_number if original else "",
                authorisation_code=original.authorisation_code if original else "",
            ),
            paid_pence=refunded,
            method=_method_text(entry),
            paid_on=_entry_day(entry),
            appointment=target if isinstance(target, Appointment) else None,
            course=target if isinstance(target, Course) else None,
            original=original,
            ledger_entry=entry,
            now=now,
        )


def refund_with_credit_note(
    target: Target,
    amount_pence: int,
    method: PaymentMethod | str,
    staff_user: StaffUser | None,
    reference: str | None = None,
    provider_reference: str | None = None,
    *,
    now: datetime | None = None,
) -> tuple[LedgerEntry, Document]:
    """Give money back and issue its credit note, both or neither (one unit of work)."""
    with unit_of_work():
        entry = ledger.record_refund(
            target,
            amount_pence,
            method,
            staff_user,
            reference,
            provider_reference,
            now=now,
        )
        document = issue_credit_note(entry.id, staff_user=staff_user, now=now)
    return entry, document
