"""Money: the ledger of payments, refunds and fees, and the end-of-day cash-ups.

Amounts are integer pence. What an appointment or a course costs is on it (its
`price_pence`); the ledger holds what happened against it: payments in (positive),
refunds out (negative) and fees the patient owes (positive, unless waived). The rules
live in `booking.clinic.payments.ledger`; the database refuses rows that make no sense.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.appointments import Appointment
from booking.models.courses import Course
from booking.models.enums import FeeKind, LedgerEntryKind, PaymentMethod, one_of
from booking.models.patients import Patient
from booking.models.staff import StaffUser

# Who recorded an entry when no member of staff did (a payment provider's webhook).
ONLINE_RECORDER = "Online"


class LedgerEntry(Model):
    """One movement of money against one appointment or one course.

    `provider_reference` (a payment provider's id for the payment or refund) is unique
    where set, so a webhook delivered twice records the payment once.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        one_of("kind", LedgerEntryKind, "kind_known"),
        one_of("method", PaymentMethod, "method_known", nullable=True),
        one_of("fee_kind", FeeKind, "fee_kind_known", nullable=True),
        CheckConstraint(
            "(appointment_id is null and course_id is not null)"
            " or (appointment_id is not null and course_id is null)",
            name="one_target",
        ),
        CheckConstraint(
            "(kind = 'refund' and amount_pence < 0) or (kind <> 'refund' and amount_pence > 0)",
            name="amount_sign",
        ),
        CheckConstraint(
            "(kind = 'fee' and method is null and fee_kind is not null)"
            " or (kind <> 'fee' and method is not null and fee_kind is null)",
            name="fee_or_payment",
        ),
        CheckConstraint("waived_at is null or kind = 'fee'", name="only_fees_waived"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    method: Mapped[str | None] = mapped_column(String(20))  # a PaymentMethod
    fee_kind: Mapped[str | None] = mapped_column(String(30))  # a FeeKind
    reference: Mapped[str | None] = mapped_column(String(120))
    provider_reference: Mapped[str | None] = mapped_column(String(255), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # The name as it was, so the history still reads right if the account is renamed.
    recorded_by_name: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    waived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waived_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    waive_reason: Mapped[str] = mapped_column(String(300), default="")

    patient: Mapped[Patient] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    course: Mapped[Course | None] = relationship()
    recorded_by: Mapped[StaffUser | None] = relationship(foreign_keys=[recorded_by_id])
    waived_by: Mapped[StaffUser | None] = relationship(foreign_keys=[waived_by_id])

    @property
    def is_waived(self) -> bool:
        return self.waived_at is not None


class CashUp(Model):
    """Cash counted at the end of one local day against the cash the ledger recorded.

    Never overwritten: a recount is a new row, and the latest row of a day is its count.
    """

    __tablename__ = "cash_ups"
    __table_args__ = (CheckConstraint("counted_pence >= 0", name="counted_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    counted_pence: Mapped[int] = mapped_column(Integer)
    recorded_pence: Mapped[int] = mapped_column(Integer)
    counted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    counted_by_name: Mapped[str] = mapped_column(String(120))
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(300), default="")

    @property
    def difference_pence(self) -> int:
        """Counted minus recorded: positive is cash over, negative is cash short."""
        return self.counted_pence - self.recorded_pence
