"""Emailing a document to the patient: the PDF goes into the outbox with the message.

The PDF is drawn when the message is queued and stored with it (outbox_attachments),
so what the patient receives is the document as it was when staff pressed the button,
and a mail server that is down for an hour delays it without losing it.
"""

from dataclasses import dataclass
from datetime import datetime

from booking.clinic import audit
from booking.clinic.documents.pdf import TITLES, render
from booking.clinic.errors import DomainError
from booking.clinic.notifications import queue_message
from booking.clinic.rendered import Attachment
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import Document, DocumentKind, Patient, StaffUser

KIND = "document"
GONE = "This document no longer exists."


@dataclass(frozen=True)
class Emailed:
    recipient: str
    queued: bool  # False: the same document went to the same address within the minute


def filename(document: Document) -> str:
    return f"{document.reference}.pdf"


def email_document(
    document_id: int, *, staff_user: StaffUser, now: datetime | None = None
) -> Emailed:
    """Queue the document's PDF to the patient's email address as held now.

    Pressing the button twice within a minute queues one message (the second is
    recognised by its dedupe key); later presses send it again, as a patient who lost
    it would ask.
    """
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
        title = TITLES[DocumentKind(document.kind)]
        queued = queue_message(
            kind=KIND,
            recipient=recipient,
            subject=f"Your {title.lower()} {document.reference}",
            template="document",
            context={"document": document, "title": title, "filename": filename(document)},
            dedupe_key=f"document:{document.reference}:{recipient}:{now:%Y%m%d%H%M}",
            attachments=[Attachment(filename(document), "application/pdf", render(document))],
        )
        if queued:
            audit.record(staff_user, "document.emailed", document, reference=document.reference)
    return Emailed(recipient=recipient, queued=queued)
