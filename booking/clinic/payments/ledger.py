"""The money ledger: what each appointment and course costs, and what was paid against it.

Amounts are integer pence. A *target* is one appointment or one course.

    amount_due(target)     what it costs: its price (0 for a cancelled appointment or a
                           course session, which the course paid for; 0 for a cancelled
                           course), plus any fee charged on it and not waived
    amount_paid(target)    payments minus refunds
    amount_owed(target)    due minus paid (negative: the patient is in credit)
    entries_for(target)    its ledger entries, oldest first
    balance(patient)       due, paid and owed over all their appointments, courses and fees
    history(patient)       every entry of the patient's, newest first

    record_payment(target, amount_pence, method, taken_by, reference=None,
                   provider_reference=None)            -> PaymentRecorded
    record_refund(target, amount_pence, method, taken_by, reference=None,
                  provider_reference=None)             -> LedgerEntry (amount stored negative)
    sell_course_paid(product, patient, method=, staff_user=, reference="") -> Course
    owed_for_appointments(appointments)  {appointment id: owed}, one query (the diary grid)

`taken_by` is the member of staff who took the money, or None for a payment provider
(the entry then reads "Online"). A desk payment can never be more than is still owed,
and a refund never more than was paid. A payment or refund that carries a
`provider_reference` (a payment provider's own id for it) is recorded once: asking again
with the same reference returns the entry already recorded and changes nothing, so a
webhook delivered twice is harmless. Such a payment is recorded even when it is more
than is owed (the money has moved; the patient is then in credit and staff refund it).

A course awaiting payment becomes active, with its credits, in the same transaction as
the payment that pays it in full (`booking.clinic.courses.activate_course`).

Each change is one unit of work that locks the appointment's or course's row first,
so two people taking the same payment at once cannot both succeed; each is audited.
Fees for missed appointments are in `booking.clinic.payments.fees`, the end of day in
`booking.clinic.payments.takings`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from booking.clinic import audit, courses
from booking.clinic.errors import DomainError
from booking.clinic.money import format_money_exact
from booking.clinic.patients import PatientDetails
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    ONLINE_RECORDER,
    Appointment,
    AppointmentStatus,
    Course,
    CourseProduct,
    CourseStatus,
    LedgerEntry,
    LedgerEntryKind,
    Patient,
    PaymentMethod,
    StaffUser,
)

Target = Appointment | Course

METHOD_LABELS = {
    PaymentMethod.CARD.value: "card",
    PaymentMethod.CASH.value: "cash",
    PaymentMethod.BANK_TRANSFER.value: "bank transfer",
    PaymentMethod.ONLINE.value: "online payment",
}

APPOINTMENT_GONE = "This appointment no longer exists."
COURSE_GONE = "This course no longer exists."


class NothingOwed(DomainError):
    """A payment was asked for where nothing (or less) is owed."""


@dataclass(frozen=True)
class PaymentRecorded:
    """What a payment did: the entry, what is still owed after it, whether it was new."""

    entry: LedgerEntry
    owed_pence: int
    recorded: bool  # False: the provider reference was already recorded, nothing changed


@dataclass(frozen=True)
class Balance:
    due_pence: int
    paid_pence: int

    @property
    def owed_pence(self) -> int:
        """Positive: the patient owes the clinic; negative: the patient is in credit."""
        return self.due_pence - self.paid_pence


def method_label(method: str | None) -> str:
    return METHOD_LABELS.get(method or "", method or "")


def recorder_name(staff_user: StaffUser | None) -> str:
    return staff_user.name if staff_user is not None else ONLINE_RECORDER


def _target_filter(target: Target) -> ColumnElement[bool]:
    if isinstance(target, Appointment):
        return LedgerEntry.appointment_id == target.id
    return LedgerEntry.course_id == target.id


def price_due(target: Target) -> int:
    """The price part of what is due, before fees."""
    if isinstance(target, Appointment):
        if target.course_id is not None or target.status == AppointmentStatus.CANCELLED:
            return 0
        return target.price_pence
    if target.status == CourseStatus.CANCELLED:
        return 0
    return target.price_pence


def totals(target: Target) -> tuple[int, int]:
    """(fees not waived, payments minus refunds) recorded against the target."""
    fees = func.coalesce(
        func.sum(
            case(
                (
                    (LedgerEntry.kind == LedgerEntryKind.FEE.value)
                    & LedgerEntry.waived_at.is_(None),
                    LedgerEntry.amount_pence,
                ),
                else_=0,
            )
        ),
        0,
    )
    paid = func.coalesce(
        func.sum(
            case(
                (LedgerEntry.kind != LedgerEntryKind.FEE.value, LedgerEntry.amount_pence),
                else_=0,
            )
        ),
        0,
    )
    row = db.session.execute(select(fees, paid).where(_target_filter(target))).one()
    return int(row[0]), int(row[1])


def amount_due(target: Target) -> int:
    """What the appointment or course costs the patient, fees included."""
    fees, _ = totals(target)
    return price_due(target) + fees


def amount_paid(target: Target) -> int:
    """Payments minus refunds against the appointment or course."""
    return totals(target)[1]


def amount_owed(target: Target) -> int:
    """Due minus paid: what the desk still has to take (negative: in credit)."""
    fees, paid = totals(target)
    return price_due(target) + fees - paid


def entries_for(target: Target) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry).where(_target_filter(target)).order_by(LedgerEntry.id)
        )
    )


def history(patient: Patient) -> list[LedgerEntry]:
    """Every entry of the patient's, newest first, with what each was against."""
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.patient_id == patient.id)
            .options(
                selectinload(LedgerEntry.appointment).selectinload(Appointment.session_type),
                selectinload(LedgerEntry.course).selectinload(Course.product),
            )
            .order_by(LedgerEntry.recorded_at.desc(), LedgerEntry.id.desc())
        )
    )


def balance(patient: Patient) -> Balance:
    """Due minus paid over all the patient's appointments, courses and fees."""
    appointments_due = db.session.scalar(
        select(func.coalesce(func.sum(Appointment.price_pence), 0)).where(
            Appointment.patient_id == patient.id,
            Appointment.course_id.is_(None),
            Appointment.status != AppointmentStatus.CANCELLED.value,
        )
    )
    courses_due = db.session.scalar(
        select(func.coalesce(func.sum(Course.price_pence), 0)).where(
            Course.patient_id == patient.id,
            Course.status != CourseStatus.CANCELLED.value,
        )
    )
    fees = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(
            LedgerEntry.patient_id == patient.id,
            LedgerEntry.kind == LedgerEntryKind.FEE.value,
            LedgerEntry.waived_at.is_(None),
        )
    )
    paid = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(
            LedgerEntry.patient_id == patient.id,
            LedgerEntry.kind != LedgerEntryKind.FEE.value,
        )
    )
    return Balance(
        due_pence=int(appointments_due or 0) + int(courses_due or 0) + int(fees or 0),
        paid_pence=int(paid or 0),
    )


def lock_target(target: Target) -> Target:
    """Take the appointment's or course's row for the rest of the unit of work."""
    if isinstance(target, Appointment):
        return lock_or_refuse(Appointment, target.id, APPOINTMENT_GONE)
    return lock_or_refuse(Course, target.id, COURSE_GONE)


def _method(method: PaymentMethod | str) -> PaymentMethod:
    try:
        return PaymentMethod(method)
    except ValueError:
        raise DomainError("Choose how the money was paid: card, cash or bank transfer.") from None


def _check_amount(amount_pence: int, what: str) -> None:
    if amount_pence <= 0:
        raise DomainError(f"Enter the amount {what}, more than £0.00.")


def _already_recorded(provider_reference: str | None, target: Target) -> LedgerEntry | None:
    if not provider_reference:
        return None
    entry = db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.provider_reference == provider_reference)
    )
    if entry is not None and (entry.appointment_id, entry.course_id) != _target_key(target):
        raise DomainError("That payment reference is already recorded against something else.")
    return entry


def _target_key(target: Target) -> tuple[int | None, int | None]:
    if isinstance(target, Appointment):
        return target.id, None
    return None, target.id


def add_entry(
    target: Target,
    kind: LedgerEntryKind,
    amount_pence: int,
    *,
    method: PaymentMethod | None,
    staff_user: StaffUser | None,
    reference: str | None,
    provider_reference: str | None,
    now: datetime,
    fee_kind: str | None = None,
) -> LedgerEntry:
    appointment_id, course_id = _target_key(target)
    entry = LedgerEntry(
        kind=kind.value,
        patient_id=target.patient_id,
        appointment_id=appointment_id,
        course_id=course_id,
        amount_pence=amount_pence,
        method=method.value if method is not None else None,
        fee_kind=fee_kind,
        reference=(reference or "").strip()[:120] or None,
        provider_reference=(provider_reference or "").strip()[:255] or None,
        recorded_by_id=staff_user.id if staff_user is not None else None,
        recorded_by_name=recorder_name(staff_user),
        recorded_at=now,
        waive_reason="",
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def record_payment(
    target: Target,
    amount_pence: int,
    method: PaymentMethod | str,
    taken_by: StaffUser | None,
    reference: str | None = None,
    provider_reference: str | None = None,
    *,
    now: datetime | None = None,
) -> PaymentRecorded:
    """Record money taken for an appointment or a course (all of what is owed, or part).

    Refused (NothingOwed) when a desk payment is more than is still owed. With a
    `provider_reference` already recorded, returns that entry and changes nothing.
    """
    now = now or utcnow()
    chosen = _method(method)
    _check_amount(amount_pence, "paid")
    with unit_of_work():
        target = lock_target(target)
        existing = _already_recorded(provider_reference, target)
        if existing is not None:
            return PaymentRecorded(existing, amount_owed(target), recorded=False)
        owed = amount_owed(target)
        if provider_reference is None and amount_pence > owed:
            raise NothingOwed(_more_than_owed(target, amount_pence, owed))
        entry = add_entry(
            target,
            LedgerEntryKind.PAYMENT,
            amount_pence,
            method=chosen,
            staff_user=taken_by,
            reference=reference,
            provider_reference=provider_reference,
            now=now,
        )
        owed_after = owed - amount_pence
        audit.record(
            taken_by,
            "payment.recorded",
            target,
            entry_id=entry.id,
            amount_pence=amount_pence,
            method=chosen.value,
            owed_after_pence=owed_after,
            provider_reference=entry.provider_reference,
        )
        if (
            isinstance(target, Course)
            and target.status == CourseStatus.AWAITING_PAYMENT
            and owed_after <= 0
        ):
            courses.activate_course(
                target, entry.reference or entry.provider_reference or "", taken_by, now=now
            )
    return PaymentRecorded(entry, owed_after, recorded=True)


def _more_than_owed(target: Target, amount_pence: int, owed: int) -> str:
    what = "this appointment" if isinstance(target, Appointment) else "this course"
    if owed <= 0:
        return f"Nothing is owed for {what}, so no payment was recorded."
    return (
        f"Only {format_money_exact(owed)} is still owed for {what}, so "
        f"{format_money_exact(amount_pence)} was not recorded. "
        "Take the amount owed, or a part of it."
    )


def record_refund(
    target: Target,
    amount_pence: int,
    method: PaymentMethod | str,
    taken_by: StaffUser | None,
    reference: str | None = None,
    provider_reference: str | None = None,
    *,
    now: datetime | None = None,
) -> LedgerEntry:
    """Give money back (`amount_pence` positive; stored negative), never more than was paid.

    With a `provider_reference` already recorded, returns that entry and changes nothing.
    """
    now = now or utcnow()
    chosen = _method(method)
    _check_amount(amount_pence, "refunded")
    with unit_of_work():
        target = lock_target(target)
        existing = _already_recorded(provider_reference, target)
        if existing is not None:
            return existing
        paid = amount_paid(target)
        if amount_pence > paid:
            raise DomainError(
                f"Only {format_money_exact(max(paid, 0))} has been paid, so "
                f"{format_money_exact(amount_pence)} cannot be refunded."
            )
        entry = add_entry(
            target,
            LedgerEntryKind.REFUND,
            -amount_pence,
            method=chosen,
            staff_user=taken_by,
            reference=reference,
            provider_reference=provider_reference,
            now=now,
        )
        audit.record(
            taken_by,
            "payment.refunded",
            target,
            entry_id=entry.id,
            amount_pence=amount_pence,
            method=chosen.value,
            provider_reference=entry.provider_reference,
        )
    return entry


def describe_payment(result: PaymentRecorded) -> str:
    """e.g. "£65.00 paid by card, recorded by Sam. Nothing left to pay." """
    entry = result.entry
    said = (
        f"{format_money_exact(entry.amount_pence)} paid by "
        f"{method_label(entry.method)}, recorded by {entry.recorded_by_name}."
    )
    if not result.recorded:
        said = f"Already recorded: {said}"
    return f"{said} {describe_owed(result.owed_pence)}"


def describe_owed(owed_pence: int) -> str:
    if owed_pence == 0:
        return "Nothing left to pay."
    if owed_pence < 0:
        return f"{format_money_exact(-owed_pence)} paid more than is owed (in credit)."
    return f"{format_money_exact(owed_pence)} still to pay."


def describe_refund(entry: LedgerEntry) -> str:
    return (
        f"{format_money_exact(-entry.amount_pence)} refunded by "
        f"{method_label(entry.method)}, recorded by {entry.recorded_by_name}."
    )


def owed_for_appointments(appointments: Sequence[Appointment]) -> dict[int, int]:
    """What is still owed on each appointment (by id), in one query: for the diary's grid."""
    ids = [appointment.id for appointment in appointments]
    if not ids:
        return {}
    fees = case(
        (
            (LedgerEntry.kind == LedgerEntryKind.FEE.value) & LedgerEntry.waived_at.is_(None),
            LedgerEntry.amount_pence,
        ),
        (LedgerEntry.kind == LedgerEntryKind.FEE.value, 0),
        else_=-LedgerEntry.amount_pence,
    )
    moved = {
        appointment_id: total
        for appointment_id, total in db.session.execute(
            select(LedgerEntry.appointment_id, func.sum(fees))
            .where(LedgerEntry.appointment_id.in_(ids))
            .group_by(LedgerEntry.appointment_id)
        )
    }
    return {
        appointment.id: price_due(appointment) + int(moved.get(appointment.id) or 0)
        for appointment in appointments
    }


def sell_course_paid(
    product: CourseProduct,
    patient: Patient | PatientDetails,
    *,
    method: PaymentMethod | str,
    staff_user: StaffUser,
    reference: str = "",
    now: datetime | None = None,
) -> Course:
    """Sell a course at the desk and record its payment, in one transaction."""
    now = now or utcnow()
    chosen = _method(method)
    with unit_of_work():
        course = courses.sell_course(
            product, patient, staff_user=staff_user, payment_reference=reference, now=now
        )
        if course.price_pence > 0:
            entry = add_entry(
                course,
                LedgerEntryKind.PAYMENT,
                course.price_pence,
                method=chosen,
                staff_user=staff_user,
                reference=reference,
                provider_reference=None,
                now=now,
            )
            audit.record(
                staff_user,
                "payment.recorded",
                course,
                entry_id=entry.id,
                amount_pence=entry.amount_pence,
                method=chosen.value,
                owed_after_pence=0,
                provider_reference=None,
            )
    return course
