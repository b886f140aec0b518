"""A patient pays a no-show fee in Chromium from the link in their email, against the
Stripe stand-in: the fee's page, Stripe's hosted page (the stand-in's, on its own
origin), and back to the page saying paid, with the receipt on its way."""

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.clinic.payments import fees
from booking.extensions import db
from booking.models import Document, FeeKind, LedgerEntry, OutboxMessage
from tests.phone_layout import assert_fits
from tests.test_fees_desk import set_fees

TOKEN = r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"


def test_a_patient_pays_a_no_show_fee_from_the_emailed_link(
    phone_page, demo, make_appointment, make_staff, stripe_webhooks, axe, screenshot
):
    set_fees(no_show=3000)
    missed = make_appointment(
        datetime.now(UTC) - timedelta(days=2), price_pence=6500, status="no_show"
    )
    fees.charge_fee(missed, FeeKind.NO_SHOW, staff_user=make_staff("receptionist"))
    email = db.session.scalar(sa.select(OutboxMessage).filter_by(kind="fee_due"))
    (link,) = re.findall(rf"https?://[^/\s]+(/fee/{TOKEN})", email.text_body)

    page = phone_page
    page.goto(link)
    screenshot(page, "1-fee")
    expect(page.get_by_role("heading", name="No-show fee")).to_be_visible()
    expect(page.locator("#fee-status")).to_have_text("To pay")
    expect(page.locator("#fee-reason")).to_contain_text("You did not come to your")
    axe(page)
    # On the smallest phones too: nothing scrolls sideways, no word is split.
    page.set_viewport_size({"width": 320, "height": 640})
    assert_fits(page, 320, label="fee page")
    page.set_viewport_size({"width": 375, "height": 812})
    page.get_by_role("button", name="Pay £30.00 now").tap()

    page.wait_for_url(f"{stripe_webhooks.base_url}/c/pay/**")
    screenshot(page, "2-hosted-page")
    expect(page.get_by_role("heading", name="Pay £30.00")).to_be_visible()
    page.get_by_role("button", name="Pay").tap()

    # Back on our site: the webhook arrived before the redirect, so it says paid.
    page.wait_for_url(re.compile(rf"/fee/{TOKEN}\?session_id=cs_test_"))
    screenshot(page, "3-paid")
    expect(page.locator("#fee-status")).to_have_text("Paid")
    expect(
        page.get_by_text("Payment received: thank you. We have emailed you a receipt.")
    ).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Pay"))).to_have_count(0)
    axe(page)

    db.session.rollback()
    (payment,) = db.session.scalars(sa.select(LedgerEntry).filter_by(kind="payment")).all()
    assert (payment.method, payment.amount_pence, payment.appointment_id) == (
        "online",
        3000,
        missed.id,
    )
    (receipt,) = db.session.scalars(sa.select(Document)).all()
    assert receipt.ledger_entry_id == payment.id
    assert db.session.scalar(
        sa.select(OutboxMessage).filter_by(subject=f"Your receipt {receipt.reference}")
    )
