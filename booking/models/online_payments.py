"""Online payment's own bookkeeping: the hosted checkout pages started, the webhook events seen.

The money itself (payments and refunds) lives in the payments ledger; these tables only
remember which provider page belongs to which course or appointment (a deposit), and
which provider events have been handled, so a repeated event changes nothing.
"""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.appointments import Appointment
from booking.models.courses import Course
from booking.models.enums import CheckoutStatus, ProviderEventOutcome, one_of


class OnlineCheckout(Model):
    """One hosted payment page started for a course, or for an appointment's deposit."""

    __tablename__ = "online_checkouts"
    __table_args__ = (
        one_of("status", CheckoutStatus, "status_known"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint(
            "(course_id is null) <> (appointment_id is null)", name="pays_for_one_thing"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random; the Idempotency-Key of the call that creates the page, so a retried call
    # after a timeout gets the same page rather than a second one.
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: uuid.uuid4().hex)
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    amount_pence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=CheckoutStatus.CREATING.value)
    provider_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(String(2000))
    payment_intent: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Paid, but what it paid for could no longer be had (a deposit that arrived after its
    # held time was released and taken): kept in the ledger, for staff to refund.
    refund_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A deposit's refund its booking's cancellation decided and not yet made (the provider
    # refused it or could not be reached): staff see it to make (payments.deposit_policy).
    cancellation_refund_pence: Mapped[int | None] = mapped_column(Integer)
    # That refund's asks (payments.refund_retries): the idempotency key of the first ask,
    # reused by every retry; how many asks were refused or could not be made; when the
    # worker asks next (None: not scheduled, or left for staff after the last try).
    cancellation_refund_key: Mapped[str | None] = mapped_column(String(80))
    refund_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refund_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    course: Mapped[Course | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()

    @property
    def target(self) -> Course | Appointment:
        """What the payment is for: the course, or the appointment whose deposit it is."""
        target = self.course if self.course_id is not None else self.appointment
        assert target is not None  # the CHECK pays_for_one_thing
        return target


class PaymentProviderEvent(Model):
    """A webhook event handled (or put aside until its payment is known), once per event id."""

    __tablename__ = "payment_provider_events"
    __table_args__ = (one_of("outcome", ProviderEventOutcome, "outcome_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))
    payment_intent: Mapped[str | None] = mapped_column(String(255), index=True)
    # Only for an event put aside: the refunds it reported, as JSON [[id, pence], ...].
    # Amounts and the provider's ids, nothing about the patient.
    deferred_refunds: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
