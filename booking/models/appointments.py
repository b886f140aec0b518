"""Appointments: a patient, a practitioner, a session type and a span of UTC time."""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from booking.database import UTCDateTime, utcnow
from booking.encryption import EncryptedText
from booking.extensions import Model
from booking.models.clinic import Practitioner, SessionType
from booking.models.enums import (
    AppointmentSource,
    AppointmentStatus,
    CancelledBy,
    HoldReason,
    one_of,
)
from booking.models.patients import Patient

if TYPE_CHECKING:
    from booking.models.courses import Course


# Statuses that hold the practitioner's time; only cancelled appointments free it. A held
# appointment (awaiting a deposit or an email confirmation) keeps its time like a booked one.
LIVE_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.HELD,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.ATTENDED,
    AppointmentStatus.NO_SHOW,
)


def new_uid() -> str:
    return uuid.uuid4().hex


class Appointment(Model):
    """One booked visit.

    `uid` is public and stable for the appointment's life: it is the iCalendar UID
    and what manage-my-booking tokens sign. `sequence` rises on every change the
    patient's calendar must follow (a move, a cancellation).

    No two live appointments of one practitioner overlap: on PostgreSQL an
    exclusion constraint (created in the migration) guarantees it; on SQLite the
    booking transaction holds the write lock while it checks.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        one_of("status", AppointmentStatus, "status_known"),
        one_of("source", AppointmentSource, "source_known"),
        one_of("cancelled_by", CancelledBy, "cancelled_by_known", nullable=True),
        one_of("cancel_requested_by", CancelledBy, "cancel_requested_by_known", nullable=True),
        one_of("hold_reason", HoldReason, "hold_reason_known", nullable=True),
        # A held appointment always says why and until when: the expiry job relies on it.
        CheckConstraint(
            "status <> 'held' or (held_until is not null and hold_reason is not null)",
            name="held_says_why_and_until",
        ),
        Index("ix_appointments_practitioner_starts", "practitioner_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=new_uid)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    session_type_id: Mapped[int] = mapped_column(ForeignKey("session_types.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=AppointmentStatus.BOOKED.value)
    source: Mapped[str] = mapped_column(String(20), default=AppointmentSource.ONLINE.value)
    # The patient's own words about their problem: health data, never in feeds or logs,
    # sealed in the database like the rest of the clinical record.
    patient_note: Mapped[str] = mapped_column(EncryptedText, default="")
    staff_note: Mapped[str] = mapped_column(Text, default="")
    # The patient answered yes to a warning-sign question when booking online and said a
    # doctor has already assessed it: the practitioner checks with them before treating.
    # For online bookings, a keyed hash of the client's address (never the address itself):
    # caps how many live bookings one address can hold (booking.clinic.holds).
    client_key: Mapped[str | None] = mapped_column(String(64), index=True)
    warning_sign_assessed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    price_pence: Mapped[int] = mapped_column(Integer, default=0)
    # While status is HELD: until when the time is kept (UTC) and what it waits for
    # (a HoldReason); booking.clinic.held_appointments confirms or releases it.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    hold_reason: Mapped[str | None] = mapped_column(String(30))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who did it: the patient online, or the clinic's staff (the undo and the emails go by it).
    cancelled_by: Mapped[str | None] = mapped_column(String(20))  # a CancelledBy
    # Who asked for it: the patient (online, or by phoning the desk) or the clinic (a
    # practitioner off sick, say); NULL when not known (cancelled before it was asked).
    # Only the patient's own late cancellations count as late ones in the reports.
    cancel_requested_by: Mapped[str | None] = mapped_column(String(20))  # a CancelledBy
    cancellation_reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    practitioner: Mapped[Practitioner] = relationship()
    patient: Mapped[Patient] = relationship()
    session_type: Mapped[SessionType] = relationship()
    course: Mapped["Course | None"] = relationship(back_populates="appointments")

    @property
    def is_held(self) -> bool:
        return self.status == AppointmentStatus.HELD

    @hybrid_property
    def is_live(self) -> bool:
        return self.status != AppointmentStatus.CANCELLED

    @is_live.inplace.expression
    @classmethod
    def _is_live_expression(cls) -> ColumnElement[bool]:
        # The same condition in queries: availability, the diary, feeds, admin checks.
        return cls.status.in_([status.value for status in LIVE_STATUSES])
