"""The outbox: every email is written here in the same transaction as the change it reports."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.enums import MessageChannel, OutboxStatus, one_of


class OutboxMessage(Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        one_of("status", OutboxStatus, "status_known"),
        one_of("channel", MessageChannel, "channel_known"),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Which sender delivers it (booking.clinic.channels): "email" today.
    channel: Mapped[str] = mapped_column(String(20), default="email", server_default="email")
    kind: Mapped[str] = mapped_column(String(40))
    # Set for messages that must exist at most once (a reminder per appointment).
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    ics: Mapped[str | None] = mapped_column(Text)
    ics_method: Mapped[str | None] = mapped_column(String(20))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The worker that claimed the message (its token) owns it until claimed_until; a
    # live worker keeps pushing that forward, a dead one lets it lapse within a minute.
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Files sent with it besides any invitation (a receipt's PDF), in the order added.
    attachments: Mapped[list["OutboxAttachment"]] = relationship(
        cascade="all, delete-orphan", order_by="OutboxAttachment.id"
    )


class OutboxAttachment(Model):
    """A file sent with an outbox message, stored with it when it is queued."""

    __tablename__ = "outbox_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ScheduledJob(Model):
    """When a job the outbox worker runs on a schedule (reminders, ...) is next due.

    One row per job; a worker takes the row (FOR UPDATE) to run it, so two workers
    never run one job for the same turn.
    """

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    runs: Mapped[int] = mapped_column(Integer, default=0)
