"""Paying for a course online through Stripe Checkout, against the local stand-in.

The stand-in (tests/stripe_standin.py) speaks Stripe's documented protocol on a free
port and records what we sent; webhook events reach the app over real HTTP, signed as
Stripe signs them.
"""

import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from booking.clinic import courses
from booking.clinic.payments import online
from booking.clinic.payments.provider import BadSignature, ProviderEvent
from booking.clinic.payments.stripe_checkout import signature_for, verify_signature
from booking.clinic.tokens import course_token, course_uid_from_token
from booking.extensions import db
from booking.models import (
    CheckoutStatus,
    Course,
    CourseProduct,
    CourseStatus,
    CreditEntry,
    Document,
    LedgerEntry,
    OnlineCheckout,
    OutboxMessage,
    PaymentProviderEvent,
    ProviderEventOutcome,
)
from tests.at_once import race
from tests.forms import csrf_token
from tests.test_courses import SAFE_ANSWERS


def count(model, *conditions) -> int:
    db.session.rollback()  # a fresh read: the webhook was applied by another connection
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


def product() -> CourseProduct:
    found = db.session.scalar(sa.select(CourseProduct).where(CourseProduct.active))
    assert found is not None
    return found


def request_course_online(client, *, pay: str | None = "online", email="ada@example.org"):
    """Fill in the course request form as a patient would; returns the response."""
    url = f"/courses/{product().id}/request"
    page = client.get(url).get_data(as_text=True)
    data = {
        "name": "Ada Online",
        "email": email,
        "phone": "07700 900200",
        **SAFE_ANSWERS,
        "csrf_token": csrf_token(page),
    }
    if pay:
        data["pay"] = pay
    return client.post(url, data=data)


def the_course() -> Course:
    db.session.rollback()
    course = db.session.scalar(sa.select(Course).order_by(Course.id.desc()))
    assert course is not None
    return course


def ledger_entries() -> list[LedgerEntry]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(LedgerEntry).order_by(LedgerEntry.id)))


def the_checkout() -> OnlineCheckout:
    db.session.rollback()
    checkout = db.session.scalar(sa.select(OnlineCheckout).order_by(OnlineCheckout.id.desc()))
    assert checkout is not None
    return checkout


def started_checkout(client, standin) -> tuple[Course, dict]:
    response = request_course_online(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    session_id = response.location.rsplit("/", 1)[-1]
    return the_course(), standin.sessions[session_id]


# No keys: nothing online -------------------------------------------------------------------


def test_with_no_keys_nothing_online_shows_and_the_desk_is_the_way_to_pay(client, demo, app):
    assert not app.config["STRIPE_SECRET_KEY"]
    page = client.get(f"/courses/{product().id}/request").get_data(as_text=True)
    assert "pay at reception" in page
    assert "Stripe" not in page and "pay £" not in page.lower() and 'value="online"' not in page

    response = request_course_online(client, pay="online")
    assert response.status_code == 302  # to the course page, not to any payment page
    course = the_course()
    token = course_token(course)
    course_page = client.get(response.location)
    text = course_page.get_data(as_text=True)
    assert "waiting for payment" in text and "Stripe" not in text
    assert "/pay" not in text
    assert "form-action 'self';" in course_page.headers["Content-Security-Policy"]
    assert client.post(f"/course/{token}/pay").status_code in (400, 404)
    assert client.get(f"/course/{token}/paid?session_id=cs_x").status_code == 404
    assert client.get(f"/course/{token}/payment-cancelled").status_code == 404
    assert client.post("/payments/stripe/webhook", data=b"{}").status_code == 404
    assert count(OnlineCheckout) == 0


# Starting the payment ----------------------------------------------------------------------


def test_pay_now_creates_a_checkout_session_as_stripe_documents_it(client, demo, stripe_standin):
    page = client.get(f"/courses/{product().id}/request").get_data(as_text=True)
    assert 'value="online"' in page and "Stripe" in page

    course, session = started_checkout(client, stripe_standin)
    (call,) = stripe_standin.api_calls()
    assert (call.method, call.path) == ("POST", "/v1/checkout/sessions")
    assert call.headers["authorization"] == f"Bearer {stripe_standin.secret_key}"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    checkout = the_checkout()
    assert call.headers["idempotency-key"] == checkout.uid
    form = call.form
    assert form["mode"] == "payment"
    assert form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][currency]"] == "gbp"
    assert form["line_items[0][price_data][unit_amount]"] == str(course.price_pence)
    assert course.product.name in form["line_items[0][price_data][product_data][name]"]
    assert form["metadata[course]"] == course.uid
    assert form["metadata[checkout]"] == checkout.uid
    assert form["payment_intent_data[metadata][course]"] == course.uid
    assert form["customer_email"] == "ada@example.org"
    success = re.fullmatch(
        r"http://localhost/course/([^/]+)/paid\?session_id=\{CHECKOUT_SESSION_ID\}",
        form["success_url"],
    )
    cancel = re.fullmatch(r"http://localhost/course/([^/]+)/payment-cancelled", form["cancel_url"])
    assert success and cancel
    assert course_uid_from_token(success[1]) == course_uid_from_token(cancel[1]) == course.uid
    assert int(form["expires_at"]) > time.time() + 30 * 60
    # The patient is sent to the hosted page; nothing is paid yet.
    assert checkout.status == CheckoutStatus.OPEN
    assert checkout.provider_session_id == session["id"]
    assert course.status == CourseStatus.AWAITING_PAYMENT and course.credits_remaining == 0


def test_pressing_pay_again_offers_the_same_page(client, demo, stripe_standin):
    course, session = started_checkout(client, stripe_standin)
    token = course_token(course)
    page = client.get(f"/course/{token}").get_data(as_text=True)
    assert f"/course/{token}/pay" in page
    again = client.post(f"/course/{token}/pay", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 303 and again.location == session["url"]
    assert len(stripe_standin.api_calls()) == 1
    assert count(OnlineCheckout) == 1


def test_a_failed_call_is_made_once_more_with_the_same_idempotency_key(
    client, demo, stripe_standin
):
    stripe_standin.fail_next(500, "An unknown error occurred")
    response = request_course_online(client)
    assert response.status_code == 303  # the second try made the page
    first, second = stripe_standin.api_calls()
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.form == second.form
    assert count(OnlineCheckout) == 1 and the_checkout().status == CheckoutStatus.OPEN


def test_a_refused_call_is_shown_plainly_and_a_later_try_starts_afresh(
    client, demo, stripe_standin
):
    stripe_standin.fail_next(400, "Invalid currency: gbq")
    response = request_course_online(client)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Stripe refused to start the online payment: Invalid currency: gbq" in page
    assert len(stripe_standin.api_calls()) == 1  # a refusal is not sent twice
    course = the_course()
    assert course.status == CourseStatus.AWAITING_PAYMENT
    token = course_token(course)
    retry = client.post(f"/course/{token}/pay", data={"csrf_token": csrf_token(page)})
    assert retry.status_code == 303
    first, second = stripe_standin.api_calls()
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]
    assert the_checkout().status == CheckoutStatus.OPEN


def test_an_unreachable_provider_is_a_plain_message_not_an_error_page(
    client, demo, stripe_standin, app
):
    stripe_standin.stop()
    response = request_course_online(client)
    page = client.get(response.location).get_data(as_text=True)
    assert "could not be reached just now, so nothing was done" in page
    assert the_course().status == CourseStatus.AWAITING_PAYMENT


def test_the_security_policy_allows_the_hosted_page_for_forms_only(client, demo, stripe_standin):
    policy = client.get("/courses").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["form-action"] == f"'self' {stripe_standin.base_url}"
    origin = stripe_standin.base_url
    others = {name: value for name, value in directives.items() if name != "form-action"}
    assert all(origin not in value for value in others.values())
    assert directives["frame-ancestors"] == "'none'" and directives["script-src"] == "'self'"


def test_the_real_policy_names_checkout_stripe_com(app):
    from booking import _policy_for

    saved = {k: app.config[k] for k in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")}
    try:
        app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
        assert app.config["STRIPE_CHECKOUT_ORIGIN"] == "https://checkout.stripe.com"
        with app.test_request_context():
            assert "form-action 'self' https://checkout.stripe.com;" in _policy_for(app)
    finally:
        app.config.update(saved)


# Coming back -------------------------------------------------------------------------------


def test_the_success_page_waits_for_the_webhook_before_saying_paid(client, demo, stripe_webhooks):
    course, session = started_checkout(client, stripe_webhooks)
    stripe_webhooks.pay(session["id"])  # paid, but its webhook has not arrived yet
    back = f"/course/{course_token(course)}/paid?session_id={session['id']}"
    waiting = client.get(back).get_data(as_text=True)
    assert "We are confirming your payment" in waiting
    assert "Payment received" not in waiting and "Please do not pay a second time" in waiting
    assert the_course().status == CourseStatus.AWAITING_PAYMENT

    delivery = stripe_webhooks.deliver(
        *_signed(stripe_webhooks, "checkout.session.completed", session)
    )
    assert delivery.status == 200
    db.session.rollback()  # the test shares the app's session: end its stale read
    confirmed = client.get(back).get_data(as_text=True)
    assert "Payment received" in confirmed and "We are confirming" not in confirmed
    assert the_course().status == CourseStatus.ACTIVE


def test_the_request_page_the_email_and_the_diary_agree_on_what_happens_next(
    client, demo, stripe_standin, mail_app, receptionist_client
):
    page = client.get(f"/courses/{product().id}/request").get_data(as_text=True)
    response = request_course_online(client, pay="clinic")
    assert response.status_code == 302
    course = the_course()
    course_page = client.get(response.location).get_data(as_text=True)
    diary = receptionist_client.get(f"/diary/courses/{course.id}").get_data(as_text=True)
    messages = db.session.scalars(sa.select(OutboxMessage)).all()
    patient_mail = next(m for m in messages if m.kind == "course_requested")
    reception_mail = next(m for m in messages if m.kind == "reception_course_requested")
    said = {
        "request page": page,
        "course page": course_page,
        "patient's email": patient_mail.text_body,
        "reception's email": reception_mail.text_body,
        "diary": diary,
    }
    for where, text in said.items():
        flat = " ".join(text.split())
        assert "We do not call you to ask for payment" in flat or "we do not call them" in flat, (
            where
        )
        assert "by phone" in flat and "reception" in flat, where
        assert "online" in flat or "by card on Stripe" in flat, where
    assert "We will be in touch about payment" not in patient_mail.text_body


def test_the_cancel_page_keeps_the_course_and_offers_another_go(client, demo, stripe_standin):
    course, _session = started_checkout(client, stripe_standin)
    # One token for both: a second signing can fall in the next second and differ.
    token = course_token(course)
    page = client.get(f"/course/{token}/payment-cancelled").get_data(as_text=True)
    assert "nothing was charged" in page and "still" in page and "reserved" in page
    assert f"/course/{token}/pay" in page
    assert the_course().status == CourseStatus.AWAITING_PAYMENT


# Webhooks ----------------------------------------------------------------------------------


def _signed(standin, kind: str, obj: dict, **kwargs) -> tuple[bytes, str]:
    payload = standin.event(kind, obj, event_id=kwargs.pop("event_id", None))
    return payload, standin.sign(payload, **kwargs)


def _paid_session(client, standin) -> tuple[Course, dict]:
    course, session = started_checkout(client, standin)
    return course, standin.pay(session["id"])


def test_a_signed_completion_activates_the_course_once(client, demo, stripe_webhooks):
    course, session = _paid_session(client, stripe_webhooks)
    payload, header = _signed(stripe_webhooks, "checkout.session.completed", session)
    first = stripe_webhooks.deliver(payload, header)
    assert first.status == 200
    course = the_course()
    assert course.status == CourseStatus.ACTIVE
    assert course.credits_remaining == course.sessions_total
    assert course.payment_reference == session["payment_intent"]
    checkout = the_checkout()
    assert checkout.status == CheckoutStatus.PAID
    assert checkout.payment_intent == session["payment_intent"]
    (entry,) = ledger_entries()
    assert (entry.kind, entry.method, entry.amount_pence) == ("payment", "online", 95000)
    assert entry.course_id == course.id and entry.recorded_by_name == "Online"
    assert entry.provider_reference == session["payment_intent"]

    # The same delivery again (Stripe retries) changes nothing.
    again = stripe_webhooks.deliver(payload, header)
    assert again.status == 200
    assert count(CreditEntry, CreditEntry.course_id == course.id) == 1
    assert count(OutboxMessage, OutboxMessage.kind == "course_activated") == 1
    assert count(PaymentProviderEvent) == 1
    assert len(ledger_entries()) == 1
    # Another event for the same payment (async success) changes nothing either.
    also = stripe_webhooks.send_event("checkout.session.async_payment_succeeded", session)
    assert also.status == 200
    assert count(CreditEntry, CreditEntry.course_id == course.id) == 1
    assert the_course().credits_remaining == course.sessions_total


@pytest.mark.parametrize(
    "spoil",
    ["wrong secret", "changed body", "too old", "far ahead", "no header", "garbled header"],
)
def test_a_webhook_that_cannot_be_trusted_is_refused_and_changes_nothing(
    client, demo, stripe_webhooks, spoil
):
    course, session = _paid_session(client, stripe_webhooks)
    payload, header = _signed(stripe_webhooks, "checkout.session.completed", session)
    if spoil == "wrong secret":
        header = stripe_webhooks.sign(payload, secret="whsec_someone_else")
    elif spoil == "changed body":
        payload = payload.replace(b'"paid"', b'"paid" ')
    elif spoil == "too old":
        header = stripe_webhooks.sign(payload, timestamp=int(time.time()) - 301)
    elif spoil == "far ahead":
        header = stripe_webhooks.sign(payload, timestamp=int(time.time()) + 360)
    elif spoil == "no header":
        header = None
    else:
        header = "t=now,v1=" + "0" * 64
    delivery = stripe_webhooks.deliver(payload, header)
    assert delivery.status == 400
    assert json.loads(delivery.body) == {"received": False}  # no detail for the sender
    assert the_course().status == CourseStatus.AWAITING_PAYMENT
    assert count(PaymentProviderEvent) == 0


def test_a_signature_just_inside_the_tolerance_is_accepted(client, demo, stripe_webhooks):
    _course, session = _paid_session(client, stripe_webhooks)
    payload, header = _signed(
        stripe_webhooks, "checkout.session.completed", session, timestamp=int(time.time()) - 290
    )
    assert stripe_webhooks.deliver(payload, header).status == 200
    assert the_course().status == CourseStatus.ACTIVE


def test_signature_checking_follows_stripes_scheme():
    secret, body, t = "whsec_abc", b'{"id": "evt_1"}', 1_700_000_000
    expected = signature_for(secret, t, body)
    signed = b'1700000000.{"id": "evt_1"}'
    assert expected == hmac.new(b"whsec_abc", signed, hashlib.sha256).hexdigest()
    # Several v1 signatures (a secret being rolled): one matching is enough; v0 is ignored.
    header = f"t={t},v1={'f' * 64},v0=abc,v1={expected}"
    verify_signature(body, header, secret, now=t + 299)
    with pytest.raises(BadSignature):
        verify_signature(body, header, secret, now=t + 301)
    with pytest.raises(BadSignature):
        verify_signature(body, f"t={t},v0={expected}", secret, now=t)


def test_an_unpaid_completion_waits_for_the_async_success(client, demo, stripe_webhooks):
    course, session = started_checkout(client, stripe_webhooks)
    pending = dict(session, status="complete", payment_status="unpaid")
    assert stripe_webhooks.send_event("checkout.session.completed", pending).status == 200
    assert the_course().status == CourseStatus.AWAITING_PAYMENT
    paid = stripe_webhooks.pay(session["id"])
    succeeded = stripe_webhooks.send_event("checkout.session.async_payment_succeeded", paid)
    assert succeeded.status == 200
    assert the_course().status == CourseStatus.ACTIVE


def test_an_expiry_arriving_after_the_payment_changes_nothing(client, demo, stripe_webhooks):
    course, session = _paid_session(client, stripe_webhooks)
    assert stripe_webhooks.send_event("checkout.session.completed", session).status == 200
    expired = dict(session, status="expired", payment_status="unpaid")
    assert stripe_webhooks.send_event("checkout.session.expired", expired).status == 200
    assert the_checkout().status == CheckoutStatus.PAID
    assert the_course().status == CourseStatus.ACTIVE


def test_an_expired_page_is_not_offered_again(client, demo, stripe_webhooks):
    course, session = started_checkout(client, stripe_webhooks)
    expired = dict(session, status="expired")
    assert stripe_webhooks.send_event("checkout.session.expired", expired).status == 200
    assert the_checkout().status == CheckoutStatus.EXPIRED
    token = course_token(course)
    page = client.get(f"/course/{token}").get_data(as_text=True)
    again = client.post(f"/course/{token}/pay", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 303 and again.location != session["url"]
    assert count(OnlineCheckout) == 2


def test_an_event_for_a_page_we_did_not_start_is_acknowledged_and_ignored(
    client, demo, stripe_webhooks
):
    stranger = {"id": "cs_test_elsewhere", "object": "checkout.session", "status": "complete"}
    stranger |= {"payment_status": "paid", "amount_total": 100, "metadata": {}}
    assert stripe_webhooks.send_event("checkout.session.completed", stranger).status == 200
    db.session.rollback()
    assert db.session.scalar(sa.select(PaymentProviderEvent.outcome)) == "ignored"


def test_the_same_webhook_twice_at_the_same_moment_activates_the_course_once(
    client, demo, stripe_webhooks, app
):
    course, session = _paid_session(client, stripe_webhooks)
    payload, header = _signed(stripe_webhooks, "checkout.session.completed", session)

    def deliver(_number: int) -> str:
        return str(stripe_webhooks.deliver(payload, header).status)

    outcomes = race(app, 4, deliver)
    assert outcomes == ["200"] * 4
    course = the_course()
    assert course.status == CourseStatus.ACTIVE
    assert course.credits_remaining == course.sessions_total
    assert count(CreditEntry, CreditEntry.course_id == course.id) == 1
    assert count(OutboxMessage, OutboxMessage.kind == "course_activated") == 1
    assert count(PaymentProviderEvent) == 1


def test_two_different_events_for_one_payment_at_once_activate_the_course_once(
    client, demo, stripe_standin, app
):
    """completed and async_payment_succeeded racing, straight through the domain."""
    course, session = _paid_session(client, stripe_standin)
    events = [
        ProviderEvent(id=f"evt_race_{n}", type=kind, created=0, data=session)
        for n, kind in enumerate(online.PAID_EVENTS)
    ]

    outcomes = race(app, 2, lambda number: online.handle_event(events[number]))
    assert sorted(outcomes) == ["ignored", "processed"]
    assert count(CreditEntry, CreditEntry.course_id == course.id) == 1


def test_a_refund_made_in_the_dashboard_reaches_the_ledger_once(client, demo, stripe_webhooks):
    course, session = _paid_session(client, stripe_webhooks)
    assert stripe_webhooks.send_event("checkout.session.completed", session).status == 200
    # Made outside the clinic's pages (Stripe's dashboard): reported by charge.refunded.
    stripe_webhooks._create_refund({"payment_intent": session["payment_intent"], "amount": "2500"})
    charge = stripe_webhooks.charge_for(session["payment_intent"])
    payload, header = _signed(stripe_webhooks, "charge.refunded", charge)
    assert stripe_webhooks.deliver(payload, header).status == 200
    assert stripe_webhooks.deliver(payload, header).status == 200
    refund = charge["refunds"]["data"][0]
    assert stripe_webhooks.send_event("refund.updated", refund).status == 200
    entries = ledger_entries()
    assert [(e.kind, e.amount_pence) for e in entries] == [("payment", 95000), ("refund", -2500)]
    assert entries[1].provider_reference == refund["id"]
    assert the_course().status == CourseStatus.ACTIVE  # a refund does not end the course
    # One credit note for the one refund, however often Stripe reported it.
    [credit_note] = db.session.scalars(sa.select(Document).filter_by(kind="credit_note")).all()
    assert credit_note.ledger_entry_id == entries[1].id and credit_note.paid_pence == 2500
    assert (credit_note.reference, credit_note.method) == ("CN-000001", "online payment")


def test_a_course_paid_at_the_desk_meanwhile_is_not_given_credits_twice(
    client, demo, stripe_webhooks, make_staff
):
    course, session = _paid_session(client, stripe_webhooks)
    courses.activate_course(the_course(), "card 1234", make_staff("receptionist"))
    assert stripe_webhooks.send_event("checkout.session.completed", session).status == 200
    course = the_course()
    assert course.credits_remaining == course.sessions_total
    assert count(CreditEntry, CreditEntry.course_id == course.id) == 1
    assert the_checkout().status == CheckoutStatus.PAID


def test_a_refund_reported_before_its_payment_is_applied_once_the_payment_arrives(
    client, demo, stripe_webhooks
):
    course, session = _paid_session(client, stripe_webhooks)
    intent = session["payment_intent"]
    refund = {
        "id": "re_test_early",
        "object": "refund",
        "amount": 1000,
        "status": "succeeded",
        "payment_intent": intent,
    }
    assert stripe_webhooks.send_event("refund.created", refund).status == 200
    db.session.rollback()
    early = db.session.scalar(sa.select(PaymentProviderEvent))
    assert early.outcome == ProviderEventOutcome.DEFERRED
    assert the_course().status == CourseStatus.AWAITING_PAYMENT

    assert stripe_webhooks.send_event("checkout.session.completed", session).status == 200
    assert the_course().status == CourseStatus.ACTIVE
    assert db.session.get(PaymentProviderEvent, early.id).outcome == ProviderEventOutcome.PROCESSED
    payment, refunded = ledger_entries()
    assert (payment.kind, payment.amount_pence) == ("payment", course.price_pence)
    assert (refunded.kind, refunded.amount_pence) == ("refund", -1000)
    assert refunded.provider_reference == "re_test_early"
    # The same refund reported again, now in the charge's list, changes nothing.
    charge = dict(stripe_webhooks.charge_for(intent))
    charge["refunds"] = {"object": "list", "data": [refund]}
    assert stripe_webhooks.send_event("charge.refunded", charge).status == 200
    assert len(ledger_entries()) == 2


def test_success_url_placeholder_is_filled_by_the_hosted_page(client, demo, stripe_webhooks):
    course, session = started_checkout(client, stripe_webhooks)
    request = urllib.request.Request(session["url"], data=b"", method="POST")
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as answer:
        location = answer.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["session_id"] == [session["id"]]
    token = re.fullmatch(r"http://localhost/course/([^/]+)/paid\?session_id=.*", location)
    assert token and course_uid_from_token(token[1]) == course.uid
    assert the_course().status == CourseStatus.ACTIVE  # its webhook arrived first


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# Refunds from the diary --------------------------------------------------------------------


def _paid_course(client, standin) -> tuple[Course, dict]:
    course, session = _paid_session(client, standin)
    assert standin.send_event("checkout.session.completed", session).status == 200
    return the_course(), session


def _refund_page(staff, checkout: OnlineCheckout) -> str:
    course_page = staff.get(f"/diary/courses/{checkout.course_id}").get_data(as_text=True)
    assert f"/diary/online-payments/{checkout.id}" in course_page
    # The ledger's payment history of the course leads there too.
    history = staff.get(f"/diary/courses/{checkout.course_id}/payments").get_data(as_text=True)
    (link,) = re.findall(r'href="(/diary/ledger-entries/\d+/online-payment)"', history)
    assert staff.get(link).location.endswith(f"/diary/online-payments/{checkout.id}")
    return staff.get(f"/diary/online-payments/{checkout.id}").get_data(as_text=True)


def _key(page: str) -> str:
    found = re.search(r'name="request_key" type="hidden" value="([0-9a-f]{32})"', page)
    assert found, "no refund key in the page"
    return found[1]


def test_reception_refunds_part_then_the_rest_through_stripe_and_the_ledger(
    client, demo, stripe_webhooks, receptionist_client
):
    course, session = _paid_course(client, stripe_webhooks)
    checkout = the_checkout()
    page = _refund_page(receptionist_client, checkout)
    assert "£950.00" in page and 'value="950.00"' in page  # all of it offered first
    key = _key(page)
    url = f"/diary/online-payments/{checkout.id}"
    form = {"csrf_token": csrf_token(page), "request_key": key, "amount": "100.50"}
    response = receptionist_client.post(url, data=form)
    assert response.status_code == 302
    (call,) = stripe_webhooks.api_calls("/v1/refunds")
    assert call.form == {"payment_intent": session["payment_intent"], "amount": "10050"}
    assert call.headers["idempotency-key"] == f"refund-{checkout.uid}-{key}"
    assert call.headers["authorization"] == f"Bearer {stripe_webhooks.secret_key}"
    payment, refund = ledger_entries()
    assert (refund.kind, refund.method, refund.amount_pence) == ("refund", "online", -10050)
    assert refund.recorded_by_id == receptionist_client.user.id
    assert count(Document, Document.kind == "credit_note") == 1
    refund_id = refund.provider_reference
    assert refund_id in stripe_webhooks.refunds

    # The same form sent again (a double click): Stripe answers with the same refund.
    again = receptionist_client.post(url, data=form)
    assert again.status_code == 302
    assert len(ledger_entries()) == 2
    assert count(Document, Document.kind == "credit_note") == 1
    assert stripe_webhooks.charge_for(session["payment_intent"])["amount_refunded"] == 10050
    # Its webhook, arriving later, changes nothing either.
    refund_object = stripe_webhooks.refunds[refund_id]
    assert stripe_webhooks.send_event("refund.created", refund_object).status == 200
    assert len(ledger_entries()) == 2

    shown = receptionist_client.get(url).get_data(as_text=True)
    assert "£849.50" in shown and "£100.50" in shown
    rest = {"csrf_token": csrf_token(shown), "request_key": _key(shown), "amount": "849.50"}
    assert receptionist_client.post(url, data=rest).status_code == 302
    assert sum(e.amount_pence for e in ledger_entries()) == 0
    done = receptionist_client.get(url).get_data(as_text=True)
    assert "refunded in full" in done and 'name="amount"' not in done


def test_a_refund_stripe_refuses_is_shown_plainly_and_nothing_is_recorded(
    client, demo, stripe_webhooks, receptionist_client
):
    _course, _session = _paid_course(client, stripe_webhooks)
    checkout = the_checkout()
    page = _refund_page(receptionist_client, checkout)
    stripe_webhooks.fail_next(400, "Charge ch_123 has been charged back; it cannot be refunded.")
    form = {"csrf_token": csrf_token(page), "request_key": _key(page), "amount": "50"}
    response = receptionist_client.post(f"/diary/online-payments/{checkout.id}", data=form)
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Stripe refused to make the refund: Charge ch_123 has been charged back" in text
    assert 'value="50"' in text  # the form keeps what was typed
    assert len(ledger_entries()) == 1


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("950.01", "more than is left to refund"),
        ("0", "more than £0.00"),
        ("ten pounds", "is not a price we can read"),
    ],
)
def test_a_refund_amount_that_cannot_be_made_is_refused_before_stripe_is_asked(
    client, demo, stripe_webhooks, receptionist_client, amount, message
):
    _paid_course(client, stripe_webhooks)
    checkout = the_checkout()
    page = _refund_page(receptionist_client, checkout)
    form = {"csrf_token": csrf_token(page), "request_key": _key(page), "amount": amount}
    response = receptionist_client.post(f"/diary/online-payments/{checkout.id}", data=form)
    assert response.status_code in (409, 422)
    assert message in response.get_data(as_text=True)
    assert stripe_webhooks.api_calls("/v1/refunds") == []
    assert len(ledger_entries()) == 1


def test_practitioners_cannot_refund(client, demo, stripe_webhooks, practitioner_client):
    _paid_course(client, stripe_webhooks)
    checkout = the_checkout()
    assert practitioner_client.get(f"/diary/online-payments/{checkout.id}").status_code == 403
