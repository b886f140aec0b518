"""Documents that issue themselves when money moves online, and refunds that fail at Stripe.

- A course paid online gets its numbered receipt, emailed with the PDF, once however
  often (or however simultaneously) the webhook arrives.
- An online refund gets its credit note, emailed, once.
- A refund Stripe later reports as failed or cancelled puts the money back: the
  ledger, the balance and the takings show it, the credit note is balanced by a
  receipt naming it, emailed to the patient once with a few words saying the refund
  did not reach them; staff read why on the payments page, audited, once per refund id.
"""

import re

import pytest
import sqlalchemy as sa

from booking.clinic.documents.pdf import long_date, render
from booking.clinic.localtime import local_today
from booking.clinic.money import format_money_exact
from booking.clinic.payments import ledger, online, takings
from booking.clinic.payments.provider import ProviderEvent
from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import (
    AuditEvent,
    Course,
    Document,
    LedgerEntry,
    OutboxAttachment,
    OutboxMessage,
    RefundFailure,
)
from tests.at_once import race
from tests.forms import csrf_token
from tests.pdf_text import pdf_text
from tests.test_online_payment import (
    _paid_course,
    _paid_session,
    _signed,
    ledger_entries,
    the_checkout,
    the_course,
)


def fresh() -> None:
    db.session.rollback()


def count(model, *conditions) -> int:
    fresh()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


def automatic_emails(prefix: str) -> list[OutboxMessage]:
    fresh()
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like(f"document:{prefix}-%:automatic"))
            .order_by(OutboxMessage.id)
        )
    )


def attached_pdf(message: OutboxMessage) -> bytes:
    (attachment,) = db.session.scalars(
        sa.select(OutboxAttachment).filter_by(message_id=message.id)
    ).all()
    assert attachment.content_type == "application/pdf"
    return attachment.content


def day_of(entry: LedgerEntry) -> str:
    return long_date(local_today(entry.recorded_at, clinic_settings().zone))


def words(text: str) -> str:
    """The PDF's words in reading order (a description wraps in its column)."""
    return " ".join(word for line in text.splitlines() for word in line.split())


# Receipts for courses paid online ------------------------------------------------------------


def test_a_course_paid_online_gets_one_receipt_emailed_with_its_pdf(client, demo, stripe_webhooks):
    course, session = _paid_session(client, stripe_webhooks)
    payload, header = _signed(stripe_webhooks, "checkout.session.completed", session)
    for _ in range(2):
        assert stripe_webhooks.deliver(payload, header).status == 200
    also = stripe_webhooks.send_event("checkout.session.async_payment_succeeded", session)
    assert also.status == 200

    (payment,) = ledger_entries()
    (receipt,) = db.session.scalars(sa.select(Document).filter_by(kind="receipt")).all()
    assert (receipt.reference, receipt.ledger_entry_id) == ("REC-000001", payment.id)
    assert receipt.course_id == course.id and receipt.issued_by_id is None
    (email,) = automatic_emails("REC")
    assert email.recipient == "ada@example.org"
    assert email.subject == "Your receipt REC-000001"
    assert "Thank you for your payment of £950.00" in email.text_body
    assert "REC-000001" in email.html_body
    lines = pdf_text(attached_pdf(email)).splitlines()
    assert "Receipt REC-000001" in lines
    assert "Patient Ada Online" in lines
    assert "Total £950.00" in lines
    assert "Amount paid £950.00" in lines
    assert f"Paid by online payment on {day_of(payment)}" in lines
    assert course.product.name in words("\n".join(lines))


def test_the_same_webhook_four_times_at_once_issues_one_receipt_and_one_email(
    client, demo, stripe_webhooks, app
):
    _course, session = _paid_session(client, stripe_webhooks)
    payload, header = _signed(stripe_webhooks, "checkout.session.completed", session)
    db.session.remove()

    outcomes = race(app, 4, lambda _n: str(stripe_webhooks.deliver(payload, header).status))

    assert outcomes == ["200"] * 4
    assert count(Document) == 1
    assert len(automatic_emails("REC")) == 1
    assert count(Document, Document.reference == "REC-000001") == 1


def test_two_different_events_for_one_course_payment_at_once_issue_one_receipt(
    client, demo, stripe_standin, app
):
    _course, session = _paid_session(client, stripe_standin)
    events = [
        ProviderEvent(id=f"evt_two_{n}", type=kind, created=0, data=session)
        for n, kind in enumerate(sorted(online.PAID_EVENTS))
    ]
    db.session.remove()

    outcomes = race(app, 2, lambda number: online.handle_event(events[number]))

    assert sorted(outcomes) == ["ignored", "processed"]
    assert count(Document, Document.kind == "receipt") == 1
    assert len(automatic_emails("REC")) == 1


# Credit notes for online refunds -------------------------------------------------------------


def _refund_from_the_diary(staff, checkout, amount: str) -> str:
    url = f"/diary/online-payments/{checkout.id}"
    page = staff.get(url).get_data(as_text=True)
    key = re.search(r'name="request_key" type="hidden" value="([0-9a-f]{32})"', page)[1]
    form = {"csrf_token": csrf_token(page), "request_key": key, "amount": amount}
    assert staff.post(url, data=form).status_code == 302
    refund = [e for e in ledger_entries() if e.kind == "refund"][-1]
    return refund.provider_reference


def test_an_online_refund_emails_its_credit_note_once(
    client, demo, stripe_webhooks, receptionist_client
):
    _paid_course(client, stripe_webhooks)
    refund_id = _refund_from_the_diary(receptionist_client, the_checkout(), "100.50")
    # Stripe reports the same refund later, twice.
    for kind in ("refund.created", "charge.refund.updated"):
        sent = stripe_webhooks.send_event(kind, stripe_webhooks.refunds[refund_id])
        assert sent.status == 200

    refund = ledger_entries()[1]
    (note,) = db.session.scalars(sa.select(Document).filter_by(kind="credit_note")).all()
    assert note.ledger_entry_id == refund.id
    (email,) = automatic_emails("CN")
    assert email.subject == "Your credit note CN-000001"
    assert "We have refunded £100.50 to the card you paid with." in email.text_body
    lines = pdf_text(attached_pdf(email)).splitlines()
    assert "Credit note CN-000001" in lines
    receipt = db.session.scalar(sa.select(Document).filter_by(kind="receipt"))
    assert f"Credit for REC-000001 of {long_date(receipt.issued_on)}" in lines
    assert "Refunded £100.50" in lines
    assert f"Refunded by online payment on {day_of(refund)}" in lines


# Refunds that fail at Stripe -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "events", "why"),
    [
        (
            "failed",
            ("refund.updated", "refund.failed", "charge.refund.updated"),
            "because the card has expired or was cancelled",
        ),
        ("canceled", ("refund.updated", "charge.refunded"), "it was cancelled"),
    ],
)
def test_a_refund_that_fails_at_stripe_puts_the_money_back_once(
    client, demo, stripe_webhooks, receptionist_client, status, events, why
):
    course, _session = _paid_course(client, stripe_webhooks)
    checkout = the_checkout()
    refund_id = _refund_from_the_diary(receptionist_client, checkout, "100.50")
    assert ledger.amount_paid(the_course()) == 95000 - 10050

    deliveries = stripe_webhooks.fail_refund(refund_id, status=status, events=events)
    assert [delivery.status for delivery in deliveries] == [200] * len(events)
    # Stripe delivers the last of them again.
    again = stripe_webhooks.deliver(deliveries[-1].payload, deliveries[-1].header)
    assert again.status == 200

    entries = ledger_entries()
    assert [(e.kind, e.method, e.amount_pence) for e in entries] == [
        ("payment", "online", 95000),
        ("refund", "online", -10050),
        ("payment", "online", 10050),
    ]
    back = entries[2]
    assert back.provider_reference == f"{refund_id}:reversed"
    assert back.recorded_by_name == "Online"
    (failure,) = db.session.scalars(sa.select(RefundFailure)).all()
    assert (failure.refund_id, failure.status, failure.amount_pence) == (refund_id, status, 10050)
    assert (failure.refund_entry_id, failure.reversal_entry_id) == (entries[1].id, back.id)

    # The balance and the takings show the money back.
    course = db.session.get(Course, course.id)
    assert ledger.amount_paid(course) == 95000
    assert ledger.balance(course.patient).owed_pence == 0
    assert online.refundable_pence(checkout) == 95000
    today = local_today(back.recorded_at, clinic_settings().zone)
    (online_line,) = [
        line for line in takings.takings(today).by_method if line.label == "online payment"
    ]
    assert (online_line.payments_pence, online_line.refunds_pence) == (105050, -10050)
    assert online_line.net_pence == 95000

    # The credit note stands, balanced by a receipt that names it.
    documents = db.session.scalars(sa.select(Document).order_by(Document.id)).all()
    assert [d.reference for d in documents] == ["REC-000001", "CN-000001", "REC-000002"]
    receipt, note, balancing = documents
    assert balancing.original_id == note.id and balancing.ledger_entry_id == back.id
    assert balancing.paid_pence == 10050
    text = pdf_text(render(balancing))
    lines = text.splitlines()
    assert "Receipt REC-000002" in lines
    assert f"Cancels CN-000001 of {long_date(note.issued_on)}" in lines
    assert "Refund on CN-000001 not made:" in words(text)
    assert "Amount paid £100.50" in lines
    # The patient, emailed the credit note, is told once (Stripe sent the event again)
    # that the refund did not reach them, with the balancing receipt attached.
    assert [m.subject for m in automatic_emails("REC")] == [
        "Your receipt REC-000001",
        "Your refund did not go through: receipt REC-000002",
    ]
    assert len(automatic_emails("CN")) == 1
    told = automatic_emails("REC")[1]
    assert told.recipient == the_course().patient.email
    body = " ".join(told.text_body.split())
    assert "the refund of £100.50 we told you about in credit note CN-000001 did not" in body
    assert "We will contact you to refund it another way" in body
    assert "Receipt REC-000002" in body and "(REC-000002.pdf)" in body
    assert "CN-000001" in told.html_body and "REC-000002" in told.html_body
    attached = pdf_text(attached_pdf(told)).splitlines()
    assert "Receipt REC-000002" in attached
    assert f"Cancels CN-000001 of {long_date(note.issued_on)}" in attached
    assert "Amount paid £100.50" in attached

    # Audited once; staff read it on the course's payments page.
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("payment.refund_failed") == 1
    page = receptionist_client.get(f"/diary/courses/{course.id}/payments")
    html = page.get_data(as_text=True).replace("&#39;", "'")
    assert f"Stripe could not make the refund of £100.50 ({refund_id})" in html
    assert why in html
    assert "The money is back in the clinic's account" in html
    assert "refund them another way" in html
    # And on the refund page and the day's takings.
    refund_page = receptionist_client.get(f"/diary/online-payments/{checkout.id}")
    assert f"({refund_id})" in refund_page.get_data(as_text=True)
    assert 'value="950.00"' in refund_page.get_data(as_text=True)  # all of it refundable again
    day = receptionist_client.get(f"/diary/takings?first_day={today}&last_day={today}")
    day_html = day.get_data(as_text=True)
    assert 'id="failed-refunds"' in day_html and f"({refund_id})" in day_html
    assert "Ada Online" in day_html


def test_a_refund_reported_failed_before_it_was_recorded_is_never_recorded(
    client, demo, stripe_webhooks
):
    """Events arrive out of order: the failure first, then the refund's creation."""
    _course, session = _paid_course(client, stripe_webhooks)
    _status, refund = stripe_webhooks._create_refund(
        {"payment_intent": session["payment_intent"], "amount": "2500"}
    )
    created = dict(refund, status="pending")  # the snapshot the first event carried
    stripe_webhooks.fail_refund(refund["id"], events=("refund.failed",))
    assert stripe_webhooks.send_event("refund.created", created).status == 200
    charge = dict(stripe_webhooks.charge_for(session["payment_intent"]))
    charge["refunds"] = {"object": "list", "data": [created]}
    assert stripe_webhooks.send_event("charge.refunded", charge).status == 200

    assert [e.kind for e in ledger_entries()] == ["payment"]
    (failure,) = db.session.scalars(sa.select(RefundFailure)).all()
    assert failure.refund_entry_id is None and failure.reversal_entry_id is None
    assert count(Document, Document.kind == "credit_note") == 0
    assert ledger.amount_paid(the_course()) == 95000


def test_two_reports_of_one_failed_refund_at_once_put_the_money_back_once(
    client, demo, stripe_webhooks, receptionist_client, app
):
    _paid_course(client, stripe_webhooks)
    refund_id = _refund_from_the_diary(receptionist_client, the_checkout(), "50")
    failed = dict(stripe_webhooks.refunds[refund_id], status="failed", failure_reason="declined")
    events = [
        ProviderEvent(id=f"evt_fail_{n}", type=kind, created=0, data=failed)
        for n, kind in enumerate(("refund.failed", "refund.updated"))
    ]
    db.session.remove()

    outcomes = race(app, 2, lambda number: online.handle_event(events[number]))

    assert sorted(outcomes) == ["ignored", "processed"]
    assert count(RefundFailure) == 1
    assert [e.amount_pence for e in ledger_entries()] == [95000, -5000, 5000]
    assert count(Document, Document.kind == "receipt") == 2


# Receipts for deposits -----------------------------------------------------------------------


def test_a_deposit_paid_online_gets_one_receipt_saying_what_is_left(client, demo, stripe_webhooks):
    from booking.models import SessionType
    from tests.test_booking import get, next_weekday, start_at
    from tests.test_deposits import DEPOSIT, book_online, the_appointment

    session_type = get(SessionType, slug="full-combination")
    session_type.deposit_pence = DEPOSIT
    db.session.commit()
    slot = start_at(next_weekday(2, at_least_days=4), 11)
    _response, session = book_online(client, slot, stripe_webhooks)
    paid = stripe_webhooks.pay(session["id"])
    payload, header = _signed(stripe_webhooks, "checkout.session.completed", paid)
    for _ in range(2):
        assert stripe_webhooks.deliver(payload, header).status == 200

    appointment = the_appointment(slot)
    (payment,) = ledger_entries()
    assert (payment.amount_pence, payment.appointment_id) == (DEPOSIT, appointment.id)
    (receipt,) = db.session.scalars(sa.select(Document)).all()
    assert receipt.ledger_entry_id == payment.id and receipt.appointment_id == appointment.id
    (email,) = automatic_emails("REC")
    lines = pdf_text(attached_pdf(email)).splitlines()
    assert "Receipt REC-000001" in lines
    assert f"Total {format_money_exact(appointment.price_pence)}" in lines
    assert f"Amount paid {format_money_exact(DEPOSIT)}" in lines
    assert f"Paid by online payment on {day_of(payment)}" in lines
