"""Fees paid online by the emailed link, against the Stripe stand-in; and the receipt every
online payment gets by itself (the fee's here, the course's in tests/test_online_receipts.py).

The stand-in (tests/stripe_standin.py) speaks Stripe's protocol; events reach the app
either over real HTTP, signed (stripe_webhooks), or straight through the domain's
`online.handle_event` where two must meet at the database at once.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic.documents.automatic import receipt_for_online_payment
from booking.clinic.localtime import local_to_utc, local_today
from booking.clinic.payments import fees, ledger, online
from booking.clinic.payments.provider import ProviderEvent
from booking.clinic.tokens import fee_of_token
from booking.clinic.transaction import unit_of_work
from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    CheckoutStatus,
    Document,
    FeeCheckout,
    FeeKind,
    LedgerEntry,
    OutboxAttachment,
    OutboxMessage,
    StaffUser,
)
from tests.at_once import race
from tests.forms import csrf_token
from tests.pdf_text import pdf_text
from tests.test_fees_desk import set_fees

LONDON = ZoneInfo("Europe/London")
# A fixed Tuesday in the past: the fee's page, email and receipt print the visit's date.
VISIT_DAY = date(2026, 3, 10)
TOKEN = r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"


def fresh() -> None:
    db.session.rollback()  # a fresh read: the webhook ran on another connection


def count(model, *conditions) -> int:
    fresh()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


@pytest.fixture
def reception(app, demo, make_staff) -> StaffUser:
    return make_staff("receptionist")


def zoes_massage(make_appointment, make_patient, status: str) -> Appointment:
    """Zoë's £65 massage with Colette on 10 March 2026 at 10:00, with the clinic's fees set
    (£30 for a missed visit, £20 for a late cancellation)."""
    set_fees(no_show=3000, late=2000)
    patient = make_patient("Zoë Łukasiewicz", email="zoe@example.org")
    return make_appointment(
        local_to_utc(VISIT_DAY, time(10), LONDON),
        patient=patient,
        price_pence=6500,
        status=status,
    )


@pytest.fixture
def missed(demo, make_appointment, make_patient) -> Appointment:
    """Zoë's massage, which she missed."""
    return zoes_massage(make_appointment, make_patient, "no_show")


def charge(appointment: Appointment, staff: StaffUser, kind=FeeKind.NO_SHOW) -> LedgerEntry:
    return fees.charge_fee(appointment, kind, staff_user=staff)


def fee_email() -> OutboxMessage:
    fresh()
    (message,) = db.session.scalars(sa.select(OutboxMessage).filter_by(kind="fee_due")).all()
    return message


def link_in(message: OutboxMessage) -> str:
    """The fee page's path in the email (checked to be the same in both its parts)."""
    (found,) = re.findall(rf"(https?://[^/\s]+)(/fee/{TOKEN})", message.text_body)
    base, text_link = found
    assert f'href="{base}{text_link}"' in message.html_body
    return text_link


def pay_button(client, link: str):
    page = client.get(link).get_data(as_text=True)
    assert f'action="{link}/pay"' in page
    return client.post(f"{link}/pay", data={"csrf_token": csrf_token(page)})


def receipt_emails() -> list[OutboxMessage]:
    fresh()
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like("document:REC-%:automatic"))
            .order_by(OutboxMessage.id)
        )
    )


def paid_event(session: dict, event_id: str, kind="checkout.session.completed") -> ProviderEvent:
    return ProviderEvent(id=event_id, type=kind, created=0, data=session)


# Without keys: the balance, as before ------------------------------------------------------


def test_without_keys_a_fee_goes_on_the_balance_and_nothing_online_is_offered(
    client, missed, reception, app
):
    assert not app.config["STRIPE_SECRET_KEY"]
    fee = charge(missed, reception)
    assert ledger.balance(missed.patient).owed_pence == 6500 + 3000
    assert count(OutboxMessage, OutboxMessage.kind == "fee_due") == 0
    # A link signed all the same opens nothing.
    from booking.clinic.tokens import fee_token

    token = fee_token(missed, fee.fee_kind)
    assert client.get(f"/fee/{token}").status_code == 404
    assert client.post(f"/fee/{token}/pay").status_code in (400, 404)


# The email and the page --------------------------------------------------------------------


def test_a_confirmed_fee_emails_a_signed_link_to_a_page_saying_what_and_why(
    client, missed, reception, stripe_standin
):
    charge(missed, reception)
    message = fee_email()
    assert message.recipient == "zoe@example.org"
    assert message.subject == "No-show fee of £30.00: you can pay it online"
    assert "You did not come to your Massage appointment with Colette Assor on" in (
        message.text_body
    )
    assert "we never see or keep your card details" in message.text_body
    link = link_in(message)
    token = link.removeprefix("/fee/")
    assert fee_of_token(token) == (missed.uid, "no_show")
    # The address holds the signed token only: the appointment's random uid, no name.
    assert re.fullmatch(rf"/fee/{TOKEN}", link)

    page = client.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "No-show fee" in html and "£30.00" in html
    assert 'id="fee-status">To pay<' in html
    assert "Tuesday 10 March 2026" in html
    assert "You did not come to your Massage appointment" in html
    assert "Pay £30.00 now" in html
    assert page.headers["Cache-Control"] == "no-store" and "noindex" in html
    # A spoiled token opens nothing.
    assert client.get(link[:-3] + "abc").status_code == 404


def test_a_late_cancellation_fee_says_so(client, demo, make_appointment, reception, stripe_standin):
    set_fees(late=2000)
    cancelled = make_appointment(
        local_to_utc(VISIT_DAY, time(15), LONDON), price_pence=6500, status="cancelled"
    )
    charge(cancelled, reception, FeeKind.LATE_CANCELLATION)
    html = client.get(link_in(fee_email())).get_data(as_text=True)
    assert "Late cancellation fee" in html and "£20.00" in html
    assert "was cancelled less than 24 hours before it was due to start" in html


def test_a_waived_fee_says_so_and_offers_no_payment(client, missed, reception, stripe_standin):
    fee = charge(missed, reception)
    link = link_in(fee_email())
    page = client.get(link).get_data(as_text=True)
    fees.waive_fee(fee, staff_user=reception, reason="Her bus broke down")

    html = client.get(link).get_data(as_text=True)
    assert 'id="fee-status">Waived<' in html
    assert "We have waived this fee, so there is nothing to pay." in html
    assert "/pay" not in html
    # The button of a page opened before the waiver is refused plainly.
    refused = client.post(f"{link}/pay", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 302
    shown = client.get(refused.location).get_data(as_text=True)
    assert "This fee was waived, so there is nothing to pay." in shown
    assert stripe_standin.api_calls() == []


# Paying ------------------------------------------------------------------------------------


def test_paying_sends_the_patient_to_the_hosted_page_for_the_fee(
    client, missed, reception, stripe_standin
):
    fee = charge(missed, reception)
    link = link_in(fee_email())
    response = pay_button(client, link)
    assert response.status_code == 303
    (call,) = stripe_standin.api_calls()
    checkout = db.session.scalar(sa.select(FeeCheckout))
    assert response.location == stripe_standin.sessions[checkout.provider_session_id]["url"]
    assert call.headers["idempotency-key"] == checkout.uid
    form = call.form
    assert form["line_items[0][price_data][unit_amount]"] == "3000"
    assert form["line_items[0][price_data][product_data][name]"] == "No-show fee: Massage"
    assert form["metadata[fee]"] == checkout.uid
    assert form["metadata[appointment]"] == missed.uid
    assert form["customer_email"] == "zoe@example.org"
    assert form["success_url"] == f"http://localhost{link}?session_id={{CHECKOUT_SESSION_ID}}"
    assert form["cancel_url"] == f"http://localhost{link}?cancelled=1"
    assert checkout.fee_entry_id == fee.id and checkout.status == CheckoutStatus.OPEN

    # Pressing Pay again while the page is open offers the same page.
    again = pay_button(client, link)
    assert again.location == response.location and len(stripe_standin.api_calls()) == 1

    # Coming back without paying: nothing charged, the button again.
    back = client.get(f"{link}?cancelled=1").get_data(as_text=True)
    assert "You left the payment page, so nothing was charged." in back
    assert "Pay £30.00 now" in back


def test_the_webhook_records_the_fee_once_and_emails_one_receipt(
    client, missed, reception, stripe_webhooks
):
    charge(missed, reception)
    link = link_in(fee_email())
    response = pay_button(client, link)
    session = stripe_webhooks.pay(response.location.rsplit("/", 1)[-1])
    # Back before the webhook: the page waits for it and says so.
    waiting = client.get(f"{link}?session_id={session['id']}").get_data(as_text=True)
    assert "We are confirming your payment" in waiting

    payload = stripe_webhooks.event("checkout.session.completed", session)
    header = stripe_webhooks.sign(payload)
    for _ in range(2):  # Stripe delivers again
        assert stripe_webhooks.deliver(payload, header).status == 200
    also = stripe_webhooks.send_event("checkout.session.async_payment_succeeded", session)
    assert also.status == 200
    expired = dict(session, status="expired", payment_status="unpaid")
    assert stripe_webhooks.send_event("checkout.session.expired", expired).status == 200

    fresh()
    payments = db.session.scalars(sa.select(LedgerEntry).filter_by(kind="payment")).all()
    assert [(p.method, p.amount_pence, p.recorded_by_name) for p in payments] == [
        ("online", 3000, "Online")
    ]
    assert payments[0].provider_reference == session["payment_intent"]
    assert payments[0].appointment_id == missed.id
    assert db.session.scalar(sa.select(FeeCheckout.status)) == CheckoutStatus.PAID
    appointment = db.session.get(Appointment, missed.id)
    assert ledger.amount_owed(appointment) == 6500  # the session's price is still owed
    assert "fee.paid_online" in db.session.scalars(sa.select(AuditEvent.action)).all()

    (receipt,) = db.session.scalars(sa.select(Document).filter_by(kind="receipt")).all()
    assert receipt.ledger_entry_id == payments[0].id and receipt.paid_pence == 3000
    (email,) = receipt_emails()
    assert email.recipient == "zoe@example.org"
    assert email.subject == f"Your receipt {receipt.reference}"
    assert "Thank you for your payment of £30.00" in email.text_body
    (attachment,) = db.session.scalars(
        sa.select(OutboxAttachment).filter_by(message_id=email.id)
    ).all()
    assert attachment.filename == f"{receipt.reference}.pdf"
    assert attachment.content_type == "application/pdf"

    paid = client.get(f"{link}?session_id={session['id']}").get_data(as_text=True)
    assert 'id="fee-status">Paid<' in paid
    assert "Payment received: thank you. We have emailed you a receipt." in paid
    assert "/pay" not in paid
    plain = client.get(link).get_data(as_text=True)
    assert "This fee is paid. Thank you." in plain


def test_the_automatic_receipt_reads_field_by_field(client, missed, reception, stripe_standin):
    with unit_of_work():
        missed.practitioner.professional_body = "HCPC"
        missed.practitioner.registration_number = "PH123456"
        missed.patient.date_of_birth = date(1985, 4, 2)
    charge(missed, reception)
    response = pay_button(client, link_in(fee_email()))
    session = stripe_standin.pay(response.location.rsplit("/", 1)[-1])
    assert online.handle_event(paid_event(session, "evt_fee_pdf")) == "processed"

    (email,) = receipt_emails()
    attachment = db.session.scalar(sa.select(OutboxAttachment).filter_by(message_id=email.id))
    payment = db.session.scalar(sa.select(LedgerEntry).filter_by(kind="payment"))
    paid_on = local_today(payment.recorded_at, LONDON)
    lines = pdf_text(attachment.content).splitlines()
    assert "Receipt REC-000001" in lines
    assert "Patient Zoë Łukasiewicz" in lines
    assert "Date of birth 2 April 1985" in lines
    assert "Practitioner Colette Assor" in lines
    assert "Professional body HCPC" in lines
    assert "Registration number PH123456" in lines
    assert "10 March 2026 Massage Colette Assor £65.00" in lines
    assert "10 March 2026 No-show fee: Massage Colette Assor £30.00" in lines
    assert "Amount paid £30.00" in lines
    assert f"Paid by online payment on {paid_on.day} {paid_on:%B %Y}" in lines
    assert "Total £95.00" in lines
    # A receipt shows the payment it is for, not what is left (that is the invoice's).
    assert not any(line.startswith("Still to pay") for line in lines)


def test_a_fee_paid_meanwhile_at_the_desk_is_shown_paid(client, missed, reception, stripe_standin):
    charge(missed, reception)
    link = link_in(fee_email())
    ledger.record_payment(db.session.get(Appointment, missed.id), 9500, "card", reception)
    html = client.get(link).get_data(as_text=True)
    assert 'id="fee-status">Paid<' in html and "/pay" not in html


# Once, whatever arrives at once ------------------------------------------------------------


def test_two_events_for_one_fee_payment_at_once_record_one_payment_and_one_receipt(
    app, client, missed, reception, stripe_standin
):
    charge(missed, reception)
    response = pay_button(client, link_in(fee_email()))
    session = stripe_standin.pay(response.location.rsplit("/", 1)[-1])
    events = [
        paid_event(session, "evt_fee_a", "checkout.session.completed"),
        paid_event(session, "evt_fee_b", "checkout.session.async_payment_succeeded"),
    ]
    db.session.remove()

    outcomes = race(app, 2, lambda number: online.handle_event(events[number]))

    assert sorted(outcomes) == ["ignored", "processed"]
    assert count(LedgerEntry, LedgerEntry.kind == "payment") == 1
    assert count(Document, Document.kind == "receipt") == 1
    assert len(receipt_emails()) == 1


def test_two_workers_issuing_one_payments_receipt_at_once_issue_one(
    app, missed, reception, stripe_standin
):
    """The receipt's own guarantee, straight: two workers for one online payment."""
    paid = ledger.record_payment(
        missed, 3000, "online", None, reference="pi_x", provider_reference="pi_x"
    )
    entry_id = paid.entry.id
    db.session.remove()

    outcomes = race(app, 2, lambda _n: receipt_for_online_payment(entry_id).reference)

    assert outcomes == ["REC-000001", "REC-000001"]
    assert count(Document) == 1
    assert len(receipt_emails()) == 1


def test_an_expired_fee_page_is_not_offered_again(client, missed, reception, stripe_standin):
    charge(missed, reception)
    link = link_in(fee_email())
    first = pay_button(client, link)
    session = stripe_standin.sessions[first.location.rsplit("/", 1)[-1]]
    expired = dict(session, status="expired")
    assert online.handle_event(paid_event(expired, "evt_exp", "checkout.session.expired")) == (
        "processed"
    )
    assert count(FeeCheckout, FeeCheckout.status == CheckoutStatus.EXPIRED) == 1
    second = pay_button(client, link)
    assert second.status_code == 303 and second.location != first.location


def test_a_refund_of_a_fee_made_in_the_dashboard_reaches_the_ledger_once(
    client, missed, reception, stripe_standin
):
    charge(missed, reception)
    response = pay_button(client, link_in(fee_email()))
    session = stripe_standin.pay(response.location.rsplit("/", 1)[-1])
    online.handle_event(paid_event(session, "evt_fee_paid"))
    refund = stripe_standin._create_refund(
        {"payment_intent": session["payment_intent"], "amount": "3000"}
    )[1]
    for number in range(2):
        event = ProviderEvent(id=f"evt_r{number}", type="refund.created", created=0, data=refund)
        online.handle_event(event)
    fresh()
    (entry,) = db.session.scalars(sa.select(LedgerEntry).filter_by(kind="refund")).all()
    assert (entry.amount_pence, entry.provider_reference) == (-3000, refund["id"])
    assert count(Document, Document.kind == "credit_note") == 1
    credit_emails = count(OutboxMessage, OutboxMessage.dedupe_key.like("document:CN-%:automatic"))
    assert credit_emails == 1


def test_marking_a_no_show_with_its_fee_in_the_diary_emails_the_link_and_says_so(
    receptionist_client, demo, make_appointment, stripe_standin
):
    """The desk reads that the patient was sent the link, as well as the balance."""
    set_fees(no_show=3000)
    visit = make_appointment(datetime.now(UTC) - timedelta(days=1), price_pence=6500)
    page = receptionist_client.get(f"/diary/appointments/{visit.id}").get_data(as_text=True)
    response = receptionist_client.post(
        f"/diary/appointments/{visit.id}/attendance",
        data={"csrf_token": csrf_token(page), "attendance-status": "no_show", "charge_fee": "yes"},
        follow_redirects=True,
    )
    said = response.get_data(as_text=True).replace("&#39;", "'")
    assert "A no-show fee of £30.00 was added to the patient's balance." in said
    assert "They were emailed a link to pay it online." in said
    message = fee_email()
    assert message.recipient == db.session.get(Appointment, visit.id).patient.email


def test_the_fee_pages_and_emails_pass_the_patient_copy_checks(
    client, missed, reception, stripe_standin
):
    from tests.test_patient_copy import DEFECTS, visible_text

    fee = charge(missed, reception)
    message = fee_email()
    link = link_in(message)
    read = {
        "fee email": message.text_body + "\n" + message.html_body,
        "fee page, due": client.get(link).get_data(as_text=True),
        "fee page, left": client.get(f"{link}?cancelled=1").get_data(as_text=True),
    }
    response = pay_button(client, link)
    session = stripe_standin.pay(response.location.rsplit("/", 1)[-1])
    read["fee page, confirming"] = client.get(f"{link}?session_id={session['id']}").get_data(
        as_text=True
    )
    online.handle_event(paid_event(session, "evt_copy"))
    (receipt_email,) = receipt_emails()
    read["receipt email"] = receipt_email.text_body + "\n" + receipt_email.html_body
    read["fee page, paid"] = client.get(f"{link}?session_id={session['id']}").get_data(as_text=True)
    fees.waive_fee(db.session.get(LedgerEntry, fee.id), staff_user=reception)
    read["fee page, paid then waived"] = client.get(link).get_data(as_text=True)
    assert 'id="fee-status">Paid<' in read["fee page, paid then waived"]
    assert "we will refund your payment" in read["fee page, paid then waived"]

    found = {
        (label, defect): hits
        for label, markup in read.items()
        for defect, find in DEFECTS.items()
        if (hits := find(visible_text(markup)))
    }
    assert found == {}


# Refunding a fee paid online, from the diary -------------------------------------------------


def test_reception_refunds_a_fee_paid_online_through_stripe_once(
    client, missed, reception, stripe_webhooks, receptionist_client, practitioner_client
):
    charge(missed, reception)
    response = pay_button(client, link_in(fee_email()))
    session = stripe_webhooks.pay(response.location.rsplit("/", 1)[-1])
    assert stripe_webhooks.send_event("checkout.session.completed", session).status == 200
    checkout = db.session.scalar(sa.select(FeeCheckout))

    history = receptionist_client.get(f"/diary/appointments/{missed.id}/payments")
    (link,) = re.findall(
        r'href="(/diary/ledger-entries/\d+/online-payment)"', history.get_data(as_text=True)
    )
    url = f"/diary/fee-payments/{checkout.id}"
    assert receptionist_client.get(link).location.endswith(url)
    assert practitioner_client.get(url).status_code == 403
    page = receptionist_client.get(url).get_data(as_text=True)
    assert "No-show fee paid online" in page and 'value="30.00"' in page
    key = re.search(r'name="request_key" type="hidden" value="([0-9a-f]{32})"', page)[1]
    form = {"csrf_token": csrf_token(page), "request_key": key, "amount": "10"}
    for _ in range(2):  # a double click
        assert receptionist_client.post(url, data=form).status_code == 302
    calls = stripe_webhooks.api_calls("/v1/refunds")
    assert [call.form for call in calls] == [
        {"payment_intent": session["payment_intent"], "amount": "1000"}
    ] * 2
    # The same key both times: Stripe answers the second with the first refund.
    assert {call.headers["idempotency-key"] for call in calls} == {f"refund-{checkout.uid}-{key}"}
    assert len(stripe_webhooks.refunds) == 1

    fresh()
    (refund,) = db.session.scalars(sa.select(LedgerEntry).filter_by(kind="refund")).all()
    assert refund.amount_pence == -1000
    assert refund.recorded_by_id == receptionist_client.user.id
    assert count(OutboxMessage, OutboxMessage.dedupe_key.like("document:CN-%:automatic")) == 1
    # Stripe's own report of the same refund changes nothing.
    assert (
        stripe_webhooks.send_event(
            "refund.created", stripe_webhooks.refunds[refund.provider_reference]
        ).status
        == 200
    )
    assert count(LedgerEntry, LedgerEntry.kind == "refund") == 1
    shown = receptionist_client.get(url).get_data(as_text=True)
    assert 'value="20.00"' in shown

    # The refund then fails at Stripe: the money is back, and the link to refund it again
    # is on the payment, not on the money that came back.
    stripe_webhooks.fail_refund(refund.provider_reference, events=("refund.failed",))
    fresh()
    appointment = db.session.get(Appointment, missed.id)
    assert ledger.amount_paid(appointment) == 3000
    history = receptionist_client.get(f"/diary/appointments/{missed.id}/payments")
    html = history.get_data(as_text=True)
    assert "Stripe could not make the refund of £10.00" in html
    assert len(re.findall(r"/diary/ledger-entries/\d+/online-payment", html)) == 1
    assert 'value="30.00"' in receptionist_client.get(url).get_data(as_text=True)


def test_a_refund_stripe_refuses_for_a_fee_is_shown_and_nothing_recorded(
    client, missed, reception, stripe_standin, receptionist_client
):
    charge(missed, reception)
    response = pay_button(client, link_in(fee_email()))
    session = stripe_standin.pay(response.location.rsplit("/", 1)[-1])
    online.handle_event(paid_event(session, "evt_fee_refused"))
    checkout = db.session.scalar(sa.select(FeeCheckout))
    url = f"/diary/fee-payments/{checkout.id}"
    page = receptionist_client.get(url).get_data(as_text=True)
    key = re.search(r'name="request_key" type="hidden" value="([0-9a-f]{32})"', page)[1]
    for amount, status, said in (
        ("30.01", 409, "more than is left to refund"),
        ("nothing", 422, "is not a price we can read"),
    ):
        form = {"csrf_token": csrf_token(page), "request_key": key, "amount": amount}
        answer = receptionist_client.post(url, data=form)
        assert answer.status_code == status and said in answer.get_data(as_text=True)
    stripe_standin.fail_next(400, "Charge ch_1 has been charged back; it cannot be refunded.")
    form = {"csrf_token": csrf_token(page), "request_key": key, "amount": "30"}
    answer = receptionist_client.post(url, data=form)
    assert answer.status_code == 409
    assert "Stripe refused to make the refund: Charge ch_1 has been charged back" in (
        answer.get_data(as_text=True)
    )
    assert count(LedgerEntry, LedgerEntry.kind == "refund") == 0


# Paid through the link, then waived: the payment goes back to the card ----------------------


@pytest.fixture
def cancelled_late(demo, make_appointment, make_patient) -> Appointment:
    """Zoë's massage, cancelled too late: only the £20 fee is owed."""
    return zoes_massage(make_appointment, make_patient, "cancelled")


def paid_through_the_link(client, appointment, staff, standin) -> tuple[LedgerEntry, str, dict]:
    """The late fee charged, its link emailed, paid on Stripe's page (the webhook recorded)."""
    fee = charge(appointment, staff, FeeKind.LATE_CANCELLATION)
    link = link_in(fee_email())
    session = standin.pay(pay_button(client, link).location.rsplit("/", 1)[-1])
    assert online.handle_event(paid_event(session, "evt_fee_paid")) == "processed"
    return fee, link, session


def waive_in_the_diary(staff_client, appointment: Appointment, fee: LedgerEntry) -> str:
    page = staff_client.get(f"/diary/appointments/{appointment.id}/payments")
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "waive-reason": "Hospital"}
    response = staff_client.post(f"/diary/fees/{fee.id}/waive", data=form, follow_redirects=True)
    return " ".join(response.get_data(as_text=True).replace("&#39;", "'").split())


def test_waiving_a_fee_paid_through_its_link_refunds_that_payment_to_the_card_once(
    client, cancelled_late, reception, stripe_standin, receptionist_client
):
    missed = cancelled_late
    fee, link, session = paid_through_the_link(client, missed, reception, stripe_standin)

    said = waive_in_the_diary(receptionist_client, missed, fee)
    assert (
        "The fee is waived; the £20 paid for it online through the fee link has been refunded "
        "to the patient's card." in said
    )
    assert "at the clinic" not in said
    (call,) = stripe_standin.api_calls("/v1/refunds")
    assert call.form == {"payment_intent": session["payment_intent"], "amount": "2000"}
    assert call.headers["idempotency-key"].endswith(f"-waived-{fee.id}")
    fresh()
    (refund,) = db.session.scalars(sa.select(LedgerEntry).filter_by(kind="refund")).all()
    assert (refund.amount_pence, refund.method) == (-2000, "online")
    appointment = db.session.get(Appointment, missed.id)
    assert ledger.amount_owed(appointment) == 0  # not left in credit
    (note,) = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("document:CN-%:automatic"))
    ).all()
    assert "We have refunded £20.00 to the card you paid with." in note.text_body
    (returned,) = db.session.scalars(
        sa.select(AuditEvent).filter_by(action="fee.waived_deposit_returned")
    ).all()
    assert returned.details["fee_online_pence"] == 2000
    assert returned.details["by_hand_pence"] == 0

    page = " ".join(client.get(link).get_data(as_text=True).split())
    assert "We have since waived this fee and refunded your payment to the card you paid with" in (
        page
    )
    assert "we will refund your payment" not in page
    # Stripe's own report of the same refund changes nothing.
    stripe_refund = stripe_standin.refunds[refund.provider_reference]
    assert online.handle_event(paid_event(stripe_refund, "evt_fee_refund", "refund.created"))
    assert count(LedgerEntry, LedgerEntry.kind == "refund") == 1


def test_a_refund_stripe_refuses_for_a_waived_fee_is_left_to_staff_in_true_words(
    client, cancelled_late, reception, stripe_standin, receptionist_client
):
    missed = cancelled_late
    fee, link, _session = paid_through_the_link(client, missed, reception, stripe_standin)
    stripe_standin.fail_next(400, "Charge ch_1 has been charged back; it cannot be refunded.")

    said = waive_in_the_diary(receptionist_client, missed, fee)
    assert (
        "the patient paid £20 for it online through the fee link and is owed £20: the refund "
        "to their card could not be made just now, so make it from the fee payment's refund "
        "page" in said
    )
    assert "at the clinic" not in said
    assert count(LedgerEntry, LedgerEntry.kind == "refund") == 0
    fresh()
    assert ledger.amount_owed(db.session.get(Appointment, missed.id)) == -2000  # owed back
    page = " ".join(client.get(link).get_data(as_text=True).split())
    assert "Please call us on" in page and "we will refund your payment" in page
