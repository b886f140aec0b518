"""A practitioner's own calendar, connected so that its busy times block the diary."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.clinic import Practitioner


class CalendarKind(enum.StrEnum):
    ICAL = "ical"  # a private iCal address (what Google, Apple and Outlook publish)
    CALDAV = "caldav"  # a CalDAV calendar collection, with a user name and password


class CalendarConnection(Model):
    """One practitioner's own calendar. The address and credentials are stored encrypted
    (`secret`, a Fernet token): a private iCal address is itself a password."""

    __tablename__ = "calendar_connections"
    __table_args__ = (CheckConstraint("kind in ('ical', 'caldav')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioners.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    secret: Mapped[str] = mapped_column(Text)
    # Shown to staff so they know which calendar it is, without the secret path.
    host: Mapped[str] = mapped_column(String(255))
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    practitioner: Mapped[Practitioner] = relationship()


class BusyTime(Model):
    """A busy span read from a practitioner's own calendar: times only, never a title."""

    __tablename__ = "busy_times"
    __table_args__ = (
        Index("ix_busy_times_practitioner_span", "practitioner_id", "starts_at", "ends_at"),
        CheckConstraint("ends_at > starts_at", name="span_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_connections.id", ondelete="CASCADE"), index=True
    )
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
