"""The clinic itself: its settings, practitioners, treatments, session types and hours."""

import secrets
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Time,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.enums import FeedPrivacy, one_of


class ClinicSettings(Model):
    """The single row of clinic-wide settings: one source of truth for each rule."""

    __tablename__ = "clinic_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("slot_step_minutes between 5 and 60", name="slot_step_range"),
        CheckConstraint("buffer_minutes >= 0", name="buffer_not_negative"),
        CheckConstraint("cancellation_notice_hours >= 0", name="notice_not_negative"),
        CheckConstraint("minimum_booking_notice_minutes >= 0", name="booking_notice_not_negative"),
        CheckConstraint("booking_horizon_days > 0", name="horizon_positive"),
        CheckConstraint("staff_idle_timeout_minutes between 5 and 720", name="idle_timeout_range"),
        CheckConstraint(
            "staff_session_lifetime_hours between 1 and 168", name="session_lifetime_range"
        ),
        CheckConstraint(
            "(vat_number is null) = (vat_rate_basis_points is null)", name="vat_number_with_rate"
        ),
        CheckConstraint(
            "vat_rate_basis_points is null or vat_rate_basis_points between 1 and 10000",
            name="vat_rate_range",
        ),
        CheckConstraint("no_show_fee_pence >= 0", name="no_show_fee_not_negative"),
        CheckConstraint("cancellation_undo_minutes between 0 and 60", name="undo_minutes_range"),
        CheckConstraint(
            "late_cancellation_fee_pence >= 0", name="late_cancellation_fee_not_negative"
        ),
        CheckConstraint(
            "waiting_list_offer_minutes between 10 and 2880", name="offer_minutes_range"
        ),
        CheckConstraint("clinical_retention_years between 1 and 100", name="retention_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(254))
    # Where notices of online bookings and cancellations go.
    reception_email: Mapped[str] = mapped_column(String(254))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    cancellation_notice_hours: Mapped[int] = mapped_column(Integer, default=24)
    minimum_booking_notice_minutes: Mapped[int] = mapped_column(Integer, default=120)
    booking_horizon_days: Mapped[int] = mapped_column(Integer, default=90)
    slot_step_minutes: Mapped[int] = mapped_column(Integer, default=15)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    reminder_hours_before: Mapped[int] = mapped_column(Integer, default=24)
    late_cancellation_uses_credit: Mapped[bool] = mapped_column(Boolean, default=True)
    # How long after cancelling online a patient may undo it (0: no undo).
    cancellation_undo_minutes: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    no_show_uses_credit: Mapped[bool] = mapped_column(Boolean, default=True)
    what_to_bring: Mapped[str] = mapped_column(Text, default="")
    directions: Mapped[str] = mapped_column(Text, default="")
    # Staff sign-in: a session ends after this long unused, and this long after it began.
    staff_idle_timeout_minutes: Mapped[int] = mapped_column(Integer, default=30)
    staff_session_lifetime_hours: Mapped[int] = mapped_column(Integer, default=12)
    # Roles that must sign in with a second factor, comma-separated ("" for none).
    second_factor_roles: Mapped[str] = mapped_column(String(100), default="")
    # Whether a passkey alone (no password) may sign staff in.
    passkey_only_sign_in: Mapped[bool] = mapped_column(Boolean, default=False)
    # Clinical records: False lets a practitioner read only their own patients' records
    # (patients with an appointment with them); True lets every practitioner read all.
    practitioners_read_all_records: Mapped[bool] = mapped_column(Boolean, default=False)
    # VAT on invoices and receipts: both None (the default) while the clinic's treatments
    # are exempt; a registered clinic sets its number and the rate in basis points (2000
    # is 20%), and its documents then show net, VAT and gross (booking.clinic.documents).
    vat_number: Mapped[str | None] = mapped_column(String(20))
    vat_rate_basis_points: Mapped[int | None] = mapped_column(Integer)
    # Fees for a missed appointment, in pence; 0 means the clinic charges none (the default).
    no_show_fee_pence: Mapped[int] = mapped_column(Integer, default=0)
    late_cancellation_fee_pence: Mapped[int] = mapped_column(Integer, default=0)
    # The waiting list: how long a patient has to claim an offered time, and whether
    # patients with a course in progress are offered times before others.
    waiting_list_offer_minutes: Mapped[int] = mapped_column(Integer, default=120)
    waiting_list_courses_first: Mapped[bool] = mapped_column(Boolean, default=True)
    # A new patient may book the first session of a requested course before paying;
    # the course's credit for it is taken when the course is paid (booking.clinic.courses).
    first_course_session_before_payment: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # New patients booking online confirm their email address by a link before the
    # booking is kept; until then it is held (booking.clinic.email_confirmation).
    email_confirmation_for_new_patients: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # A late cancellation charged the late cancellation fee keeps as much of a paid
    # deposit as the fee; every other cancellation refunds it (payments.deposit_policy).
    late_cancellation_keeps_deposit: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    # How long an adult's clinical record is kept after their last treatment (UK practice: 8).
    clinical_retention_years: Mapped[int] = mapped_column(Integer, default=8)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


practitioner_session_types = Table(
    "practitioner_session_types",
    Model.metadata,
    Column("practitioner_id", ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True),
    Column("session_type_id", ForeignKey("session_types.id", ondelete="CASCADE"), primary_key=True),
)

session_type_treatments = Table(
    "session_type_treatments",
    Model.metadata,
    Column("session_type_id", ForeignKey("session_types.id", ondelete="CASCADE"), primary_key=True),
    Column("treatment_id", ForeignKey("treatments.id", ondelete="CASCADE"), primary_key=True),
)


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class Practitioner(Model):
    __tablename__ = "practitioners"
    __table_args__ = (one_of("feed_privacy", FeedPrivacy, "feed_privacy_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(120), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    photo_filename: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Secret part of the private calendar subscription URL; rotating it kills the old URL.
    feed_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_feed_token)
    feed_privacy: Mapped[str] = mapped_column(String(20), default=FeedPrivacy.INITIALS.value)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # For receipts that insurers and cash plans accept, e.g. "HCPC" and "PH123456".
    professional_body: Mapped[str] = mapped_column(String(120), default="")
    registration_number: Mapped[str] = mapped_column(String(60), default="")

    session_types: Mapped[list["SessionType"]] = relationship(
        secondary=practitioner_session_types, back_populates="practitioners"
    )
    working_hours: Mapped[list["WorkingHours"]] = relationship(
        back_populates="practitioner",
        cascade="all, delete-orphan",
        order_by="(WorkingHours.weekday, WorkingHours.starts_at)",
    )

    def __repr__(self) -> str:
        return f"<Practitioner {self.slug}>"


class FeedRevision(Model):
    """How many times a practitioner's feed has changed, and when it last did.

    Bumped as the last statement of every transaction that changes something the feed
    shows (booking.clinic.feed_revisions), so answering "not modified" to a calendar
    app is one row read. Its own table, not columns on the practitioner: a booking
    holds a share lock on the practitioner's row, and two bookings upgrading theirs to
    bump it would deadlock. A practitioner with no row yet is at revision 0.
    """

    __tablename__ = "feed_revisions"

    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, default=1)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Treatment(Model):
    """One kind of treatment: acupuncture, massage, cupping, stretching."""

    __tablename__ = "treatments"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class SessionType(Model):
    """What a patient books: one or more treatments, a duration and a price."""

    __tablename__ = "session_types"
    __table_args__ = (
        CheckConstraint("duration_minutes between 5 and 480", name="duration_range"),
        CheckConstraint("price_pence >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(Integer)
    price_pence: Mapped[int] = mapped_column(Integer)
    # Paid online when booked online, if the clinic takes online payment (0: no deposit);
    # the rest of the price is paid at the clinic. Never more than the price.
    deposit_pence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    bookable_online: Mapped[bool] = mapped_column(Boolean, default=True)
    # The session the clinic suggests to a patient who is not sure: shown first, and marked.
    recommended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    position: Mapped[int] = mapped_column(Integer, default=0)

    treatments: Mapped[list[Treatment]] = relationship(
        secondary=session_type_treatments, order_by=Treatment.position
    )
    practitioners: Mapped[list[Practitioner]] = relationship(
        secondary=practitioner_session_types, back_populates="session_types"
    )

    @property
    def is_combination(self) -> bool:
        return len(self.treatments) > 1


class WorkingHours(Model):
    """A practitioner's regular hours on one weekday, in the clinic's local time.

    Local wall-clock times on purpose: 09:00 stays 09:00 when the clocks change.
    A day may have several rows (a lunch break splits the day).
    """

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday between 0 and 6", name="weekday_range"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioners.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)  # Monday is 0, as in datetime.weekday()
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)

    practitioner: Mapped[Practitioner] = relationship(back_populates="working_hours")


class TimeOff(Model):
    """Blocked time for a practitioner: holiday, training, a single hour."""

    __tablename__ = "time_off"
    __table_args__ = (CheckConstraint("starts_at < ends_at", name="starts_before_ends"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioners.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(120), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    practitioner: Mapped[Practitioner] = relationship()
