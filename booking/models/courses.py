"""Prepaid courses: the product the clinic sells and each patient's course of credits."""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.clinic import SessionType
from booking.models.enums import CourseSource, CourseStatus, one_of
from booking.models.patients import Patient

if TYPE_CHECKING:
    from booking.models.appointments import Appointment


class CourseProduct(Model):
    """A course on sale, e.g. 10 combination sessions valid for six months."""

    __tablename__ = "course_products"
    __table_args__ = (
        CheckConstraint("sessions_count > 0", name="sessions_positive"),
        CheckConstraint("price_pence >= 0", name="price_not_negative"),
        CheckConstraint("validity_days > 0", name="validity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    session_type_id: Mapped[int] = mapped_column(ForeignKey("session_types.id"))
    sessions_count: Mapped[int] = mapped_column(Integer, default=10)
    price_pence: Mapped[int] = mapped_column(Integer)
    validity_days: Mapped[int] = mapped_column(Integer, default=183)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    session_type: Mapped[SessionType] = relationship()


class Course(Model):
    """A patient's course. Credits never go negative: the database refuses it."""

    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("credits_remaining >= 0", name="credits_not_negative"),
        CheckConstraint("credits_remaining <= sessions_total", name="credits_within_total"),
        one_of("status", CourseStatus, "status_known"),
        one_of("source", CourseSource, "source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public identifier signed into the patient's course link.
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: uuid.uuid4().hex)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("course_products.id"))
    session_type_id: Mapped[int] = mapped_column(ForeignKey("session_types.id"))
    status: Mapped[str] = mapped_column(String(20), default=CourseStatus.AWAITING_PAYMENT.value)
    sessions_total: Mapped[int] = mapped_column(Integer)
    credits_remaining: Mapped[int] = mapped_column(Integer)
    price_pence: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default=CourseSource.ONLINE.value)
    # Payment provider reference, for when online payment is added.
    payment_reference: Mapped[str | None] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship()
    product: Mapped[CourseProduct] = relationship()
    session_type: Mapped[SessionType] = relationship()
    appointments: Mapped[list["Appointment"]] = relationship(
        back_populates="course", order_by="Appointment.starts_at"
    )
    credit_entries: Mapped[list["CreditEntry"]] = relationship(
        back_populates="course", order_by="CreditEntry.id"
    )


class CreditEntry(Model):
    """Every change to a course's credits, with its reason: the course's ledger."""

    __tablename__ = "credit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    change: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship(back_populates="credit_entries")
