"""The communications log: every message to or about a patient, in plain words, with resend.

"Did Mrs X get her confirmation?" is answered from the outbox itself: each message
says what it was, to whom (the address half hidden), and what became of it, as a
receptionist would say it ("Confirmation email sent to j…@example.com on Tue 3 Mar at
10:02"; "Not sent: the mail server refused the connection; will try again at 10:10"),
never as the Python error the worker stored.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.localtime import to_local
from booking.clinic.notifications import Kind
from booking.clinic.patients import messages_about
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    OutboxAttachment,
    OutboxMessage,
    OutboxStatus,
    Patient,
    StaffUser,
)

WHAT: dict[str, str] = {
    Kind.CONFIRMATION: "Confirmation email",
    Kind.MOVED: "New-time email",
    Kind.CANCELLED: "Cancellation email",
    Kind.REMINDER: "Reminder email",
    Kind.COURSE_REQUESTED: "Course request email",
    Kind.COURSE_ACTIVATED: "Course ready email",
    Kind.COURSE_PLANNED: "Course plan email",
    Kind.COURSE_SESSION: "Course session email",
    Kind.WAITING_LIST_JOINED: "Waiting-list email",
    Kind.WAITING_LIST_OFFER: "Waiting-list offer",
    Kind.RESTORED: "Booked-again email",
    Kind.HOLD_RELEASED: "Time-released email",
    Kind.DEPOSIT_REFUND_DUE: "Deposit refund email",
    Kind.CONFIRM_EMAIL: "Email-address check",
    "fee_due": "Fee payment link",
    "document": "Invoice or receipt email",
    "red_flag_alert": "Pre-visit check notice to the practitioner",
}

# What the worker's stored error means, in words for the desk (first match wins).
ERROR_WORDS: list[tuple[tuple[str, ...], str]] = [
    (("ConnectionRefused", "Errno 111"), "the mail server refused the connection"),
    (("Timeout", "timed out"), "the mail server did not answer in time"),
    (("gaierror", "Name or service not known"), "the mail server's address could not be found"),
    (("SMTPAuthenticationError",), "the mail server did not accept our sign-in"),
    (("SMTPRecipientsRefused",), "the mail server refused the patient's address"),
    (("SMTPSenderRefused",), "the mail server refused the clinic's sending address"),
    (("SMTPServerDisconnected", "ConnectionReset"), "the mail server hung up"),
    (("No sender is registered",), "there is no way to send this kind of message yet"),
    (("SSL", "TLS", "certificate"), "a secure connection to the mail server failed"),
]


def plain_error(last_error: str) -> str:
    for needles, words in ERROR_WORDS:
        if any(needle in last_error for needle in needles):
            return words
    return "the mail server reported a problem"


def masked(address: str) -> str:
    """j…@example.com: enough to confirm with the caller, not to read out a stranger's."""
    name, at, domain = (address or "").partition("@")
    if not at:
        return "…" if address else "no address"
    return f"{name[:1]}…@{domain}"


def _when(instant: datetime) -> str:
    local = to_local(instant, clinic_settings().zone)
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M}"


def what(message: OutboxMessage) -> str:
    if message.kind.startswith("reception_"):
        return "Notice to reception"
    return WHAT.get(message.kind, "Email")


def in_words(message: OutboxMessage) -> str:
    """One line for the desk, e.g. "Confirmation email sent to j…@example.com on Tue 3 Mar
    at 10:02"."""
    to = masked(message.recipient)
    if message.status == OutboxStatus.SENT and message.sent_at is not None:
        return f"{what(message)} sent to {to} on {_when(message.sent_at)}"
    if message.status == OutboxStatus.FAILED:
        return (
            f"{what(message)} to {to}: not sent: {plain_error(message.last_error)}. We have "
            "stopped trying: resend it, or contact the patient another way."
        )
    if message.last_error:
        return (
            f"{what(message)} to {to}: not sent yet: {plain_error(message.last_error)}; "
            f"will try again on {_when(message.next_attempt_at)}"
        )
    return f"{what(message)} to {to}: queued on {_when(message.created_at)}, waiting to be sent"


@dataclass(frozen=True)
class LogLine:
    message: OutboxMessage
    words: str
    appointment_id: int | None


def _lines(messages: list[OutboxMessage]) -> list[LogLine]:
    return [LogLine(m, in_words(m), m.appointment_id) for m in messages]


def patient_log(patient: Patient, limit: int = 100) -> list[LogLine]:
    """Every message to or about the patient, newest first."""
    return _lines(
        list(
            db.session.scalars(
                select(OutboxMessage)
                .where(messages_about(patient))
                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                .limit(limit)
            )
        )
    )


def appointment_log(appointment: Appointment) -> list[LogLine]:
    return _lines(
        list(
            db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.appointment_id == appointment.id)
                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            )
        )
    )


def patients_log(patients: list[Patient], limit: int = 200) -> list[tuple[Patient, LogLine]]:
    """For the outbox search: the messages of each patient found, newest first."""
    found: list[tuple[Patient, LogLine]] = []
    for patient in patients:
        found += [(patient, line) for line in patient_log(patient, limit)]
    found.sort(key=lambda pair: pair[1].message.created_at, reverse=True)
    return found[:limit]


def sent_messages(limit: int = 50) -> list[LogLine]:
    return _lines(
        list(
            db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENT.value)
                .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
                .limit(limit)
            )
        )
    )


RESENT = "~resend:"


def _resend_key(original: OutboxMessage, now: datetime) -> str:
    """The copy's key keeps the original's (without an earlier resend's suffix), so the
    copy is found wherever the original is: the patient's log finds course, waiting-list
    and document messages by their key."""
    base = (original.dedupe_key or f"message:{original.id}").split(RESENT)[0]
    suffix = f"{RESENT}{now:%Y%m%dT%H%M%S%f}"
    return f"{base[: 120 - len(suffix)]}{suffix}"


def resend(message_id: int, *, staff_user: StaffUser, now: datetime | None = None) -> OutboxMessage:
    """Queue a fresh copy of a message (sent or given up) to the same address. Audited."""
    now = now or utcnow()
    with unit_of_work() as session:
        original = lock(OutboxMessage, message_id)
        if original is None or not original.recipient:
            raise DomainError("That message no longer exists.")
        if original.status == OutboxStatus.PENDING:
            raise DomainError("That message is still waiting to be sent: no need to resend it.")
        copy = OutboxMessage(
            channel=original.channel,
            kind=original.kind,
            dedupe_key=_resend_key(original, now),
            recipient=original.recipient,
            subject=original.subject,
            text_body=original.text_body,
            html_body=original.html_body,
            ics=original.ics,
            ics_method=original.ics_method,
            appointment_id=original.appointment_id,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            last_error="",
            created_at=now,
        )
        # A receipt resent without its PDF would say "attached" and attach nothing.
        copy.attachments = [
            OutboxAttachment(
                filename=attachment.filename,
                content_type=attachment.content_type,
                content=attachment.content,
            )
            for attachment in original.attachments
        ]
        session.add(copy)
        session.flush()
        audit.record(staff_user, "outbox.resent", original, copy_id=copy.id)
    return copy
