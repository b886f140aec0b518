"""Finding issued documents again: for an appointment, a course, a patient."""

from dataclasses import dataclass

from sqlalchemy import select

from booking.clinic.payments import ledger
from booking.extensions import db
from booking.models import Appointment, Course, Document, LedgerEntry, LedgerEntryKind


def documents_for(
    *,
    appointment_id: int | None = None,
    course_id: int | None = None,
    patient_id: int | None = None,
) -> list[Document]:
    """The documents issued for one appointment, course or patient, oldest first."""
    statement = select(Document).order_by(Document.issued_at, Document.id)
    if appointment_id is not None:
        statement = statement.where(Document.appointment_id == appointment_id)
    if course_id is not None:
        statement = statement.where(Document.course_id == course_id)
    if patient_id is not None:
        statement = statement.where(Document.patient_id == patient_id)
    return list(db.session.scalars(statement))


@dataclass(frozen=True)
class EntryDocument:
    """A payment or refund and the receipt or credit note issued for it (None: not yet)."""

    entry: LedgerEntry
    document: Document | None

    @property
    def label(self) -> str:
        return "Payment" if self.entry.kind == LedgerEntryKind.PAYMENT else "Refund"

    @property
    def amount_pence(self) -> int:
        return abs(self.entry.amount_pence)

    @property
    def method(self) -> str:
        return ledger.method_label(self.entry.method)


@dataclass(frozen=True)
class DocumentsPanel:
    """What the appointment and course pages show under "Invoices and receipts"."""

    documents: list[Document]
    money: list[EntryDocument]
    due_pence: int


def panel(target: Appointment | Course) -> DocumentsPanel:
    if isinstance(target, Appointment):
        documents = documents_for(appointment_id=target.id)
    else:
        documents = documents_for(course_id=target.id)
    by_entry = {document.ledger_entry_id: document for document in documents}
    money = [
        EntryDocument(entry, by_entry.get(entry.id))
        for entry in ledger.entries_for(target)
        if entry.kind in (LedgerEntryKind.PAYMENT, LedgerEntryKind.REFUND)
    ]
    return DocumentsPanel(documents, money, ledger.amount_due(target))


def documents_by_entry(target: Appointment | Course) -> dict[int, Document]:
    """The receipt or credit note of each of the target's payments and refunds."""
    if isinstance(target, Appointment):
        documents = documents_for(appointment_id=target.id)
    else:
        documents = documents_for(course_id=target.id)
    return {
        document.ledger_entry_id: document
        for document in documents
        if document.ledger_entry_id is not None
    }
