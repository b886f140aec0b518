"""Numbered money documents (invoices, receipts, credit notes) as they were issued.

A document is a snapshot: the clinic's, practitioner's and patient's details, the
lines, the amounts and the VAT are copied onto its rows when it is issued, so a later
change of address, name or price never changes a document a patient or an insurer
already holds. Nothing updates a document after it is issued; a mistake is put right
with a credit note.

Numbers come from `DocumentCounter`, one row per kind, taken FOR UPDATE in the unit of
work that writes the document (booking.clinic.documents.numbering), so a number is
used once and a rolled-back issue gives its number back.
"""

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.enums import DocumentKind, one_of


class DocumentCounter(Model):
    """The last number given in one series (a DocumentKind): the row issuing locks."""

    __tablename__ = "document_counters"
    __table_args__ = (
        one_of("kind", DocumentKind, "kind_known"),
        CheckConstraint("last_number >= 0", name="last_number_not_negative"),
    )

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Document(Model):
    """One issued invoice, receipt or credit note, with everything it shows."""

    __tablename__ = "documents"
    __table_args__ = (
        one_of("kind", DocumentKind, "kind_known"),
        UniqueConstraint("kind", "number"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("net_pence >= 0", name="net_not_negative"),
        CheckConstraint("vat_pence >= 0", name="vat_not_negative"),
        CheckConstraint("gross_pence = net_pence + vat_pence", name="gross_is_net_plus_vat"),
        CheckConstraint("paid_pence >= 0", name="paid_not_negative"),
        CheckConstraint(
            "vat_rate_basis_points is null or vat_rate_basis_points between 0 and 10000",
            name="vat_rate_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column(Integer)
    # The number as printed, e.g. "INV-000123": unique, since each kind has its prefix.
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The clinic's local date of issue, as printed.
    issued_on: Mapped[date] = mapped_column(Date)
    issued_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # What it is about (for finding it again); the printed details are the copies below.
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), index=True
    )
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), index=True
    )
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), index=True
    )
    # A credit note names the document it corrects.
    original_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    # A receipt's payment, a credit note's refund (booking.models.payments): one document
    # each, so asking again for the same payment's receipt gives the same document.
    ledger_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id"), unique=True
    )

    # The clinic as at issue.
    clinic_name: Mapped[str] = mapped_column(String(120))
    clinic_address: Mapped[str] = mapped_column(String(300))
    clinic_phone: Mapped[str] = mapped_column(String(40), default="")
    clinic_email: Mapped[str] = mapped_column(String(254), default="")
    # Both set when the clinic was VAT-registered at issue; both None when exempt.
    vat_number: Mapped[str | None] = mapped_column(String(20))
    vat_rate_basis_points: Mapped[int | None] = mapped_column(Integer)

    # The practitioner and patient as at issue.
    practitioner_name: Mapped[str] = mapped_column(String(120), default="")
    practitioner_body: Mapped[str] = mapped_column(String(120), default="")
    practitioner_registration: Mapped[str] = mapped_column(String(60), default="")
    patient_name: Mapped[str] = mapped_column(String(120))
    patient_address: Mapped[str] = mapped_column(Text, default="")
    patient_date_of_birth: Mapped[date | None] = mapped_column(Date)

    # For a patient claiming from an insurer or cash plan.
    insurer: Mapped[str] = mapped_column(String(120), default="")
    membership_number: Mapped[str] = mapped_column(String(60), default="")
    authorisation_code: Mapped[str] = mapped_column(String(60), default="")

    # Amounts in pence. Prices include VAT: gross is what the patient pays.
    net_pence: Mapped[int] = mapped_column(Integer)
    vat_pence: Mapped[int] = mapped_column(Integer, default=0)
    gross_pence: Mapped[int] = mapped_column(Integer)
    # Paid against it when issued (a receipt: the payment; an invoice: paid so far).
    paid_pence: Mapped[int] = mapped_column(Integer, default=0)
    # How it was paid, as printed ("Card", "Cash"...); "" when nothing was paid.
    method: Mapped[str] = mapped_column(String(60), default="")
    paid_on: Mapped[date | None] = mapped_column(Date)

    lines: Mapped[list["DocumentLine"]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        order_by="DocumentLine.position",
    )
    original: Mapped["Document | None"] = relationship(remote_side=[id])

    @property
    def balance_pence(self) -> int:
        return self.gross_pence - self.paid_pence


class DocumentLine(Model):
    """One line of a document: the treatment, its date and its amount (VAT included)."""

    __tablename__ = "document_lines"
    __table_args__ = (
        UniqueConstraint("document_id", "position"),
        CheckConstraint("amount_pence >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    # The day of the treatment, in the clinic's time (None for a course bought ahead).
    treatment_on: Mapped[date | None] = mapped_column(Date)
    practitioner_name: Mapped[str] = mapped_column(String(120), default="")
    amount_pence: Mapped[int] = mapped_column(Integer)

    document: Mapped[Document] = relationship(back_populates="lines")
