"""Documents issued and emailed by themselves when money moves online.

When a webhook records an online payment (a course, a fee, a deposit), the payment's
receipt is issued and queued to the patient with its PDF in the same unit of work;
when it records an online refund, so is the refund's credit note. Each is once: a
payment or refund has one document (unique on its ledger entry, whose row is locked
while it is issued), and the email's dedupe key names the document, so a webhook
delivered twice, or two workers at once, issue one number and send one email.

A refund that fails at the provider after its credit note was issued is balanced by a
receipt naming that credit note (`reversal_of_credit_note`), emailed to the patient
with a few words saying the refund did not reach them and that the clinic will contact
them to refund it another way; once, by the same dedupe key.
"""

from datetime import datetime
from typing import Any

from booking.clinic.documents.from_ledger import (
    ENTRY_GONE,
    document_for_entry,
    issue_credit_note,
    issue_receipt,
)
from booking.clinic.documents.issuing import ClaimDetails, Line, course_practitioner, issue
from booking.clinic.documents.sending import KIND, filename
from booking.clinic.documents.titles import TITLES
from booking.clinic.localtime import local_today
from booking.clinic.notifications import queue_message
from booking.clinic.payments.ledger import method_label
from booking.clinic.rendered import Attachment
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import Appointment, Course, Document, DocumentKind, LedgerEntry, Patient


def email_once(
    document: Document,
    *,
    subject: str = "",
    template: str = "document_automatic",
    context: dict[str, Any] | None = None,
) -> bool:
    """Queue the document's PDF to the patient, once ever for this automatic email.

    Joins the caller's unit of work. False when the patient has no email address or the
    message was queued already.
    """
    # Imported here: fpdf2 is a fifth of the application's start and only drawing needs it.
    from booking.clinic.documents.pdf import render

    patient = db.session.get(Patient, document.patient_id) if document.patient_id else None
    if patient is None or not patient.email:
        return False
    title = TITLES[DocumentKind(document.kind)]
    return queue_message(
        kind=KIND,
        recipient=patient.email,
        subject=subject or f"Your {title.lower()} {document.reference}",
        template=template,
        context={
            "document": document,
            "title": title,
            "filename": filename(document),
            **(context or {}),
        },
        dedupe_key=f"document:{document.reference}:automatic",
        attachments=[Attachment(filename(document), "application/pdf", render(document))],
    )


def receipt_for_online_payment(payment_id: int, *, now: datetime | None = None) -> Document:
    """Issue the receipt of an online payment (ledger entry `payment_id`) and email it, once.

    Call it in the unit of work that records the payment. Asking again for the same
    payment returns the same receipt and queues nothing more.
    """
    now = now or utcnow()
    with unit_of_work():
        document = issue_receipt(payment_id, claim=ClaimDetails(), staff_user=None, now=now)
        email_once(document)
    return document


def credit_note_for_online_refund(refund_id: int, *, now: datetime | None = None) -> Document:
    """Issue (or find) the credit note of an online refund and email it, once."""
    now = now or utcnow()
    with unit_of_work():
        document = issue_credit_note(refund_id, staff_user=None, now=now)
        email_once(document)
    return document


def reversal_of_credit_note(
    refund_id: int, reversal_id: int, *, now: datetime | None = None
) -> Document | None:
    """Balance the credit note of a refund that failed, once: a receipt naming it.

    The credit note said the money went back; it did not, so a receipt for the money
    put back (ledger entry `reversal_id`) names the credit note it cancels. Documents
    are never changed once issued. None when the refund had no credit note.
    """
    now = now or utcnow()
    with unit_of_work():
        reversal = lock_or_refuse(LedgerEntry, reversal_id, ENTRY_GONE)
        existing = document_for_entry(reversal.id)
        if existing is not None:
            return existing
        credit_note = document_for_entry(refund_id)
        if credit_note is None:
            return None
        target = reversal.appointment if reversal.appointment_id is not None else reversal.course
        practitioner = None
        if isinstance(target, Appointment):
            practitioner = target.practitioner
        elif isinstance(target, Course):
            practitioner = course_practitioner(target)
        first = credit_note.lines[0] if credit_note.lines else None
        described = (first.description if first else "").removeprefix("Refund: ")
        balancing = issue(
            DocumentKind.RECEIPT,
            patient=reversal.patient,
            practitioner=practitioner,
            lines=[
                Line(
                    f"Refund on {credit_note.reference} not made: {described}".strip(),
                    reversal.amount_pence,
                    first.treatment_on if first else None,
                    first.practitioner_name if first else "",
                )
            ],
            staff_user=None,
            claim=ClaimDetails(
                insurer=credit_note.insurer,
                membership_number=credit_note.membership_number,
                authorisation_code=credit_note.authorisation_code,
            ),
            paid_pence=reversal.amount_pence,
            method=method_label(reversal.method),
            paid_on=local_today(reversal.recorded_at, clinic_settings().zone),
            appointment=target if isinstance(target, Appointment) else None,
            course=target if isinstance(target, Course) else None,
            original=credit_note,
            ledger_entry=reversal,
            now=now,
        )
        # The patient was emailed the credit note; they are told, with this receipt,
        # that the refund did not reach them. Once: the key names the receipt.
        email_once(
            balancing,
            subject=f"Your refund did not go through: receipt {balancing.reference}",
            template="refund_not_made",
            context={"original": credit_note},
        )
        return balancing
