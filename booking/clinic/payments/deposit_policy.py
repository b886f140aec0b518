"""What becomes of a deposit paid online when its booking is cancelled or moved.

The clinic's rule, in one place (patients read it before they book, on the cancel page
and in the cancellation email; staff see it in the diary):

- Moved: the deposit stays with the appointment (it is paid against the same row).
- Cancelled: the deposit is refunded to the patient's card, in full, automatically:
  by the patient online (always with notice, or for a warning sign), or by the clinic.
- Cancelled late and charged the clinic's late cancellation fee (staff confirm it;
  only inside the notice period): with `late_cancellation_keeps_deposit` (on by
  default) as much of the deposit as the fee is kept, and pays it in the ledger; the
  rest is refunded. Without a late cancellation fee nothing is kept.
- Not attended: nothing is refunded; the deposit counts towards what is owed.

The decision (`decide_on_cancellation`) is taken inside the cancellation's unit of
work, with the appointment locked, and noted on the checkout as the refund to make
(`OnlineCheckout.cancellation_refund_pence`). The refund itself
(`make_cancellation_refunds`) asks the provider once that unit of work has committed
(no transaction is held open over the network), through `hosted_checkout.refund_at_provider`
(as the diary's refund does) with an idempotency key fixed by the checkout and the
cancellation, and once more only if unsure: a repeated call is answered
with the first refund, so the card is never refunded twice. A refusal leaves the
cancellation standing and the refund noted: the worker asks again with the same key
(`refund_retries`), and after its last try leaves it for staff, who make it from the
diary (which clears the note, as does a refund the provider reports by webhook).

When staff later waive the late cancellation fee, what was kept for it goes back to
the card the same way (`return_kept_deposit`, in the waiver's unit of work).
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.money import format_money
from booking.clinic.payments import online_ledger, refund_retries
from booking.clinic.payments.configured import online_provider
from booking.clinic.payments.refunds_to_make import refund_to_make
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import in_unit_of_work, lock
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    CheckoutStatus,
    ClinicSettings,
    OnlineCheckout,
    StaffUser,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DepositOutcome:
    """What a cancellation does with the deposit paid online (all 0: none was paid)."""

    paid_pence: int
    refund_pence: int
    kept_pence: int
    fee_pence: int = 0
    notice_hours: int = 0

    def patient_words(self) -> str:
        """The sentence the patient reads on the cancel page and in the email ('' if none)."""
        if self.paid_pence <= 0:
            return ""
        refunded = (
            "will be refunded to the card you paid with (banks usually take 5 to 10 "
            "working days to show it)."
        )
        if self.kept_pence <= 0:
            return f"Your {format_money(self.paid_pence)} deposit {refunded}"
        why = (
            f"because the appointment was cancelled less than {self.notice_hours} hours "
            f"before it: it pays the late cancellation fee of {format_money(self.fee_pence)}"
        )
        if self.refund_pence <= 0:
            return f"Your {format_money(self.paid_pence)} deposit is kept {why}."
        return (
            f"{format_money(self.kept_pence)} of your deposit is kept {why}. The other "
            f"{format_money(self.refund_pence)} {refunded}"
        )


def paid_deposits(appointment: Appointment) -> list[tuple[OnlineCheckout, int]]:
    """The appointment's deposits paid online, each with what is left to refund of it.

    What is left is known for the appointment as a whole (the ledger), so it is shared
    out over its payments, oldest first, each at most what it took: two deposits paid
    on two pages are counted once each, never the whole twice, and no payment is asked
    to refund more than it was."""
    checkouts = list(
        db.session.scalars(
            select(OnlineCheckout)
            .where(
                OnlineCheckout.appointment_id == appointment.id,
                OnlineCheckout.status == CheckoutStatus.PAID,
            )
            .order_by(OnlineCheckout.id)
        )
    )
    if not checkouts:
        return []
    rest = online_ledger.refundable_pence(checkouts[0])  # the same for each of them
    found = []
    for checkout in checkouts:
        left = min(rest, checkout.amount_pence)
        rest -= left
        if left > 0:
            found.append((checkout, left))
    return found


def paid_pence(appointment: Appointment) -> int:
    """The deposit paid online for this appointment and not refunded (0: none)."""
    return sum(left for _, left in paid_deposits(appointment))


def outcome(
    appointment: Appointment,
    *,
    late: bool,
    fee_pence: int,
    settings: ClinicSettings | None = None,
) -> DepositOutcome:
    """What cancelling now does with the deposit: the rule above, and nothing else.

    `late`: inside the notice period; `fee_pence`: the late cancellation fee charged with
    this cancellation (0 when none: with notice, by the clinic, for a warning sign).
    """
    settings = settings or clinic_settings()
    paid = paid_pence(appointment)
    kept = 0
    if late and fee_pence > 0 and settings.late_cancellation_keeps_deposit:
        kept = min(paid, fee_pence)
    return DepositOutcome(
        paid_pence=paid,
        refund_pence=paid - kept,
        kept_pence=kept,
        fee_pence=fee_pence,
        notice_hours=settings.cancellation_notice_hours,
    )


def decide_on_cancellation(
    appointment: Appointment,
    *,
    late: bool,
    fee_pence: int,
    staff_user: StaffUser | None = None,
) -> DepositOutcome:
    """Inside the cancellation's unit of work: note the refund to make on each deposit."""
    decided = outcome(appointment, late=late, fee_pence=fee_pence)
    if decided.paid_pence <= 0:
        return decided
    to_refund = decided.refund_pence
    for checkout, left in paid_deposits(appointment):
        share = min(left, to_refund)
        to_refund -= share
        checkout.cancellation_refund_pence = share or None
        refund_retries.note_refund(checkout, appointment, now=utcnow())
    audit.record(
        staff_user,
        "deposit.on_cancellation",
        appointment,
        paid_pence=decided.paid_pence,
        refund_pence=decided.refund_pence,
        kept_pence=decided.kept_pence,
    )
    return decided


def cancel_pending_refunds(appointment: Appointment) -> None:
    """Inside an undo's unit of work: a refund not yet made is not made (the deposit stays)."""
    for checkout, _ in paid_deposits(appointment):
        checkout.cancellation_refund_pence = None
        refund_retries.note_refund(checkout, appointment, now=utcnow())


def return_kept_deposit(
    appointment: Appointment, freed_pence: int, *, fee_id: int, now: datetime
) -> int:
    """Inside a waiver's unit of work, the appointment locked: of `freed_pence` (what the
    waiver left the patient in credit), note for refund to the card what the deposit
    paid online can give back; how much that is (the rest was paid some other way).

    Asked of the provider once the waiver has committed, as a cancellation's refund is
    (`make_cancellation_refunds`, then the worker), under a key naming the fee."""
    noted = 0
    for found, left in paid_deposits(appointment):
        checkout = lock(OnlineCheckout, found.id)
        if checkout is None or noted >= freed_pence:
            continue
        pending = checkout.cancellation_refund_pence or 0
        # `left` is already at most what this payment took (paid_deposits).
        share = min(freed_pence - noted, left - pending)
        if share > 0:
            refund_retries.note_more_to_refund(checkout, share, because=f"waived-{fee_id}", now=now)
            noted += share
    return noted


@dataclass(frozen=True)
class DepositStanding:
    """How a deposit paid online stands, for the diary (all in pence)."""

    paid: int  # taken online
    refunded: int  # given back to the card
    to_make: int  # refunds a cancellation decided that did not go through

    @property
    def kept(self) -> int:
        return self.paid - self.refunded - self.to_make


def standing(appointment: Appointment) -> DepositStanding:
    """What was paid, refunded and is still to refund of the appointment's deposit."""
    paid = sum(
        checkout.amount_pence
        for checkout in db.session.scalars(
            select(OnlineCheckout).where(
                OnlineCheckout.appointment_id == appointment.id,
                OnlineCheckout.status == CheckoutStatus.PAID,
            )
        )
    )
    left = paid_pence(appointment)
    return DepositStanding(paid=paid, refunded=paid - left, to_make=refund_to_make(appointment))


def make_cancellation_refunds(appointment: Appointment) -> int:
    """Refund through the provider what the cancellation decided; what is still to make.

    Called once the cancellation has committed. Safe to call again (the same key makes
    the same refund). A refusal, or a provider that cannot be reached, leaves the
    cancellation as it is and the refund noted, for the worker to ask again and then
    for staff (`refund_retries`); 0 when all went through.
    """
    if in_unit_of_work():
        # Joined to a larger unit of work: no network call inside it; the worker asks.
        return refund_to_make(appointment)
    if online_provider() is None:
        return refund_to_make(appointment)
    pending = [
        checkout.id
        for checkout, _ in paid_deposits(appointment)
        if checkout.cancellation_refund_pence
    ]
    for checkout_id in pending:
        refund_retries.ask_for_refund(appointment, checkout_id, now=utcnow())
    return refund_to_make(appointment)


def policy_sentences(settings: ClinicSettings | None = None) -> list[str]:
    """The deposit rule in the patient's words, shown before they book."""
    settings = settings or clinic_settings()
    sentences = [
        "If you cancel with at least "
        f"{settings.cancellation_notice_hours} hours' notice, or we cancel, your deposit is "
        "refunded to your card. If you move your appointment, the deposit stays with it."
    ]
    if settings.late_cancellation_keeps_deposit and settings.late_cancellation_fee_pence:
        sentences.append(
            f"If you cancel less than {settings.cancellation_notice_hours} hours before, "
            "the deposit goes towards the late cancellation fee of "
            f"{format_money(settings.late_cancellation_fee_pence)}."
        )
    sentences.append("If you miss your appointment, the deposit is not refunded.")
    return sentences
