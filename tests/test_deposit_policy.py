"""What becomes of a deposit paid online when its booking is cancelled or moved.

The rule (booking.clinic.payments.deposit_policy): cancelled with notice or by the clinic,
refunded to the card automatically, once; cancelled late and charged the late cancellation
fee, kept up to the fee; moved, kept on the booking. Stripe is the stand-in.
"""

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.clinic.appointments import cancel_appointment, move_appointment, undo_cancellation
from booking.clinic.money import format_money
from booking.clinic.payments import deposit_policy, ledger, online
from booking.clinic.payments.provider import ProviderEvent
from booking.clinic.payments.refunds_to_make import refund_to_make
from booking.clinic.settings import forget_clinic_settings
from booking.clinic.tokens import manage_token
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    CancelledBy,
    ClinicSettings,
    LedgerEntry,
    OnlineCheckout,
    OutboxMessage,
    StaffUser,
)
from tests.fixtures_deposits import DEPOSIT, fresh
from tests.forms import csrf_token
from tests.test_booking import GOOD_ANSWERS, details_url
from tests.test_double_submit import form_key


def text(response) -> str:
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


def set_settings(**values) -> None:
    db.session.execute(sa.update(ClinicSettings).values(**values))
    db.session.commit()
    forget_clinic_settings()


def booked_and_paid(client, slot, standin) -> Appointment:
    """Book the deposit session online and have Stripe report the payment."""
    html = client.get(details_url(slot)).get_data(as_text=True)
    form = {**GOOD_ANSWERS, "csrf_token": csrf_token(html), "submission": form_key(html)}
    response = client.post(details_url(slot), data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    session = standin.pay(response.location.rsplit("/", 1)[-1])
    event = ProviderEvent(id="evt_paid", type="checkout.session.completed", created=0, data=session)
    assert online.handle_event(event) == "processed"
    (appointment,) = fresh(Appointment, Appointment.starts_at == slot)
    assert appointment.status == AppointmentStatus.BOOKED
    assert ledger.amount_paid(appointment) == DEPOSIT
    return appointment


def refund_calls(standin) -> list:
    return standin.api_calls("/v1/refunds")


def refunds_in_ledger(appointment) -> list[int]:
    return [
        entry.amount_pence
        for entry in fresh(LedgerEntry, LedgerEntry.appointment_id == appointment.id)
        if entry.kind == "refund"
    ]


def cancellation_email(appointment) -> str:
    (message,) = fresh(
        OutboxMessage,
        OutboxMessage.appointment_id == appointment.id,
        OutboxMessage.kind == "cancelled",
    )
    return " ".join(message.text_body.split())


def reception_notices(appointment) -> list:
    return fresh(
        OutboxMessage,
        OutboxMessage.appointment_id == appointment.id,
        OutboxMessage.kind == "reception_deposit_refund_refused",
    )


def staff_member() -> StaffUser:
    return db.session.scalar(sa.select(StaffUser).order_by(StaffUser.id).limit(1))


def cancel_late_for_the_patient(appointment) -> None:
    """Staff cancel at the patient's request, charging the late cancellation fee."""
    cancel_appointment(
        appointment,
        reason="Phoned late",
        staff_user=staff_member(),
        charge_fee=True,
        requested_by=CancelledBy.PATIENT,
    )


def cancel_online(client, appointment):
    token = manage_token(appointment)
    review = client.get(f"/manage/{token}/cancel").get_data(as_text=True)
    form = {"csrf_token": csrf_token(review), "sequence": appointment.sequence}
    return review, lambda: client.post(f"/manage/{token}/cancel", data=form)


def test_the_patient_reads_the_deposit_rule_before_booking(
    client, with_deposit, slot, stripe_standin
):
    set_settings(late_cancellation_fee_pence=3000, cancellation_notice_hours=24)
    page = text(client.get(details_url(slot)))
    assert "If you cancel with at least 24 hours' notice, or we cancel, your deposit" in page
    assert "refunded to your card" in page and "the deposit stays with it" in page
    assert "the deposit goes towards the late cancellation fee of £30" in page

    set_settings(late_cancellation_keeps_deposit=False)
    page = text(client.get(details_url(slot)))
    assert "refunded to your card" in page and "goes towards the late cancellation" not in page


def test_a_patient_cancelling_online_is_refunded_once_through_stripe(
    client, with_deposit, slot, stripe_standin
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    review, send = cancel_online(client, appointment)
    assert "Your £20 deposit will be refunded to the card you paid with" in " ".join(review.split())

    assert send().status_code == 302
    assert send().status_code == 302  # a double tap: the second finds it cancelled
    (call,) = refund_calls(stripe_standin)
    assert call.form["amount"] == str(DEPOSIT)
    assert "-cancelled-" in call.headers.get("idempotency-key", "")
    appointment = fresh(Appointment, Appointment.id == appointment.id)[0]
    assert appointment.status == AppointmentStatus.CANCELLED
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    assert refund_to_make(appointment) == 0
    assert "Your £20 deposit will be refunded to the card you paid with" in cancellation_email(
        appointment
    )

    # Stripe then reports the same refund by webhook: nothing is recorded twice.
    charge = stripe_standin.charge_for(fresh(OnlineCheckout)[0].payment_intent)
    event = ProviderEvent(id="evt_refunded", type="charge.refunded", created=0, data=charge)
    online.handle_event(event)
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    # Asked again (a retry): the same key, the same refund.
    deposit_policy.make_cancellation_refunds(appointment)
    assert len(refund_calls(stripe_standin)) == 1


def test_a_refusal_leaves_the_cancellation_and_shows_staff_the_refund_to_make(
    client, with_deposit, slot, stripe_standin, receptionist_client
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    _, send = cancel_online(client, appointment)
    stripe_standin.fail_next(402, "Your card's issuer declined the refund.")
    assert send().status_code == 302

    appointment = fresh(Appointment, Appointment.id == appointment.id)[0]
    assert appointment.status == AppointmentStatus.CANCELLED
    assert refunds_in_ledger(appointment) == []
    assert refund_to_make(appointment) == DEPOSIT
    assert any(e.action == "deposit.refund_refused" for e in fresh(AuditEvent))
    # The worker asks again before reception is told to make it by hand.
    assert reception_notices(appointment) == []
    # The patient is still told the truth: it will be refunded.
    assert "deposit will be refunded" in cancellation_email(appointment)

    diary = receptionist_client.get(f"/diary/appointments/{appointment.id}")
    html = " ".join(diary.get_data(as_text=True).split())
    assert 'id="deposit-refund-to-make"' in html and "to refund: £20" in html
    assert "it is asked again by itself at" in html

    # Staff make it from the payment page (the online refund): the note is cleared.
    (checkout,) = fresh(OnlineCheckout)
    online.refund_online_payment(checkout, DEPOSIT, staff_user=staff_member(), request_key="desk-1")
    assert refund_to_make(appointment) == 0
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    html = receptionist_client.get(f"/diary/appointments/{appointment.id}").get_data(as_text=True)
    assert 'id="deposit-refund-to-make"' not in html
    assert "£20 refunded to the card" in " ".join(html.split())


@pytest.mark.parametrize(("fee", "kept"), [(3000, DEPOSIT), (1500, 1500)])
def test_a_late_cancellation_charged_the_fee_keeps_the_deposit_up_to_the_fee(
    client, with_deposit, slot, stripe_standin, fee, kept
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    # The appointment is now inside the notice period.
    set_settings(late_cancellation_fee_pence=fee, cancellation_notice_hours=24 * 30)
    cancel_late_for_the_patient(appointment)

    refunded = DEPOSIT - kept
    calls = refund_calls(stripe_standin)
    assert [int(call.form["amount"]) for call in calls] == ([refunded] if refunded else [])
    assert refunds_in_ledger(appointment) == ([-refunded] if refunded else [])
    # The fee is charged, and the deposit kept pays (part of) it.
    assert ledger.amount_owed(appointment) == max(0, fee - DEPOSIT)
    words = cancellation_email(appointment)
    assert "is kept because the appointment was cancelled less than 720 hours before it" in words
    if refunded:
        assert "£15 of your deposit is kept" in words and "The other £5 will be refunded" in words
    # The fee's payment link asks only for what the kept deposit does not cover.
    links = fresh(
        OutboxMessage,
        OutboxMessage.appointment_id == appointment.id,
        OutboxMessage.kind == "fee_due",
    )
    if fee > DEPOSIT:
        (link,) = links
        assert "Your deposit pays part of it: £10.00 is left to pay" in link.text_body
    else:
        assert links == []


def test_a_late_cancellation_refunds_in_full_when_the_clinic_keeps_no_deposit(
    client, with_deposit, slot, stripe_standin, admin_client
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    page = text(admin_client.get("/diary/settings"))
    assert "A late cancellation keeps the patient's deposit" in page
    set_settings(
        late_cancellation_fee_pence=1500,
        cancellation_notice_hours=24 * 30,
        late_cancellation_keeps_deposit=False,
    )
    cancel_late_for_the_patient(appointment)
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    assert ledger.amount_owed(appointment) == 1500  # the fee stands on its own


def test_the_clinic_cancelling_refunds_the_deposit_and_says_so(
    client, with_deposit, slot, stripe_standin, receptionist_client
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    page = receptionist_client.get(f"/diary/appointments/{appointment.id}").get_data(as_text=True)
    response = receptionist_client.post(
        f"/diary/appointments/{appointment.id}/cancel",
        data={
            "csrf_token": csrf_token(page),
            "cancel-reason": "Practitioner unwell",
            "cancel-requested_by": "clinic",
            "cancel-sequence": appointment.sequence,
        },
        follow_redirects=True,
    )
    html = " ".join(response.get_data(as_text=True).split())
    assert "£20.00 of the deposit was refunded to the card" in html
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    assert "On cancellation: £20 refunded to the card" in html


def test_moving_keeps_the_deposit_on_the_booking(client, with_deposit, slot, stripe_standin):
    appointment = booked_and_paid(client, slot, stripe_standin)
    later = slot + timedelta(days=7)
    token = manage_token(appointment)
    stamp = later.strftime("%Y%m%dT%H%MZ")
    review = client.get(f"/manage/{token}/reschedule/review?start={stamp}")
    assert "Your £20 deposit stays with your appointment at its new time" in review.get_data(
        as_text=True
    )
    move_appointment(appointment, starts_at=later)
    assert refund_calls(stripe_standin) == []
    assert ledger.amount_paid(appointment) == DEPOSIT
    assert deposit_policy.paid_pence(appointment) == DEPOSIT


def test_undoing_after_the_refund_books_again_without_the_deposit(
    client, with_deposit, slot, stripe_standin
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    _, send = cancel_online(client, appointment)
    send()
    manage = text(client.get(f"/manage/{manage_token(appointment)}"))
    assert "Your £20 deposit has been refunded to the card you paid with" in manage
    price = format_money(appointment.price_pence)
    assert f"so if you undo, the full price, {price}, is paid at the clinic on the day" in manage
    undone = undo_cancellation(fresh(Appointment, Appointment.id == appointment.id)[0])
    assert undone.status == AppointmentStatus.BOOKED
    # The card has its money back; the full price is paid on the day.
    assert len(refund_calls(stripe_standin)) == 1
    assert ledger.amount_paid(undone) == 0
    assert ledger.amount_owed(undone) == undone.price_pence
    assert refund_to_make(undone) == 0
    (restored,) = fresh(
        OutboxMessage, OutboxMessage.appointment_id == undone.id, OutboxMessage.kind == "restored"
    )
    body = " ".join(restored.text_body.split())
    assert "to pay at the clinic on the day (your deposit was refunded)" in body
    assert "deposit now" not in body and "deposit paid online" not in body


def test_undoing_before_a_refused_refund_is_made_keeps_the_deposit(
    client, with_deposit, slot, stripe_standin
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    _, send = cancel_online(client, appointment)
    stripe_standin.fail_next(402, "Refused.")
    send()
    undone = undo_cancellation(fresh(Appointment, Appointment.id == appointment.id)[0])
    assert undone.status == AppointmentStatus.BOOKED
    # Nothing is left for staff to refund: the deposit stays with the booking.
    assert refund_to_make(undone) == 0
    assert ledger.amount_paid(undone) == DEPOSIT
    assert refunds_in_ledger(undone) == []


def test_without_a_deposit_cancelling_says_nothing_of_one(client, demo, slot, stripe_standin):
    html = client.get(details_url(slot)).get_data(as_text=True)
    form = {**GOOD_ANSWERS, "csrf_token": csrf_token(html), "submission": form_key(html)}
    client.post(details_url(slot), data=form)
    (appointment,) = fresh(Appointment, Appointment.starts_at == slot)
    review, send = cancel_online(client, appointment)
    assert "deposit" not in review.lower()
    send()
    assert "deposit" not in cancellation_email(appointment).lower()
    assert refund_calls(stripe_standin) == []
    assert re.search(r"refund", cancellation_email(appointment)) is None


def test_a_warning_sign_before_the_visit_cancels_and_refunds_the_deposit(
    client, with_deposit, slot, stripe_standin
):
    from booking.clinic.records import red_flags

    appointment = booked_and_paid(client, slot, stripe_standin)
    answers = dict.fromkeys(red_flags.QUESTIONS, "no")
    answers[red_flags.EMERGENCY_QUESTION] = "yes"
    red_flags.record_recheck(appointment, answers)
    appointment = fresh(Appointment, Appointment.id == appointment.id)[0]
    assert appointment.status == AppointmentStatus.CANCELLED
    assert len(refund_calls(stripe_standin)) == 1
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    assert refund_to_make(appointment) == 0
