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

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.money import format_money, format_money_exact
from booking.clinic.payments import deposit_policy, online_fees
from booking.clinic.payments.fee_labels import FEE_LABELS
from booking.clinic.payments.fee_links import queue_fee_link
from booking.clinic.payments.ledger import APPOINTMENT_GONE, add_entry, amount_owed
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import in_unit_of_work, lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    ClinicSettings,
    FeeCheckout,
    FeeKind,
    LedgerEntry,
    LedgerEntryKind,
    StaffUser,
)

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class FeeWaived:
    """What waiving did: the fee, and what the patient had paid towards it that goes back."""

    entry: LedgerEntry
    to_card_pence: int = 0  # kept of the deposit paid online: refunded to that card
    by_hand_pence: int = 0  # paid some other way: staff refund it
    fee_online_pence: int = 0  # paid online through the fee link: refunded to that card
    fee_online_refunded: bool = False  # whether the provider made that refund

    def staff_words(self) -> str:
        """What staff read once it is done, in plain words ('' when nothing goes back)."""
        said = []
        if self.to_card_pence:
            kept = (
                f"the {format_money(self.to_card_pence)} deposit"
                if self.to_card_pence == self.deposit_paid_pence
                else f"the {format_money(self.to_card_pence)} of the deposit"
            )
            said.append(f"{kept} kept for it is being refunded to the patient's card.")
        if self.fee_online_pence:
            paid = format_money(self.fee_online_pence)
            if self.fee_online_refunded:
                said.append(
                    f"the {paid} paid for it online through the fee link has been refunded "
                    "to the patient's card."
                )
            else:
                said.append(
                    f"the patient paid {paid} for it online through the fee link and is owed "
                    f"{paid}: the refund to their card could not be made just now, so make it "
                    "from the fee payment's refund page (Refund, by that online payment on "
                    "this page)."
                )
        if self.by_hand_pence:
            owed = format_money(self.by_hand_pence)
            said.append(
                f"the patient paid {owed} towards it at the clinic and is owed {owed}: "
                "refund it by cash or card from this page (it is not refunded by itself)."
            )
        if not said:
            return ""
        return "The fee is waived; " + " Also, ".join(said)

    @property
    def deposit_paid_pence(self) -> int:
        appointment = self.entry.appointment
        return deposit_policy.standing(appointment).paid if appointment is not None else 0


def waive_fee(
    entry: LedgerEntry,
    *,
    staff_user: StaffUser | None,
    reason: str = "",
    now: datetime | None = None,
) -> FeeWaived:
    """Take a fee off the patient's balance; the entry stays, marked waived, who and why.

    What the patient had paid towards the fee goes back: the part of a deposit paid
    online that a late cancellation kept for it is refunded to that card (noted in this
    unit of work, asked of the provider once it has committed; refused or unsure, the
    worker asks again); what was paid through the fee's own link is refunded to its card
    once the waiver has committed (under a key naming the fee; refused, staff are told
    to make it from the fee payment's page); anything paid at the desk is left for
    staff to refund, who are told so. A second waiver of the same fee is refused, so
    nothing goes back twice.
    """
    now = now or utcnow()
    with unit_of_work():
        appointment = None
        if entry.appointment_id is not None:
            appointment = lock_or_refuse(Appointment, entry.appointment_id, APPOINTMENT_GONE)
        entry = lock_or_refuse(LedgerEntry, entry.id, "This fee no longer exists.")
        if entry.kind != LedgerEntryKind.FEE:
            raise DomainError("Only a fee can be waived.")
        if entry.is_waived:
            raise DomainError("This fee has already been waived.")
        credit_before = _credit(appointment)
        entry.waived_at = now
        entry.waived_by_id = staff_user.id if staff_user is not None else None
        entry.waive_reason = reason.strip()[:300]
        db.session.flush()
        # Only what this waiver leaves in credit goes back, never an older credit.
        freed = max(0, _credit(appointment) - credit_before)
        to_card = 0
        if appointment is not None and freed > 0:
            to_card = deposit_policy.return_kept_deposit(
                appointment, freed, fee_id=entry.id, now=now
            )
        audit.record(
            staff_user,
            "fee.waived",
            entry.appointment or entry,
            entry_id=entry.id,
            fee_kind=entry.fee_kind,
            amount_pence=entry.amount_pence,
            reason=entry.waive_reason,
        )
        # What was paid through the fee link goes back to that card, as the patient's
        # fee page says; the rest (paid at the desk) is left for staff.
        fee_checkout = online_fees.paid_checkout(entry)
        fee_online = 0
        if fee_checkout is not None and freed - to_card > 0:
            fee_online = min(freed - to_card, online_fees.refundable_fee_pence(fee_checkout))
        by_hand = freed - to_card - fee_online
        if freed > 0:
            audit.record(
                staff_user,
                "fee.waived_deposit_returned",
                entry.appointment or entry,
                entry_id=entry.id,
                to_card_pence=to_card,
                fee_online_pence=fee_online,
                by_hand_pence=by_hand,
            )
        waived = FeeWaived(
            entry, to_card_pence=to_card, by_hand_pence=by_hand, fee_online_pence=fee_online
        )
    if to_card and appointment is not None:
        # Outside any unit of work: asked now. Inside a larger one: the worker asks.
        deposit_policy.make_cancellation_refunds(appointment)
    if fee_online and fee_checkout is not None and not in_unit_of_work():
        waived = replace(
            waived,
            fee_online_refunded=_refund_fee_paid_online(
                fee_checkout, fee_online, staff_user=staff_user, fee_id=entry.id
            ),
        )
    return waived


def _refund_fee_paid_online(
    checkout: FeeCheckout, amount_pence: int, *, staff_user: StaffUser | None, fee_id: int
) -> bool:
    """Refund to the card what was paid for a waived fee through its link, once (the
    provider's idempotency key names the waiver), with its credit note emailed; whether
    it was made (refused: staff are told to make it from the fee payment's page)."""
    try:
        online_fees.refund_fee_payment(
            checkout, amount_pence, staff_user=staff_user, request_key=f"waived-{fee_id}"
        )
    except DomainError:  # refused, or the provider's error
        log.warning("a waived fee paid online could not be refunded automatically")
        return False
    return True


def _credit(appointment: Appointment | None) -> int:
    """What the patient has paid on the appointment beyond what it costs (0: none)."""
    if appointment is None:
        return 0
    return max(0, -amount_owed(appointment))


def waive_standing_fees(
    appointment: Appointment, kind: FeeKind, *, staff_user: StaffUser | None, reason: str
) -> None:
    """Waive any fee of `kind` still standing (the no-show was marked by mistake, say)."""
    for fee in fees_on(appointment):
        if fee.fee_kind == kind.value and not fee.is_waived:
            waive_fee(fee, staff_user=staff_user, reason=reason)
