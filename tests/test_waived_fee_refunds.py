"""Waiving a late cancellation fee that a kept deposit paid gives the deposit back.

A late cancellation charged the fee keeps the deposit up to the fee
(booking.clinic.payments.deposit_policy). When staff then waive the fee, what was kept
goes back to the card it came from through the same refund path as a cancellation's
refund (idempotency key, the worker's retries, the credit note emailed), decided in the
waiver's unit of work. Money paid towards the fee at the desk is not refunded by itself:
staff are told the patient is owed it and where to refund it. Stripe is the stand-in.
"""

from datetime import timedelta

from booking.clinic.appointments import cancel_appointment
from booking.clinic.payments import fees, ledger
from booking.clinic.payments.refund_retries import retry_refused_refunds
from booking.clinic.payments.refunds_to_make import refund_to_make
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    FeeKind,
    LedgerEntry,
    OnlineCheckout,
    OutboxMessage,
    PaymentMethod,
    StaffUser,
)
from tests.at_once import race
from tests.fixtures_deposits import DEPOSIT, fresh
from tests.forms import csrf_token
from tests.test_deposit_policy import (
    booked_and_paid,
    cancel_late_for_the_patient,
    refund_calls,
    refunds_in_ledger,
    set_settings,
    staff_member,
)


def cancelled_late(client, slot, standin, *, fee: int, refund_refused: bool = False) -> Appointment:
    """Booked and paid online, then cancelled late by staff with the fee charged
    (`refund_refused`: Stripe refuses the cancellation's own refund of the rest)."""
    appointment = booked_and_paid(client, slot, standin)
    set_settings(late_cancellation_fee_pence=fee, cancellation_notice_hours=24 * 30)
    if refund_refused:
        standin.fail_next(402, "Refused.")
    cancel_late_for_the_patient(appointment)
    return fresh(Appointment, Appointment.id == appointment.id)[0]


def the_fee(appointment: Appointment) -> LedgerEntry:
    (fee,) = fresh(
        LedgerEntry, LedgerEntry.appointment_id == appointment.id, LedgerEntry.kind == "fee"
    )
    return fee


def waive_from_the_diary(staff_client, appointment: Appointment, fee: LedgerEntry):
    page = staff_client.get(f"/diary/appointments/{appointment.id}/payments")
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "waive-reason": "Hospital"}
    return lambda: staff_client.post(
        f"/diary/fees/{fee.id}/waive", data=form, follow_redirects=True
    )


def said(response) -> str:
    return " ".join(response.get_data(as_text=True).replace("&#39;", "'").split())


def credit_note_emails() -> list[OutboxMessage]:
    return fresh(OutboxMessage, OutboxMessage.dedupe_key.like("document:CN-%:automatic"))


def test_waiving_the_fee_refunds_the_kept_deposit_to_the_card_once(
    client, with_deposit, slot, stripe_standin, receptionist_client
):
    appointment = cancelled_late(client, slot, stripe_standin, fee=3000)
    assert refund_calls(stripe_standin) == []  # all of the deposit was kept
    fee = the_fee(appointment)

    send = waive_from_the_diary(receptionist_client, appointment, fee)
    first, second = send(), send()  # a double click
    assert (
        "The fee is waived; the £20 deposit kept for it is being refunded to the patient's card"
        in said(first)
    )
    assert "already been waived" in said(second)

    (call,) = refund_calls(stripe_standin)
    assert call.form["amount"] == str(DEPOSIT)
    assert f"-waived-{fee.id}-" in call.headers.get("idempotency-key", "")
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    assert refund_to_make(appointment) == 0
    appointment = fresh(Appointment, Appointment.id == appointment.id)[0]
    assert ledger.amount_owed(appointment) == 0  # not left in credit
    assert ledger.balance(appointment.patient).owed_pence == 0
    (email,) = credit_note_emails()
    assert "We have refunded £20.00 to the card you paid with." in email.text_body
    (returned,) = fresh(AuditEvent, AuditEvent.action == "fee.waived_deposit_returned")
    assert returned.details["to_card_pence"] == DEPOSIT
    # The worker has nothing more to ask.
    assert retry_refused_refunds(utcnow() + timedelta(days=1)) == 0
    assert len(refund_calls(stripe_standin)) == 1


def test_only_the_kept_part_goes_back_when_the_rest_was_refunded(
    client, with_deposit, slot, stripe_standin
):
    appointment = cancelled_late(client, slot, stripe_standin, fee=1500)
    assert refunds_in_ledger(appointment) == [-500]
    waived = fees.waive_fee(the_fee(appointment), staff_user=staff_member())
    assert waived.to_card_pence == 1500 and waived.by_hand_pence == 0
    assert "the £15 of the deposit kept for it is being refunded" in waived.staff_words()
    assert [int(call.form["amount"]) for call in refund_calls(stripe_standin)] == [500, 1500]
    assert refunds_in_ledger(appointment) == [-500, -1500]
    assert ledger.amount_owed(fresh(Appointment, Appointment.id == appointment.id)[0]) == 0


def test_a_refused_refund_of_the_kept_deposit_is_asked_again_with_the_same_key(
    client, with_deposit, slot, stripe_standin
):
    appointment = cancelled_late(client, slot, stripe_standin, fee=3000)
    stripe_standin.fail_next(402, "Your card's issuer declined the refund.")
    waived = fees.waive_fee(the_fee(appointment), staff_user=staff_member())
    assert "is being refunded to the patient's card" in waived.staff_words()
    # The waiver stands; the refund is noted for the worker.
    assert the_fee(appointment).waived_at is not None
    assert refunds_in_ledger(appointment) == [] and refund_to_make(appointment) == DEPOSIT
    (checkout,) = fresh(OnlineCheckout)
    assert retry_refused_refunds(checkout.refund_retry_at) == 1
    first, second = [call.headers.get("idempotency-key") for call in refund_calls(stripe_standin)]
    assert first == second
    assert refunds_in_ledger(appointment) == [-DEPOSIT] and refund_to_make(appointment) == 0


def test_a_fee_paid_at_the_desk_is_not_refunded_by_itself_and_staff_are_told(
    receptionist_client, demo, make_appointment, stripe_standin
):
    set_settings(late_cancellation_fee_pence=2000)
    appointment = make_appointment(utcnow() + timedelta(days=3), price_pence=6500)
    staff = staff_member()
    cancel_appointment(appointment, reason="Phoned late", staff_user=staff)
    appointment = fresh(Appointment, Appointment.id == appointment.id)[0]
    fees.charge_fee(appointment, FeeKind.LATE_CANCELLATION, staff_user=staff)
    ledger.record_payment(appointment, 2000, PaymentMethod.CASH, staff)
    fee = the_fee(appointment)

    response = waive_from_the_diary(receptionist_client, appointment, fee)()
    words = said(response)
    assert "The fee is waived; the patient paid £20 towards it at the clinic" in words
    assert "is owed £20: refund it by cash or card from this page" in words
    assert stripe_standin.api_calls("/v1/refunds") == []
    # Staff give it back at the desk; then nothing is owed either way.
    ledger.record_refund(
        fresh(Appointment, Appointment.id == appointment.id)[0], 2000, "cash", staff
    )
    assert ledger.amount_owed(fresh(Appointment, Appointment.id == appointment.id)[0]) == 0


def test_two_waivers_at_once_refund_the_deposit_once(
    app, client, with_deposit, slot, stripe_standin
):
    appointment = cancelled_late(client, slot, stripe_standin, fee=3000)
    fee_id, staff_id = the_fee(appointment).id, staff_member().id

    def waive(_number: int) -> str:
        fee = db.session.get(LedgerEntry, fee_id)
        return fees.waive_fee(fee, staff_user=db.session.get(StaffUser, staff_id)).staff_words()

    outcomes = race(app, 2, waive)
    refused = [outcome for outcome in outcomes if outcome == "This fee has already been waived."]
    waived = [
        outcome for outcome in outcomes if "is being refunded to the patient's card" in outcome
    ]
    assert (len(refused), len(waived)) == (1, 1), outcomes
    assert [int(call.form["amount"]) for call in refund_calls(stripe_standin)] == [DEPOSIT]
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    assert len(credit_note_emails()) == 1


def test_a_waiver_racing_the_retry_worker_refunds_the_whole_deposit_once(
    app, client, with_deposit, slot, stripe_standin
):
    """The cancellation's own refund (£5) was refused and is due again when the fee
    (£15 of the deposit) is waived: however the two meet, the card gets £20 back in all."""
    appointment = cancelled_late(client, slot, stripe_standin, fee=1500, refund_refused=True)
    assert refund_to_make(appointment) == 500
    (checkout,) = fresh(OnlineCheckout)
    due = checkout.refund_retry_at
    fee_id, staff_id = the_fee(appointment).id, staff_member().id

    def attempt(number: int) -> str:
        if number == 0:
            return str(retry_refused_refunds(due))
        fee = db.session.get(LedgerEntry, fee_id)
        return fees.waive_fee(fee, staff_user=db.session.get(StaffUser, staff_id)).staff_words()

    outcomes = race(app, 2, attempt)
    assert not any("Error" in outcome for outcome in outcomes), outcomes
    # Whatever was refused meanwhile is asked again by the worker.
    for _ in range(3):
        retry_refused_refunds(utcnow() + timedelta(days=1))
    assert sum(refunds_in_ledger(appointment)) == -DEPOSIT
    assert refund_to_make(appointment) == 0
    assert sum(refund["amount"] for refund in stripe_standin.refunds.values()) == DEPOSIT
    assert ledger.amount_owed(fresh(Appointment, Appointment.id == appointment.id)[0]) == 0
