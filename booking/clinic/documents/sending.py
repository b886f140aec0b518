"""Emailing a document to the patient: the PDF goes into the outbox with the message.

The PDF is drawn when the message is queued and stored with it (outbox_attachments),
so what the patient receives is the document as it was when staff pressed the button,
and a mail server that is down for an hour delays it without losing it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.documents.titles import TITLES
from booking.clinic.errors import DomainError
from booking.clinic.notifications import queue_message
from booking.clinic.rendered import Attachment
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import Document, DocumentKind, OutboxMessage, Patient, StaffUser

KIND = "document"
GONE = "This document no longer exists."
# A second press within this time is taken for a double click, not a second request.
REPEAT_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Emailed:
    recipient: str
    queued: bool  # False: the same document was queued to the same address a moment ago


def _sent_lately(document: Document, recipient: str, now: datetime) -> bool:
    """Whether this document was queued for `recipient` within the last REPEAT_WINDOW."""
    found = db.session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.kind == KIND,
            OutboxMessage.dedupe_key.startswith(f"document:{document.reference}:"),
            OutboxMessage.recipient == recipient,
            OutboxMessage.created_at > now - REPEAT_WINDOW,
        )
        .limit(1)
    )
    return found is not None


def filename(document: Document) -> str:
    return f"{document.reference}.pdf"


def email_document(
    document_id: int, *, staff_user: StaffUser, now: datetime | None = None
) -> Emailed:
    """Queue the document's PDF to the patient's email address as held now.

    Pressing the button twice within a minute queues one message; later presses send it
    again, as a patient who lost it would ask.
    """
    # Imported here: fpdf2 is a fifth of the application's start and only drawing needs it.
    from booking.clinic.documents.pdf import render

    now = now or utcnow()
    with unit_of_work():
        document = lock_or_refuse(Document, document_id, GONE)
        patient = db.session.get(Patient, document.patient_id) if document.patient_id else None
        recipient = patient.email if patient is not None else None
        if not recipient:
            raise DomainError(
                "We hold no email address for this patient: add one on their page, "
                "or print the PDF and hand it over."
            )
        # The document's row is held, so two presses at once are one after the other.
        if _sent_lately(document, recipient, now):
            return Emailed(recipient=recipient, queued=False)
        title = TITLES[DocumentKind(document.kind)]
        queued = queue_message(
            kind=KIND,
            recipient=recipient,
            subject=f"Your {title.lower()} {document.reference}",
            template="document",
            context={"document": document, "title": title, "filename": filename(document)},
            dedupe_key=f"document:{document.reference}:{now:%Y%m%d%H%M%S%f}",
            attachments=[Attachment(filename(document), "application/pdf", render(document))],
        )
        if queued:
            audit.record(staff_user, "document.emailed", document, reference=document.reference)
    return Emailed(recipient=recipient, queued=queued)
