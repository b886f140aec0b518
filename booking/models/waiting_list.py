"""The waiting list: patients waiting for a time to come free, and the times offered to them."""

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.appointments import Appointment
from booking.models.clinic import Practitioner, SessionType
from booking.models.enums import AppointmentSource, OfferStatus, WaitingStatus, one_of
from booking.models.patients import Patient


def _new_uid() -> str:
    return uuid.uuid4().hex


class WaitingListEntry(Model):
    """A patient waiting for a time: a session, a practitioner (or anyone), when it suits.

    `weekdays` holds the local weekdays that suit as digits (Monday is 0: "024" is
    Monday, Wednesday and Friday); `parts_of_day` the parts of the day as letters
    (m morning, a afternoon, e evening). `uid` is what the patient's signed links name.
    """

    __tablename__ = "waiting_list_entries"
    __table_args__ = (
        one_of("status", WaitingStatus, "status_known"),
        one_of("source", AppointmentSource, "source_known"),
        Index("ix_waiting_list_entries_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=_new_uid)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    session_type_id: Mapped[int] = mapped_column(ForeignKey("session_types.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    weekdays: Mapped[str] = mapped_column(String(7), default="0123456")
    parts_of_day: Mapped[str] = mapped_column(String(3), default="mae")
    until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=WaitingStatus.WAITING.value)
    source: Mapped[str] = mapped_column(String(20), default=AppointmentSource.ONLINE.value)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship()
    session_type: Mapped[SessionType] = relationship()
    practitioner: Mapped[Practitioner | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    offers: Mapped[list["WaitingListOffer"]] = relationship(
        back_populates="entry", order_by="WaitingListOffer.id"
    )


class WaitingListOffer(Model):
    """One free time offered to one waiting patient by email, until `expires_at`.

    A time is offered to one patient at a time (the worker waits for the offer to be
    claimed or to expire before offering it to the next); staff may offer a time by hand
    to more. `dedupe_key` keeps one entry from being offered one time twice.
    """

    __tablename__ = "waiting_list_offers"
    __table_args__ = (
        one_of("status", OfferStatus, "status_known"),
        Index("ix_waiting_list_offers_open", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=_new_uid)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("waiting_list_entries.id", ondelete="CASCADE"), index=True
    )
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=OfferStatus.OPEN.value)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who offered it by hand (None: the worker).
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[WaitingListEntry] = relationship(back_populates="offers")
    practitioner: Mapped[Practitioner] = relationship()
