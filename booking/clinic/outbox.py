"""Sending the outbox: claim due messages, hand each to its channel's sender, retry with backoff.

Messages were rendered when they were queued (see `notifications`), so sending is
only delivery, by the sender registered for the message's channel (`channels`).
Several workers may run at once. A worker claims a few due messages in a short unit
of work (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED; SQLite: the write lock) by
writing its token in `claimed_by` and a short lease in `claimed_until`; only the
worker holding the claim sends the message. While it works through its claims a
heartbeat thread pushes the lease forward every sixth of it, so a claim lapses
only when its worker is gone: a worker killed mid-batch (SIGKILL, a crashed machine)
lets its messages go to another worker within the lease (OUTBOX_LEASE_SECONDS, 30 s
unless configured), well under a minute.

A failed attempt is recorded with its error and tried again later, waiting twice as
long each time; after MAX_ATTEMPTS the message is marked failed and stays for staff
to see and retry. A message naming a channel nobody sends fails at once. Nothing is
ever deleted.

Delivery is at least once: each message's outcome is recorded as soon as its
sender returns, so a crash can repeat only the one message that was being sent at
that moment (accepted by the mail server, not yet recorded). At most one duplicate
per crash; two live workers never send the same message.
"""

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import func, or_, select, update

from booking.clinic import DomainError, audit
from booking.clinic.channels import UnknownChannel, sender_for
from booking.clinic.transaction import lock, unit_of_work
from booking.database import rows_changed, utcnow
from booking.extensions import db
from booking.models import OutboxMessage, OutboxStatus, StaffUser

log = logging.getLogger("booking.outbox")

MAX_ATTEMPTS = 8
FIRST_RETRY_AFTER = timedelta(minutes=2)
LONGEST_RETRY_AFTER = timedelta(hours=2)
# A claim lapses a lease (the OUTBOX_LEASE_SECONDS setting, 30 s by default) after its
# worker's last heartbeat: longer than a stalled heartbeat (a slow database), far shorter
# than the minute a dead worker may delay mail. A live worker renews its claims this
# many times a lease.
HEARTBEATS_PER_LEASE = 6
# Few at a time: a worker's claims wait for it, and after a crash for the lease.
BATCH_SIZE = 10
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


def lease(app: Flask | None = None) -> timedelta:
    """How long a claim lasts after its worker's last heartbeat (the app's setting)."""
    config = (app or current_app).config
    return timedelta(seconds=float(config["OUTBOX_LEASE_SECONDS"]))


def heartbeat_every(app: Flask | None = None) -> timedelta:
    """How often a live worker renews its claims: several times a lease."""
    return lease(app) / HEARTBEATS_PER_LEASE


def new_worker_token() -> str:
    """What a worker writes in `claimed_by`: unique to one run of one worker."""
    return uuid.uuid4().hex


def claim(
    now: datetime | None = None, *, limit: int = BATCH_SIZE, worker: str | None = None
) -> list[tuple[int, str]]:
    """Claim up to `limit` due messages for `worker`; returns (id, worker token) pairs.

    A message is due when it is pending, its next attempt time has come and no
    worker holds a live claim on it (a dead worker's claim has lapsed).
    """
    now = now or utcnow()
    worker = worker or new_worker_token()
    with unit_of_work() as session:
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
        if session.get_bind().dialect.name == "postgresql":
            # Rows another worker is claiming right now are skipped, not waited for.
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(claimed_by=worker, claimed_until=now + lease())
                .execution_options(synchronize_session=False)
            )
    return [(message_id, worker) for message_id in ids]


def renew_claims(worker: str, now: datetime | None = None) -> int:
    """Push the lease of every message `worker` still holds forward; how many it holds."""
    now = now or utcnow()
    with unit_of_work() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.claimed_by == worker,
                OutboxMessage.status == OutboxStatus.PENDING.value,
            )
            .values(claimed_until=now + lease())
            .execution_options(synchronize_session=False)
        )
    held = rows_changed(result)
    return held


class _Heartbeat:
    """Renews a worker's claims in a thread of its own while the worker sends.

    A send can block for a whole SMTP conversation, so the renewal cannot wait for
    it. The thread dies with its process, which is the point: then the claims lapse.
    `clock_offset` keeps the lease on the same clock as the caller's `now` (tests).
    """

    def __init__(self, app: Flask, worker: str, clock_offset: timedelta):
        self._app = app
        self._worker = worker
        self._offset = clock_offset
        self._lease, self._every = lease(app), heartbeat_every(app)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="outbox-heartbeat", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._lease.total_seconds())

    def _beat(self) -> None:
        while not self._stopped.wait(self._every.total_seconds()):
            with self._app.app_context():
                try:
                    renew_claims(self._worker, utcnow() + self._offset)
                except Exception:  # a database hiccup: the next beat tries again
                    log.exception("outbox heartbeat failed; trying again")
                finally:
                    db.session.remove()


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_LENGTH]


def _take_for_sending(message_id: int, worker: str) -> OutboxMessage | None:
    """The message, detached from the session, if `worker` still holds it pending."""
    with unit_of_work() as session:
        message = session.get(OutboxMessage, message_id, populate_existing=True)
        if message is None or message.status != OutboxStatus.PENDING:
            return None
        if message.claimed_by != worker:
            return None
        # Detached with every column (and its attachments) loaded, so the sender reads
        # it without a transaction held open (on SQLite, a read snapshot) during delivery.
        message.attachments  # noqa: B018 - loads them before the message is detached
        session.expunge(message)
    return message


def _send_one(message_id: int, worker: str, now: datetime | None) -> str | None:
    """Send one claimed message and record the outcome; returns the new status, or None.

    None means the claim was lost (another worker took the message over after our
    claim lapsed) or the message is no longer pending, so nothing was sent.
    """
    message = _take_for_sending(message_id, worker)
    if message is None:
        return None
    error: Exception | None = None
    try:
        sender_for(message.channel).send(message)
    except Exception as caught:  # any failure is recorded and retried
        error = caught
    return _record(message_id, worker, error, now or utcnow())


def _record(
    message_id: int, worker: str, error: Exception | None, finished_at: datetime
) -> str | None:
    with unit_of_work():
        message = lock(OutboxMessage, message_id)
        if message is None:
            # Withdrawn while we were sending (a reminder whose appointment was cancelled).
            return None
        if message.status != OutboxStatus.PENDING:
            return message.status
        message.attempts += 1
        if message.claimed_by == worker:
            message.claimed_by = None
            message.claimed_until = None
        if error is None:
            message.status = OutboxStatus.SENT.value
            message.sent_at = finished_at
            message.last_error = ""
            log.info("outbox message %s (%s) sent", message.id, message.kind)
        elif isinstance(error, UnknownChannel) or message.attempts >= MAX_ATTEMPTS:
            # A channel nobody sends will not start working on a retry.
            message.status = OutboxStatus.FAILED.value
            message.last_error = _describe(error)
            log.error(
                "outbox message %s (%s, %s) failed for good after %s attempts (%s)",
                message.id,
                message.kind,
                message.channel,
                message.attempts,
                error,
            )
        else:
            message.last_error = _describe(error)
            message.next_attempt_at = finished_at + retry_delay(message.attempts)
            # The error's class only: SMTP error text can quote the recipient's address.
            log.warning(
                "outbox message %s (%s) attempt %s failed (%s); retrying",
                message.id,
                message.kind,
                message.attempts,
                type(error).__name__,
            )
        return message.status


def send_due(
    now: datetime | None = None,
    *,
    limit: int | None = None,
    batch_size: int = BATCH_SIZE,
    worker: str | None = None,
) -> SendReport:
    """Send every message that is due now, batch by batch, and report what happened.

    Messages that fail are rescheduled for later, so one call always ends.
    `now` stands in for the clock (tests); `limit` caps how many are attempted;
    `batch_size` is how many one claim takes; `worker` names the claims (one token
    per call unless given).
    """
    report = SendReport()
    worker = worker or new_worker_token()
    offset = (now - utcnow()) if now is not None else timedelta(0)
    # current_app is typed as the Flask app itself, not the proxy that holds it.
    with _Heartbeat(current_app._get_current_object(), worker, offset):  # type: ignore[attr-defined]
        while limit is None or report.attempted < limit:
            batch = batch_size if limit is None else min(batch_size, limit - report.attempted)
            claimed = claim(now, limit=batch, worker=worker)
            if not claimed:
                break
            for message_id, _ in claimed:
                status = _send_one(message_id, worker, now)
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
    with unit_of_work() as session:
        window = timedelta(hours=clinic_settings().reminder_hours_before)
        appointments = session.scalars(
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
        return _count_reminders() - before


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
    with unit_of_work():
        message = lock(OutboxMessage, message_id)
        if message is None:
            raise DomainError("That message no longer exists.")
        if message.status != OutboxStatus.FAILED:
            raise DomainError("Only a failed message can be sent again.")
        message.status = OutboxStatus.PENDING.value
        message.attempts = 0
        message.next_attempt_at = now
        message.claimed_by = None
        message.claimed_until = None
        audit.record(staff_user, "outbox.retried", message, kind=message.kind)
