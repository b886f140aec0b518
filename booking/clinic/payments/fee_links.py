"""The patient's link to pay a fee online: what it says, and the email that carries it.

Only where online payment is set up: without keys a fee is added to the balance and
nothing online is offered (`booking.clinic.payments.fees`). Fees are collected by this
payment link, never by charging a saved card: the clinic keeps no card details, so
the patient pays on the provider's hosted page, as for a course.
"""

from sqlalchemy import select

from booking.clinic.local_wording import format_local_date, format_local_time
from booking.clinic.money import format_money_exact
from booking.clinic.notifications import queue_message
from booking.clinic.payments import ledger
from booking.clinic.payments.configured import online_payment_configured
from booking.clinic.payments.refunds_to_make import refund_to_make
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import fee_url
from booking.extensions import db
from booking.models import Appointment, FeeKind, LedgerEntry, OutboxMessage

KIND = "fee_due"
LABELS = {
    FeeKind.NO_SHOW.value: "No-show fee",
    FeeKind.LATE_CANCELLATION.value: "Late cancellation fee",
}


def label(fee: LedgerEntry) -> str:
    return LABELS.get(fee.fee_kind or "", "Fee")


def reason(fee: LedgerEntry, appointment: Appointment) -> str:
    """Why the fee was charged, in the patient's words."""
    when = (
        f"{format_local_date(appointment.starts_at)} at {format_local_time(appointment.starts_at)}"
    )
    what = f"{appointment.session_type.name} appointment with {appointment.practitioner.name}"
    if fee.fee_kind == FeeKind.NO_SHOW:
        return (
            f"You did not come to your {what} on {when}, and we did not hear from you "
            "beforehand, so the time could not be offered to anyone else."
        )
    hours = clinic_settings().cancellation_notice_hours
    return (
        f"Your {what} on {when} was cancelled less than {hours} hours before it was "
        "due to start, too late for us to offer the time to someone else."
    )


def _dedupe_key(fee: LedgerEntry) -> str:
    return f"fee:{fee.id}:link"


def link_sent(fee: LedgerEntry) -> bool:
    """Whether the patient was emailed the link to pay this fee online."""
    found = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == _dedupe_key(fee))
    )
    return found is not None


def left_to_pay(fee: LedgerEntry, appointment: Appointment) -> int:
    """The fee, less what the appointment's payments already cover of it.

    A deposit kept from a cancelled booking pays the fee; a refund of it that its
    cancellation decided and is not made yet does not (that money goes back).
    """
    owed = ledger.amount_owed(appointment) + refund_to_make(appointment)
    return max(0, min(fee.amount_pence, owed))


def queue_fee_link(fee: LedgerEntry, appointment: Appointment) -> bool:
    """Email the patient the link to pay `fee`, when the clinic takes payment online.

    Joins the caller's unit of work (the one that charges the fee). False when nothing
    was queued: no online payment, no email address, or already queued for this fee.
    """
    email = appointment.patient.email
    if not online_payment_configured() or not email or fee.fee_kind is None:
        return False
    left = left_to_pay(fee, appointment)
    if left <= 0:
        # The deposit kept from the cancelled booking pays it: nothing to ask for.
        return False
    amount = format_money_exact(fee.amount_pence)
    return queue_message(
        kind=KIND,
        recipient=email,
        subject=f"{label(fee)} of {amount}: you can pay it online",
        template="fee_due",
        context={
            "appointment": appointment,
            "label": label(fee),
            "amount": amount,
            "reason": reason(fee, appointment),
            "pay_url": fee_url(appointment, fee.fee_kind),
            # Part paid by the deposit kept (payments.deposit_policy): what is left.
            "left": format_money_exact(left) if left < fee.amount_pence else "",
        },
        dedupe_key=_dedupe_key(fee),
        appointment=appointment,
    )
