"""A patient books a session with a deposit on a phone in Chromium, against the Stripe stand-in.

The details page says the deposit, the rest and how long the time is held; the hosted
page (the stand-in's) is left once, which keeps the hold and offers another go on the
same page; paying sends the signed webhook before the browser comes back, so the page
it comes back to says booked. The fixture fails the test on any security policy breach.
"""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, LedgerEntry, OutboxMessage, SessionType
from tests.browser.free_times import a_time_clear_of_the_notice
from tests.fixtures_browser import PHONE


def fill_details(page) -> None:
    page.get_by_label("Full name").fill("Dina Deposit")
    page.get_by_label("Email address").fill("dina@example.org")
    page.get_by_label("Phone number").fill("07700 900421")
    for question in page.locator("fieldset").all():
        question.get_by_label("No", exact=True).check()
    page.get_by_label(re.compile("I agree that the clinic may store")).check()


def test_a_patient_books_with_a_deposit_leaves_the_payment_page_once_then_pays(
    phone_page, demo, stripe_webhooks, axe, screenshot
):
    massage = db.session.scalar(sa.select(SessionType).filter_by(slug="massage"))
    massage.deposit_pence = 1500
    db.session.commit()
    rest = massage.price_pence - 1500
    page = phone_page

    page.goto("/book/massage/times?practitioner=colette-assor")
    a_time_clear_of_the_notice(page).tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    terms = page.locator("#deposit-terms")
    expect(terms).to_contain_text("deposit of £15")
    expect(terms).to_contain_text(f"£{rest // 100}, is paid at the clinic on the day")
    expect(terms).to_contain_text("We hold the time for you for 30 minutes")
    fill_details(page)
    screenshot(page, "1-details")
    axe(page, label="the details page with a deposit")
    page.get_by_role("button", name="Book and pay the £15 deposit").tap()

    # The hosted page, on the stand-in's origin; leave it once.
    page.wait_for_url(f"{stripe_webhooks.base_url}/c/pay/**")
    expect(page.get_by_role("heading", name="Pay £15.00")).to_be_visible()
    hosted = page.url
    db.session.rollback()
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment.status == AppointmentStatus.HELD
    page.get_by_role("link", name="Back").tap()

    page.wait_for_url(re.compile(r"/book/deposit/[^/]+/cancelled$"))
    expect(page.get_by_role("heading", name="No payment was taken")).to_be_visible()
    expect(page.locator("main")).to_contain_text("We are holding this time for you until")
    screenshot(page, "2-came-back")
    axe(page, label="the deposit page after leaving the payment page")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("button", name="Pay the £15 deposit").tap()
    page.wait_for_url(f"{stripe_webhooks.base_url}/c/pay/**")
    assert page.url == hosted  # the same page: no second one was made
    assert len(stripe_webhooks.api_calls("/v1/checkout/sessions")) == 1
    page.get_by_role("button", name="Pay").tap()

    page.wait_for_url(re.compile(r"/book/deposit/[^/]+/paid\?session_id=cs_test_"))
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    price = f"£{massage.price_pence // 100}"
    expect(page.locator("main")).to_contain_text(
        f"{price}: £15 deposit paid online, £{rest // 100} to pay at the clinic"
    )
    screenshot(page, "3-booked")
    axe(page, label="the booked page after paying the deposit")

    db.session.rollback()
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment.status == AppointmentStatus.BOOKED
    (payment,) = db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.kind == "payment"))
    assert (payment.method, payment.amount_pence, payment.appointment_id) == (
        "online",
        1500,
        appointment.id,
    )
    kinds = db.session.scalars(
        sa.select(OutboxMessage.kind).where(OutboxMessage.appointment_id == appointment.id)
    ).all()
    assert kinds.count("confirmation") == 1
