"""Sending the outbox: claim due messages, send them over SMTP, retry with backoff.

Messages were rendered when they were queued (see `notifications`), so sending
is only delivery. Several workers may run at once: a worker first claims a
batch in a short transaction (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED;
SQLite: the write lock taken by `begin_write`) by setting `claimed_until`, and
only the worker holding the claim sends the message. A failed attempt is
recorded with its error and tried again later, waiting twice as long each
time; after MAX_ATTEMPTS the message is marked failed and stays for staff to
see and retry. Nothing is ever deleted.

Delivery is at least once, never "at most once": if a worker dies after the
SMTP server accepted a message but before recording it, the claim runs out and
the message is sent again. Claims last far longer than one SMTP conversation
(MAIL_TIMEOUT), so two live workers never send the same message.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from booking.clinic import DomainError, audit
from booking.clinic.calendar import clinic_mailbox
from booking.clinic.email_message import OutgoingEmail, outgoing_email
from booking.clinic.mail_delivery import default_sender, deliver
from booking.database import begin_write, utcnow
from booking.extensions import db
from booking.models import OutboxMessage, OutboxStatus, StaffUser

log = logging.getLogger("booking.outbox")

MAX_ATTEMPTS = 8
FIRST_RETRY_AFTER = timedelta(minutes=2)
LONGEST_RETRY_AFTER = timedelta(hours=2)
CLAIM_FOR = timedelta(minutes=5)
BATCH_SIZE = 50
# Long enough for staff to read; SMTP errors are short.
ERROR_LENGTH = 1000


@dataclass
class SendReport:
    """What one pass of the sender did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: 2, 4, 8 ... minutes, at most 2 hours.

    With MAX_ATTEMPTS of 8 a message is retried for about five hours (an SMTP
    provider's outage) before it is marked failed for staff.
    """
    delay: timedelta = FIRST_RETRY_AFTER * 2 ** max(attempts - 1, 0)
    return min(delay, LONGEST_RETRY_AFTER)


def claim(now: datetime | None = None, *, limit: int = BATCH_SIZE) -> list[tuple[int, datetime]]:
    """Claim up to `limit` due messages for this worker; returns (id, claimed_until) pairs.

    A message is due when it is pending, its next attempt time has come and no
    other worker holds a live claim on it.
    """
    now = now or utcnow()
    claimed_until = now + CLAIM_FOR
    begin_write(db.session)
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped, not waited for.
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(claimed_until=claimed_until)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return [(message_id, claimed_until) for message_id in ids]


def outgoing(message: OutboxMessage) -> OutgoingEmail:
    """The email for an outbox row, with the clinic's mailbox as Reply-To."""
    return outgoing_email(message, sender=default_sender(), reply_to=clinic_mailbox())


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_LENGTH]


def _send_one(message_id: int, claimed_until: datetime, now: datetime | None) -> str | None:
    """Send one claimed message and record the outcome; returns the new status, or None.

    None means the claim was lost (another worker took the message over after our
    claim ran out) or the message is no longer pending, so nothing was sent.
    """
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if (
        message is None
        or message.status != OutboxStatus.PENDING
        or message.claimed_until != claimed_until
    ):
        db.session.rollback()
        return None
    email = outgoing(message)
    # Don't hold a transaction (on SQLite, a read snapshot) open during the SMTP conversation.
    db.session.commit()
    error = None
    try:
        deliver(email)
    except Exception as caught:  # any failure is recorded and retried
        error = caught

    finished_at = now or utcnow()
    begin_write(db.session)
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        # Withdrawn while we were sending (a reminder whose appointment was cancelled).
        db.session.commit()
        return None
    message.attempts += 1
    message.claimed_until = None
    if error is None:
        message.status = OutboxStatus.SENT.value
        message.sent_at = finished_at
        message.last_error = ""
        log.info("outbox message %s (%s) sent", message.id, message.kind)
    else:
        message.last_error = _describe(error)
        if message.attempts >= MAX_ATTEMPTS:
            message.status = OutboxStatus.FAILED.value
            log.error(
                "outbox message %s (%s) failed for good after %s attempts (%s)",
                message.id,
                message.kind,
                message.attempts,
                type(error).__name__,
            )
        else:
            message.next_attempt_at = finished_at + retry_delay(message.attempts)
            # The error's class only: SMTP error text can quote the recipient's address.
            log.warning(
                "outbox message %s (%s) attempt %s failed (%s); retrying",
                message.id,
                message.kind,
                message.attempts,
                type(error).__name__,
            )
    status = message.status
    db.session.commit()
    return status


def send_due(
    now: datetime | None = None, *, limit: int | None = None, batch_size: int = BATCH_SIZE
) -> SendReport:
    """Send every message that is due now, batch by batch, and report what happened.

    Messages that fail are rescheduled for later, so one call always ends.
    `now` stands in for the clock (tests); `limit` caps how many are attempted;
    `batch_size` is how many one claim takes.
    """
    report = SendReport()
    while limit is None or report.attempted < limit:
        batch = batch_size if limit is None else min(batch_size, limit - report.attempted)
        claimed = claim(now, limit=batch)
        if not claimed:
            break
        for message_id, claimed_until in claimed:
            status = _send_one(message_id, claimed_until, now)
            if status == OutboxStatus.SENT:
                report.sent += 1
            elif status == OutboxStatus.FAILED:
                report.failed += 1
            elif status == OutboxStatus.PENDING:
                report.retrying += 1
    return report


def queue_reminders(now: datetime | None = None) -> int:
    """Queue a reminder for each booked appointment starting within the reminder window.

    The window is ClinicSettings.reminder_hours_before. An appointment booked
    when it was already inside the window is skipped: its confirmation has just
    told the patient. Running this again queues nothing
    twice; returns how many reminders were new.
    """
    from booking.clinic import notifications
    from booking.clinic.settings import clinic_settings
    from booking.models import Appointment, AppointmentStatus, Patient

    now = now or utcnow()
    window = timedelta(hours=clinic_settings().reminder_hours_before)
    begin_write(db.session)
    appointments = db.session.scalars(
        select(Appointment)
        .join(Patient, Appointment.patient_id == Patient.id)
        .where(
            Appointment.status == AppointmentStatus.BOOKED.value,
            Appointment.starts_at > now,
            Appointment.starts_at <= now + window,
            Patient.email.is_not(None),
            Patient.email != "",
        )
        .order_by(Appointment.starts_at)
    ).all()
    before = _count_reminders()
    for appointment in appointments:
        if appointment.created_at > appointment.starts_at - window:
            continue
        notifications.appointment_reminder(appointment)
    queued = _count_reminders() - before
    db.session.commit()
    return queued


def _count_reminders() -> int:
    from booking.clinic.notifications import Kind

    return db.session.execute(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == Kind.REMINDER)
    ).scalar_one()


def waiting_messages(limit: int = 200) -> list[OutboxMessage]:
    """Failed messages first (they need staff), then pending ones, oldest first."""
    failed_first = (OutboxMessage.status == OutboxStatus.PENDING.value).asc()
    waiting = [OutboxStatus.FAILED.value, OutboxStatus.PENDING.value]
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_(waiting))
            .order_by(failed_first, OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        )
    )


def failed_count() -> int:
    """How many messages gave up; the diary shows this so that none is missed."""
    return db.session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED.value)
    ).scalar_one()


def retry(message_id: int, *, staff_user: StaffUser | None, now: datetime | None = None) -> None:
    """Put a failed message back in the queue for a fresh round of attempts."""
    now = now or utcnow()
    begin_write(db.session)
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        raise DomainError("That message no longer exists.")
    if message.status != OutboxStatus.FAILED:
        raise DomainError("Only a failed message can be sent again.")
    message.status = OutboxStatus.PENDING.value
    message.attempts = 0
    message.next_attempt_at = now
    message.claimed_until = None
    audit.record(staff_user, "outbox.retried", message, kind=message.kind)
    db.session.commit()
