"""Online payment of fees, and refunds the provider could not make.

`FeeCheckout` is a hosted payment page started for one fee (a no-show or late
cancellation fee in the ledger); `RefundFailure` is a refund the provider reported as
failed or cancelled, once per provider refund id, with the ledger entry that put the
money back. The money itself is in the ledger (booking.models.payments).
"""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.enums import CheckoutStatus, RefundFailureStatus, one_of
from booking.models.patients import Patient
from booking.models.payments import LedgerEntry


class FeeCheckout(Model):
    """One hosted payment page started for a fee."""

    __tablename__ = "fee_checkouts"
    __table_args__ = (
        one_of("status", CheckoutStatus, "status_known"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random; the Idempotency-Key of the call that creates the page.
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: uuid.uuid4().hex)
    fee_entry_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="CASCADE"), index=True
    )
    amount_pence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=CheckoutStatus.CREATING.value)
    provider_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(String(2000))
    payment_intent: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    fee: Mapped[LedgerEntry] = relationship()


class RefundFailure(Model):
    """A refund the provider reported as failed or cancelled: once per provider refund id.

    `refund_entry_id` is the refund the ledger had recorded (None: it was never recorded,
    so nothing needed putting back); `reversal_entry_id` the entry that put it back.
    """

    __tablename__ = "refund_failures"
    __table_args__ = (
        one_of("status", RefundFailureStatus, "status_known"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[str] = mapped_column(String(255), unique=True)
    # A RefundFailureStatus, as the provider said; and its reason, if it gave one.
    status: Mapped[str] = mapped_column(String(20))
    failure_reason: Mapped[str] = mapped_column(String(60), default="")
    amount_pence: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), index=True
    )
    refund_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    reversal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    patient: Mapped[Patient | None] = relationship()
    refund_entry: Mapped[LedgerEntry | None] = relationship(foreign_keys=[refund_entry_id])
    reversal_entry: Mapped[LedgerEntry | None] = relationship(foreign_keys=[reversal_entry_id])
