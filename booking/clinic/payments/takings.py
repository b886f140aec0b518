"""End of day: what was taken over the clinic's local days, and the cash counted.

    takings(first_day, last_day)          -> Takings: by method, by practitioner, refunds
    cash_recorded(day)                    cash payments less cash refunds on one local day
    record_cash_up(day, counted_pence, staff_user=, note="") -> CashUp
    cash_ups(day)                         every count of the day, newest first

Days are the clinic's local days, turned into UTC bounds by the one rule the reports use
(`booking.clinic.reports.day_range`), so the 25-hour day the clocks go back and the
23-hour day they go forward are counted whole. Takings are payments less refunds by when
they were recorded; fees are owed, not taken, so they are not takings. A payment for a
course has no practitioner and is counted under "Courses". A cash-up never overwrites:
a recount is another row, and the newest row of a day is its count.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.payments.ledger import method_label, recorder_name
from booking.clinic.reports import DayRange, day_range
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    CashUp,
    LedgerEntry,
    LedgerEntryKind,
    PaymentMethod,
    StaffUser,
)

COURSES_ROW = "Courses"


@dataclass(frozen=True)
class Line:
    """One row of a takings table: money in, money back, and what is left."""

    label: str
    payments_pence: int
    refunds_pence: int  # negative or 0

    @property
    def net_pence(self) -> int:
        return self.payments_pence + self.refunds_pence


@dataclass(frozen=True)
class Takings:
    days: DayRange
    by_method: list[Line]
    by_practitioner: list[Line]
    refunds: list[LedgerEntry]
    entries: list[LedgerEntry]

    @property
    def total(self) -> Line:
        return Line(
            "Total",
            sum(line.payments_pence for line in self.by_method),
            sum(line.refunds_pence for line in self.by_method),
        )


def _money_moved(days: DayRange) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.kind.in_([LedgerEntryKind.PAYMENT.value, LedgerEntryKind.REFUND.value]),
                LedgerEntry.recorded_at >= days.starts_at,
                LedgerEntry.recorded_at < days.ends_at,
            )
            .options(
                selectinload(LedgerEntry.appointment).selectinload(Appointment.practitioner),
                selectinload(LedgerEntry.patient),
            )
            .order_by(LedgerEntry.recorded_at, LedgerEntry.id)
        )
    )


def _lines(groups: dict[str, list[int]]) -> list[Line]:
    return [
        Line(
            label,
            sum(amount for amount in amounts if amount > 0),
            sum(amount for amount in amounts if amount < 0),
        )
        for label, amounts in groups.items()
    ]


def takings(first_day: date, last_day: date | None = None) -> Takings:
    """Payments and refunds recorded over local days, by method and by practitioner."""
    days = day_range(first_day, last_day or first_day, clinic_settings().zone)
    entries = _money_moved(days)
    by_method: dict[str, list[int]] = {method_label(m.value): [] for m in PaymentMethod}
    by_practitioner: dict[str, list[int]] = defaultdict(list)
    for entry in entries:
        by_method[method_label(entry.method)].append(entry.amount_pence)
        who = entry.appointment.practitioner.name if entry.appointment else COURSES_ROW
        by_practitioner[who].append(entry.amount_pence)
    practitioner_lines = sorted(
        _lines(by_practitioner), key=lambda line: (line.label == COURSES_ROW, line.label)
    )
    return Takings(
        days=days,
        by_method=_lines(by_method),
        by_practitioner=practitioner_lines,
        refunds=[entry for entry in entries if entry.kind == LedgerEntryKind.REFUND],
        entries=entries,
    )


def cash_recorded(day: date) -> int:
    """Cash payments less cash refunds recorded on the local day, in pence."""
    return sum(
        entry.amount_pence
        for entry in takings(day).entries
        if entry.method == PaymentMethod.CASH.value
    )


def cash_ups(day: date) -> list[CashUp]:
    """Every count of the day's cash, newest first (the first is the day's count)."""
    return list(
        db.session.scalars(
            select(CashUp)
            .where(CashUp.day == day)
            .order_by(CashUp.counted_at.desc(), CashUp.id.desc())
        )
    )


def record_cash_up(
    day: date,
    counted_pence: int,
    *,
    staff_user: StaffUser,
    note: str = "",
    now: datetime | None = None,
) -> CashUp:
    """Keep the cash counted for a day against the cash the ledger recorded; audited.

    A second count for the same day is a recount: kept beside the first, never over it.
    """
    now = now or utcnow()
    if counted_pence < 0:
        raise DomainError("The cash counted cannot be negative.")
    zone = clinic_settings().zone
    day_range(day, day, zone)  # refuses a day out of reach
    if day > now.astimezone(zone).date():
        raise DomainError("That day has not happened yet: count the cash at the end of it.")
    with unit_of_work():
        recorded = cash_recorded(day)
        cash_up = CashUp(
            day=day,
            counted_pence=counted_pence,
            recorded_pence=recorded,
            counted_by_id=staff_user.id,
            counted_by_name=recorder_name(staff_user),
            counted_at=now,
            note=note.strip()[:300],
        )
        db.session.add(cash_up)
        db.session.flush()
        audit.record(
            staff_user,
            "cash_up.recorded",
            cash_up,
            day=day,
            counted_pence=counted_pence,
            recorded_pence=recorded,
            difference_pence=counted_pence - recorded,
        )
    return cash_up
