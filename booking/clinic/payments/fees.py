"""Fees for missed appointments: a no-show, or a cancellation inside the notice period.

A clinic policy, off by default: the amounts are clinic settings (`no_show_fee_pence`,
`late_cancellation_fee_pence`; 0 means no fee). When one is set, the patient reads the
policy before booking and in the confirmation email (`policy_sentences`); when staff
mark a no-show or cancel late they confirm the fee, which becomes a ledger entry of kind
"fee" against the appointment and so part of the patient's balance; staff may waive it.

`charge_fee` joins the caller's unit of work (marking the no-show, say), so the fee and
the change that caused it are saved together or not at all. Everything is audited.
Where online payment is set up, the patient is also emailed a link to pay the fee on
the provider's hosted page (`booking.clinic.payments.fee_links`, `online_fees`).
"""

from datetime import datetime

from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.money import format_money_exact
from booking.clinic.payments.fee_links import queue_fee_link
from booking.clinic.payments.ledger import APPOINTMENT_GONE, add_entry
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    ClinicSettings,
    FeeKind,
    LedgerEntry,
    LedgerEntryKind,
    StaffUser,
)

FEE_LABELS = {
    FeeKind.NO_SHOW.value: "No-show fee",
    FeeKind.LATE_CANCELLATION.value: "Late cancellation fee",
}


def fee_amount(kind: FeeKind, settings: ClinicSettings | None = None) -> int:
    """The clinic's fee of this kind in pence; 0 when it charges none."""
    settings = settings or clinic_settings()
    if kind == FeeKind.NO_SHOW:
        return settings.no_show_fee_pence
    return settings.late_cancellation_fee_pence


def policy_sentences(settings: ClinicSettings | None = None) -> list[str]:
    """The fee policy in the patient's words, one sentence per fee set (none: [])."""
    settings = settings or clinic_settings()
    sentences = []
    if settings.late_cancellation_fee_pence:
        sentences.append(
            f"If you cancel less than {settings.cancellation_notice_hours} hours before "
            f"your appointment, we charge a late cancellation fee of "
            f"{format_money_exact(settings.late_cancellation_fee_pence)}."
        )
    if settings.no_show_fee_pence:
        sentences.append(
            "If you miss your appointment without telling us, we charge a no-show fee of "
            f"{format_money_exact(settings.no_show_fee_pence)}."
        )
    return sentences


def fees_on(appointment: Appointment) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.appointment_id == appointment.id,
                LedgerEntry.kind == LedgerEntryKind.FEE.value,
            )
            .order_by(LedgerEntry.id)
        )
    )


def charge_fee(
    appointment: Appointment,
    kind: FeeKind,
    *,
    staff_user: StaffUser,
    now: datetime | None = None,
) -> LedgerEntry:
    """Add the clinic's fee of `kind` to the appointment (and so the patient's balance).

    Refused when the clinic charges no such fee, or one is already standing on it.
    """
    now = now or utcnow()
    amount = fee_amount(kind)
    if amount <= 0:
        raise DomainError(f"The clinic charges no {FEE_LABELS[kind.value].lower()}.")
    with unit_of_work():
        lock_or_refuse(Appointment, appointment.id, APPOINTMENT_GONE)
        standing = [
            fee for fee in fees_on(appointment) if fee.fee_kind == kind.value and not fee.is_waived
        ]
        if standing:
            raise DomainError(f"A {FEE_LABELS[kind.value].lower()} is already charged.")
        entry = add_entry(
            appointment,
            LedgerEntryKind.FEE,
            amount,
            method=None,
            staff_user=staff_user,
            reference=None,
            provider_reference=None,
            now=now,
            fee_kind=kind.value,
        )
        audit.record(
            staff_user,
            "fee.charged",
            appointment,
            entry_id=entry.id,
            fee_kind=kind.value,
            amount_pence=amount,
        )
        queue_fee_link(entry, appointment)
    return entry


def waive_fee(
    entry: LedgerEntry,
    *,
    staff_user: StaffUser | None,
    reason: str = "",
    now: datetime | None = None,
) -> LedgerEntry:
    """Take a fee off the patient's balance; the entry stays, marked waived, who and why."""
    now = now or utcnow()
    with unit_of_work():
        if entry.appointment_id is not None:
            lock_or_refuse(Appointment, entry.appointment_id, APPOINTMENT_GONE)
        entry = lock_or_refuse(LedgerEntry, entry.id, "This fee no longer exists.")
        if entry.kind != LedgerEntryKind.FEE:
            raise DomainError("Only a fee can be waived.")
        if entry.is_waived:
            raise DomainError("This fee has already been waived.")
        entry.waived_at = now
        entry.waived_by_id = staff_user.id if staff_user is not None else None
        entry.waive_reason = reason.strip()[:300]
        audit.record(
            staff_user,
            "fee.waived",
            entry.appointment or entry,
            entry_id=entry.id,
            fee_kind=entry.fee_kind,
            amount_pence=entry.amount_pence,
            reason=entry.waive_reason,
        )
    return entry


def waive_standing_fees(
    appointment: Appointment, kind: FeeKind, *, staff_user: StaffUser | None, reason: str
) -> None:
    """Waive any fee of `kind` still standing (the no-show was marked by mistake, say)."""
    for fee in fees_on(appointment):
        if fee.fee_kind == kind.value and not fee.is_waived:
            waive_fee(fee, staff_user=staff_user, reason=reason)
