"""A patient buys a course online in Chromium, against the Stripe stand-in.

The stand-in serves the "hosted page" on its own port; its Pay button sends our app the
signed checkout.session.completed webhook over HTTP and then returns the browser to the
success address, as Stripe's page does. The page's security policy must let the pay
button's form lead there (the fixture fails the test on any policy violation).
"""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import Course, CourseProduct, CourseStatus, LedgerEntry


def test_a_patient_buys_a_course_online_on_a_phone(
    phone_page, demo, stripe_webhooks, axe, screenshot
):
    page = phone_page
    product = db.session.scalar(sa.select(CourseProduct).where(CourseProduct.active))
    page.goto(f"/courses/{product.id}/request")
    screenshot(page, "1-request")
    axe(page)
    page.get_by_label("Full name").fill("Ada Online")
    page.get_by_label("Email address").fill("ada.online@example.org")
    page.get_by_label("Phone number").fill("07700 900123")
    page.check('input[name="cauda_equina"][value="no"]')
    page.check('input[name="other_warning"][value="no"]')
    page.check('input[name="consent"]')
    page.get_by_role("button", name=re.compile(r"Request and pay £950 now")).tap()

    # Stripe's hosted page (here the stand-in's), on another origin.
    page.wait_for_url(f"{stripe_webhooks.base_url}/c/pay/**")
    screenshot(page, "2-hosted-page")
    expect(page.get_by_role("heading", name="Pay £950.00")).to_be_visible()
    (call,) = stripe_webhooks.api_calls()
    assert call.form["line_items[0][price_data][unit_amount]"] == "95000"
    page.get_by_role("button", name="Pay").tap()

    # Back on our site: the webhook arrived before the redirect, so it says paid.
    page.wait_for_url(re.compile(r"/course/[^/]+/paid\?session_id=cs_test_"))
    screenshot(page, "3-paid")
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    axe(page)
    page.get_by_role("link", name="Go to my course and book").tap()
    page.wait_for_url(re.compile(r"/course/[^/?]+$"))
    screenshot(page, "4-course")
    assert page.locator(".credits-left").inner_text() == "10 of 10"
    expect(page.get_by_role("link", name="Book my next session")).to_be_visible()

    db.session.rollback()
    course = db.session.scalar(sa.select(Course))
    assert course.status == CourseStatus.ACTIVE
    (payment,) = db.session.scalars(sa.select(LedgerEntry)).all()
    assert (payment.method, payment.amount_pence) == ("online", 95000)


def test_a_patient_who_leaves_the_hosted_page_is_brought_back_kindly(
    phone_page, demo, stripe_webhooks, axe, screenshot
):
    page = phone_page
    product = db.session.scalar(sa.select(CourseProduct).where(CourseProduct.active))
    page.goto(f"/courses/{product.id}/request")
    page.get_by_label("Full name").fill("Bea Online")
    page.get_by_label("Email address").fill("bea.online@example.org")
    page.get_by_label("Phone number").fill("07700 900124")
    page.check('input[name="cauda_equina"][value="no"]')
    page.check('input[name="other_warning"][value="no"]')
    page.check('input[name="consent"]')
    page.get_by_role("button", name=re.compile(r"Request and pay £950 now")).tap()
    page.wait_for_url(f"{stripe_webhooks.base_url}/c/pay/**")
    page.get_by_role("link", name="Back").tap()

    page.wait_for_url(re.compile(r"/course/[^/]+/payment-cancelled$"))
    screenshot(page, "cancelled")
    expect(page.get_by_role("heading", name="No payment was taken")).to_be_visible()
    axe(page)
    # Paying again from here reaches the same hosted page: no second session is made.
    page.get_by_role("button", name=re.compile(r"Pay £950 now")).tap()
    page.wait_for_url(f"{stripe_webhooks.base_url}/c/pay/**")
    assert len(stripe_webhooks.api_calls()) == 1
