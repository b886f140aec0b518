"""Deposits per session type, paid online through the hosted page, with the time held meanwhile.

The stand-in (tests/stripe_standin.py) plays Stripe; events are signed as Stripe signs them.
"""

import re
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from booking.clinic.appointments import PatientDetails, book_appointment
from booking.clinic.held_appointments import release_expired_holds
from booking.clinic.payments import fees, ledger, online
from booking.clinic.payments.provider import ProviderEvent
from booking.clinic.tokens import manage_token
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    CheckoutStatus,
    FeeKind,
    HoldReason,
    LedgerEntry,
    OnlineCheckout,
    OutboxMessage,
    Practitioner,
    SessionType,
)
from tests.at_once import race
from tests.fixtures_deposits import DEPOSIT, fresh
from tests.forms import csrf_token
from tests.test_booking import GOOD_ANSWERS, details_url, get
from tests.test_double_submit import form_key
from tests.test_fees_desk import set_fees


def the_appointment(slot) -> Appointment:
    (appointment,) = fresh(Appointment, Appointment.starts_at == slot)
    return appointment


def kinds(appointment) -> list[str]:
    return [m.kind for m in fresh(OutboxMessage, OutboxMessage.appointment_id == appointment.id)]


def shown_form(client, url) -> dict:
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    html = page.get_data(as_text=True)
    return {**GOOD_ANSWERS, "csrf_token": csrf_token(html), "submission": form_key(html)}


def book_online(client, slot, standin):
    """Book the deposit session as a patient would: back come the response and Stripe's session."""
    response = client.post(details_url(slot), data=shown_form(client, details_url(slot)))
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    session_id = response.location.rsplit("/", 1)[-1]
    return response, standin.sessions[session_id]


def signed(standin, kind, obj, **kwargs):
    payload = standin.event(kind, obj, event_id=kwargs.pop("event_id", None))
    return payload, standin.sign(payload, **kwargs)


# Without Stripe, or without a deposit: as before ---------------------------------------------


def test_with_no_keys_a_session_with_a_deposit_books_as_it_always_has(client, with_deposit, slot):
    page = client.get(details_url(slot)).get_data(as_text=True)
    assert "deposit" not in page.lower() and "Stripe" not in page
    response = client.post(details_url(slot), data=shown_form(client, details_url(slot)))
    assert response.status_code == 302 and "/book/confirmed/" in response.location
    appointment = the_appointment(slot)
    assert appointment.status == AppointmentStatus.BOOKED and appointment.hold_reason is None
    assert "confirmation" in kinds(appointment)
    assert fresh(OnlineCheckout) == []


def test_with_stripe_but_no_deposit_the_booking_is_unchanged(client, demo, slot, stripe_standin):
    page = client.get(details_url(slot)).get_data(as_text=True)
    assert "deposit" not in page.lower()
    response = client.post(details_url(slot), data=shown_form(client, details_url(slot)))
    assert response.status_code == 302 and "/book/confirmed/" in response.location
    assert the_appointment(slot).status == AppointmentStatus.BOOKED
    assert stripe_standin.api_calls() == []


# Booking with a deposit ---------------------------------------------------------------------


def test_the_review_page_says_the_deposit_the_rest_and_how_long_the_time_is_held(
    client, with_deposit, slot, stripe_standin
):
    page = " ".join(client.get(details_url(slot)).get_data(as_text=True).split())
    rest = with_deposit.price_pence - DEPOSIT
    assert "deposit of <strong>£20</strong>" in page
    assert f"£{rest // 100}, is paid at the clinic on the day" in page
    assert "We hold the time for you for 30 minutes" in page
    assert "Book and pay the £20 deposit" in page


def test_booking_holds_the_time_and_sends_the_patient_to_the_hosted_page_once(
    app, client, with_deposit, slot, stripe_standin
):
    url = details_url(slot)
    form = shown_form(client, url)
    first = client.post(url, data=form)
    assert first.status_code == 303
    appointment = the_appointment(slot)
    assert appointment.status == AppointmentStatus.HELD
    assert appointment.hold_reason == HoldReason.DEPOSIT
    held_for = appointment.held_until - utcnow()
    assert timedelta(minutes=28) < held_for <= timedelta(minutes=30)
    assert kinds(appointment) == []  # nothing confirmed yet
    (call,) = stripe_standin.api_calls("/v1/checkout/sessions")
    assert call.form["line_items[0][price_data][unit_amount]"] == str(DEPOSIT)
    assert call.form["metadata[appointment]"] == appointment.uid
    (checkout,) = fresh(OnlineCheckout)
    assert checkout.appointment_id == appointment.id and checkout.course_id is None
    # The same form sent again (a double tap): the same hold, the same page.
    second = client.post(url, data=form)
    assert second.status_code == 303 and second.location == first.location
    assert len(fresh(Appointment)) == 1 and len(fresh(OnlineCheckout)) == 1
    # The held time is taken for everyone else.
    other = app.test_client()
    assert other.get(url).status_code == 302  # "That time is not available"
    assert len(fresh(Appointment)) == 1


def test_the_webhook_twice_records_one_payment_books_once_and_confirms_once(
    client, with_deposit, slot, stripe_webhooks
):
    response, session = book_online(client, slot, stripe_webhooks)
    appointment = the_appointment(slot)
    token = manage_token(appointment)
    back = f"/book/deposit/{token}/paid?session_id={session['id']}"
    paid = stripe_webhooks.pay(session["id"])
    waiting = client.get(back).get_data(as_text=True)
    assert "still waiting to hear from the card company" in waiting
    assert "You are booked" not in waiting

    payload, header = signed(stripe_webhooks, "checkout.session.completed", paid)
    assert stripe_webhooks.deliver(payload, header).status == 200
    assert stripe_webhooks.deliver(payload, header).status == 200
    also = stripe_webhooks.send_event("checkout.session.async_payment_succeeded", paid)
    assert also.status == 200
    late_expiry = stripe_webhooks.send_event("checkout.session.expired", paid)
    assert late_expiry.status == 200

    appointment = the_appointment(slot)
    assert appointment.status == AppointmentStatus.BOOKED and appointment.held_until is None
    (payment,) = fresh(LedgerEntry)
    assert (payment.kind, payment.method, payment.amount_pence) == ("payment", "online", DEPOSIT)
    assert payment.appointment_id == appointment.id
    assert kinds(appointment).count("confirmation") == 1
    (confirmation,) = fresh(OutboxMessage, OutboxMessage.kind == "confirmation")
    assert confirmation.ics_method == "REQUEST"
    rest = appointment.price_pence - DEPOSIT
    assert "£20 deposit paid online" in confirmation.text_body
    assert ledger.amount_owed(appointment) == rest
    assert fresh(OnlineCheckout)[0].status == CheckoutStatus.PAID
    db.session.rollback()
    booked = client.get(back).get_data(as_text=True)
    assert "You are booked" in booked and "still waiting" not in booked


def test_two_deliveries_at_the_same_moment_book_once(
    app, client, with_deposit, slot, stripe_standin
):
    _, session = book_online(client, slot, stripe_standin)
    paid = stripe_standin.pay(session["id"])
    events = [
        ProviderEvent(id=f"evt_same_{n}", type=kind, created=0, data=paid)
        for n, kind in enumerate(online.PAID_EVENTS)
    ]
    db.session.remove()
    outcomes = race(app, 2, lambda number: online.handle_event(events[number]))
    assert sorted(outcomes) == ["ignored", "processed"], outcomes
    appointment = the_appointment(slot)
    assert appointment.status == AppointmentStatus.BOOKED
    assert len(fresh(LedgerEntry)) == 1
    assert kinds(appointment).count("confirmation") == 1


def test_the_cancel_page_keeps_the_hold_and_offers_another_go(
    client, with_deposit, slot, stripe_standin
):
    response, session = book_online(client, slot, stripe_standin)
    appointment = the_appointment(slot)
    token = manage_token(appointment)  # signed once, used for every link
    page = client.get(f"/book/deposit/{token}/cancelled").get_data(as_text=True)
    assert "No payment was taken" in page and "holding this time for you until" in page
    assert f"/book/deposit/{token}/pay" in page
    assert the_appointment(slot).status == AppointmentStatus.HELD
    again = client.post(f"/book/deposit/{token}/pay", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 303 and again.location == response.location  # the same page
    # The confirmation page of a held booking does not say it is booked.
    held = client.get(f"/book/confirmed/{token}")
    assert held.status_code == 302 and held.location.endswith(f"/book/deposit/{token}")


def test_an_expired_hold_is_released_and_its_page_says_so(
    client, with_deposit, slot, stripe_standin
):
    book_online(client, slot, stripe_standin)
    appointment = the_appointment(slot)
    token = manage_token(appointment)
    assert release_expired_holds(utcnow() + timedelta(minutes=31)) == 1
    appointment = the_appointment(slot)
    assert appointment.status == AppointmentStatus.CANCELLED
    assert kinds(appointment) == ["hold_released"]
    page = client.get(f"/book/deposit/{token}").get_data(as_text=True)
    assert "no longer held for you" in page and "/pay" not in page


def _release_and_take(slot):
    release_expired_holds(utcnow() + timedelta(minutes=31))
    book_appointment(
        session_type=get(SessionType, slug="full-combination"),
        starts_at=slot,
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails("Quicker Patient", "quicker@example.org", "07700900777"),
        now=utcnow() + timedelta(minutes=31),
    )


def test_a_payment_after_the_time_was_let_go_and_taken_is_recorded_and_flagged(
    client, with_deposit, slot, stripe_webhooks, receptionist_client
):
    _, session = book_online(client, slot, stripe_webhooks)
    held = the_appointment(slot)
    token = manage_token(held)
    paid = stripe_webhooks.pay(session["id"])
    with db.session.no_autoflush:
        _release_and_take(slot)
    assert stripe_webhooks.send_event("checkout.session.completed", paid).status == 200

    (late,) = fresh(Appointment, Appointment.id == held.id)
    assert late.status == AppointmentStatus.CANCELLED
    told = kinds(late)
    assert "confirmation" not in told
    assert told.count("deposit_refund_due") == 1  # the patient hears it, once
    (letter,) = fresh(OutboxMessage, OutboxMessage.kind == "deposit_refund_due")
    assert "refund the deposit to your card in full" in " ".join(letter.text_body.split())
    # A second delivery of the same payment changes nothing, and tells nobody again.
    assert stripe_webhooks.send_event("checkout.session.completed", paid).status == 200
    assert kinds(late).count("deposit_refund_due") == 1
    assert len(fresh(LedgerEntry)) == 1
    (payment,) = fresh(LedgerEntry)
    assert payment.appointment_id == held.id and payment.amount_pence == DEPOSIT
    (checkout,) = fresh(OnlineCheckout)
    assert checkout.status == CheckoutStatus.PAID and checkout.refund_due_at is not None
    assert fresh(AuditEvent, AuditEvent.action == "deposit.refund_due")
    page = client.get(f"/book/deposit/{token}/paid?session_id={session['id']}")
    assert "will be refunded to your card in full" in " ".join(page.get_data(as_text=True).split())

    # Staff see it on the appointment, and refund it through the existing online refund.
    diary = receptionist_client.get(f"/diary/appointments/{held.id}").get_data(as_text=True)
    assert 'id="deposit-refund-due"' in diary
    refund_page = receptionist_client.get(f"/diary/online-payments/{checkout.id}")
    text = refund_page.get_data(as_text=True)
    assert 'id="refund-due"' in text and 'value="20.00"' in text
    key = re.search(r'name="request_key" type="hidden" value="([0-9a-f]{32})"', text)[1]
    form = {"csrf_token": csrf_token(text), "request_key": key, "amount": "20.00"}
    response = receptionist_client.post(f"/diary/online-payments/{checkout.id}", data=form)
    assert response.status_code == 302
    assert sum(entry.amount_pence for entry in fresh(LedgerEntry)) == 0
    (call,) = stripe_webhooks.api_calls("/v1/refunds")
    assert call.form == {"payment_intent": paid["payment_intent"], "amount": str(DEPOSIT)}


def test_a_payment_after_the_hold_ended_books_the_time_if_it_is_still_free(
    client, with_deposit, slot, stripe_webhooks
):
    _, session = book_online(client, slot, stripe_webhooks)
    paid = stripe_webhooks.pay(session["id"])
    release_expired_holds(utcnow() + timedelta(minutes=31))
    assert stripe_webhooks.send_event("checkout.session.completed", paid).status == 200
    appointment = the_appointment(slot)
    assert appointment.status == AppointmentStatus.BOOKED
    assert kinds(appointment).count("confirmation") == 1
    assert fresh(OnlineCheckout)[0].refund_due_at is None


def test_the_diary_refunds_a_deposit_through_the_online_refund(
    client, with_deposit, slot, stripe_webhooks, receptionist_client
):
    _, session = book_online(client, slot, stripe_webhooks)
    paid = stripe_webhooks.pay(session["id"])
    assert stripe_webhooks.send_event("checkout.session.completed", paid).status == 200
    appointment = the_appointment(slot)
    (checkout,) = fresh(OnlineCheckout)
    diary = receptionist_client.get(f"/diary/appointments/{appointment.id}").get_data(as_text=True)
    assert f"/diary/online-payments/{checkout.id}" in diary
    history = receptionist_client.get(f"/diary/appointments/{appointment.id}/payments")
    (link,) = re.findall(
        r'href="(/diary/ledger-entries/\d+/online-payment)"', history.get_data(as_text=True)
    )
    assert receptionist_client.get(link).location.endswith(f"/diary/online-payments/{checkout.id}")


def test_the_deposits_refund_page_names_a_fee_in_its_history_in_words(
    client, with_deposit, slot, stripe_webhooks, receptionist_client
):
    """The payment history on an online payment's page said 'Fee, no_show' (the stored
    value) where the fee's page and the payments page say 'No-show fee'; both pages now
    draw the history from one macro."""
    _, session = book_online(client, slot, stripe_webhooks)
    paid = stripe_webhooks.pay(session["id"])
    assert stripe_webhooks.send_event("checkout.session.completed", paid).status == 200
    appointment = the_appointment(slot)
    (checkout,) = fresh(OnlineCheckout)
    set_fees(no_show=3000)
    fees.charge_fee(appointment, FeeKind.NO_SHOW, staff_user=receptionist_client.user)
    page = receptionist_client.get(f"/diary/online-payments/{checkout.id}")
    history = page.get_data(as_text=True).split('id="history-title"')[1]
    assert "Fee, No-show fee" in history
    assert "no_show" not in history


# The admin sets it ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("500", "cannot be more than the price"),
        ("-5", "The deposit cannot be negative"),
        ("twenty", "is not a price we can read"),
    ],
)
def test_the_admin_is_told_plainly_when_a_deposit_cannot_be(admin_client, demo, typed, message):
    session_type = get(SessionType, slug="full-combination")
    url = f"/diary/session-types/{session_type.id}"
    page = admin_client.get(url).get_data(as_text=True)
    form = _session_type_form(page, deposit=typed)
    response = admin_client.post(url, data=form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.rollback()
    assert get(SessionType, slug="full-combination").deposit_pence == 0


def test_the_admin_sets_and_clears_a_deposit(admin_client, demo):
    session_type = get(SessionType, slug="full-combination")
    url = f"/diary/session-types/{session_type.id}"
    page = admin_client.get(url).get_data(as_text=True)
    assert admin_client.post(url, data=_session_type_form(page, deposit="20")).status_code == 302
    db.session.rollback()
    assert get(SessionType, slug="full-combination").deposit_pence == 2000
    page = admin_client.get(url).get_data(as_text=True)
    assert 'value="20.00"' in page
    listing = admin_client.get("/diary/session-types").get_data(as_text=True)
    assert "(£20 deposit online)" in listing
    assert admin_client.post(url, data=_session_type_form(page, deposit="")).status_code == 302
    db.session.rollback()
    assert get(SessionType, slug="full-combination").deposit_pence == 0


def _session_type_form(page: str, **changes) -> MultiDict:
    """The session type form as shown (every input and ticked box), with `changes`."""
    from tests.forms import post_forms

    (form,) = [f for f in post_forms(page) if "price" in f.values]
    fields = [
        (name, value)
        for name, values in form.values.items()
        if name not in changes
        for value in values
    ]
    return MultiDict(fields + list(changes.items()))


# What the patient reads ----------------------------------------------------------------------


def test_the_deposit_pages_and_emails_pass_the_patient_copy_checks(
    client, with_deposit, slot, stripe_webhooks
):
    from tests.test_patient_copy import DEFECTS, visible_text

    _, session = book_online(client, slot, stripe_webhooks)
    token = manage_token(the_appointment(slot))
    later = slot + timedelta(hours=3)
    _, other_session = book_online(client, later, stripe_webhooks)
    other = the_appointment(later)
    other_token = manage_token(other)
    paid = stripe_webhooks.pay(other_session["id"])
    with db.session.no_autoflush:
        release_expired_holds(utcnow() + timedelta(minutes=31))
        book_appointment(
            session_type=get(SessionType, slug="full-combination"),
            starts_at=later,
            practitioner=get(Practitioner, slug="colette-assor"),
            patient=PatientDetails("Quicker Patient", "quicker@example.org", "07700900777"),
            now=utcnow() + timedelta(minutes=31),
        )
    assert stripe_webhooks.send_event("checkout.session.completed", paid).status == 200
    reads = {
        "details": client.get(details_url(slot + timedelta(hours=5))).get_data(as_text=True),
        "released": client.get(f"/book/deposit/{token}").get_data(as_text=True),
        "came back": client.get(f"/book/deposit/{token}/cancelled").get_data(as_text=True),
        "waiting": client.get(f"/book/deposit/{token}/paid?session_id={session['id']}").get_data(
            as_text=True
        ),
        "to refund": client.get(
            f"/book/deposit/{other_token}/paid?session_id={other_session['id']}"
        ).get_data(as_text=True),
    }
    assert "Book and pay the £20 deposit" in reads["details"]
    for message in fresh(OutboxMessage):
        if not message.kind.startswith("reception"):
            reads[f"email {message.kind}"] = message.text_body + (message.html_body or "")
    assert {"email hold_released", "email deposit_refund_due"} <= set(reads)
    found = {
        (label, defect): hits
        for label, markup in reads.items()
        for defect, find in DEFECTS.items()
        if (hits := find(visible_text(markup)))
    }
    assert found == {}


def test_a_late_payment_losing_the_race_for_its_time_at_the_database_is_still_recorded(
    client, with_deposit, slot, stripe_webhooks, backend, monkeypatch
):
    """The application's check said free, but another booking got there first: PostgreSQL's
    exclusion constraint refuses the booking inside a savepoint, and the payment is kept."""
    if backend != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL; SQLite relies on the lock")
    from booking.clinic import held_appointments

    _, session = book_online(client, slot, stripe_webhooks)
    held = the_appointment(slot)
    paid = stripe_webhooks.pay(session["id"])
    with db.session.no_autoflush:
        _release_and_take(slot)
    monkeypatch.setattr(held_appointments, "_still_free", lambda appointment, now: True)
    assert stripe_webhooks.send_event("checkout.session.completed", paid).status == 200
    (late,) = fresh(Appointment, Appointment.id == held.id)
    assert late.status == AppointmentStatus.CANCELLED
    (payment,) = fresh(LedgerEntry)
    assert payment.appointment_id == held.id
    assert fresh(OnlineCheckout)[0].refund_due_at is not None


def test_releasing_a_hold_closes_its_payment_page_so_it_takes_no_payment(
    client, with_deposit, slot, stripe_standin
):
    from booking.clinic import jobs

    _, session = book_online(client, slot, stripe_standin)
    later = utcnow() + timedelta(minutes=31)
    stripe_standin.fail_next(500, "Something went wrong on Stripe's end.")
    jobs._release_expired_holds(later)  # Stripe unwell: the page stays open, tried again later
    assert the_appointment(slot).status == AppointmentStatus.CANCELLED
    assert fresh(OnlineCheckout)[0].status == CheckoutStatus.OPEN
    jobs._release_expired_holds(later)
    expiring = [c for c in stripe_standin.api_calls() if c.path.endswith("/expire")]
    assert [c.path for c in expiring] == [f"/v1/checkout/sessions/{session['id']}/expire"] * 2
    assert fresh(OnlineCheckout)[0].status == CheckoutStatus.EXPIRED
    assert stripe_standin.sessions[session["id"]]["status"] == "expired"
    assert stripe_standin.pay(session["id"])["payment_status"] == "unpaid"
    jobs._release_expired_holds(later)  # nothing more to close
    assert len([c for c in stripe_standin.api_calls() if c.path.endswith("/expire")]) == 2
