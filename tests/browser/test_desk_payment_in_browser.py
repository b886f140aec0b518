"""The receptionist takes a card payment in one click from the diary's grid (Chromium)."""

import re
from datetime import date, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.clinic.localtime import local_to_utc
from booking.extensions import db
from booking.models import LedgerEntry
from tests.factories import make_appointment, make_patient

LONDON = ZoneInfo("Europe/London")
RECEPTIONIST_EMAIL = "reception@clinic.example"
VISIT_DAY = date(2026, 3, 10)


def sign_in(page, password: str) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(RECEPTIONIST_EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/diary/$"))


def test_a_card_payment_in_one_click_from_the_grid(desktop_page, demo, axe, screenshot):
    patient = make_patient("Amara Okoye", email="amara@example.org")
    appointment = make_appointment(
        local_to_utc(VISIT_DAY, time(11), LONDON), patient=patient, price_pence=6500
    )
    appointment_id = appointment.id
    db.session.rollback()
    page = desktop_page
    sign_in(page, demo)

    page.goto(f"/diary/appointments/{appointment_id}")
    page.get_by_text("Another method or a part payment").click()
    assert page.get_by_label("Amount (£)").input_value() == "65.00"
    axe(page, label="the appointment page with money owed")

    page.goto(f"/diary/day/{VISIT_DAY.isoformat()}")
    button = page.get_by_role("button", name="Take £65.00 by card from Amara Okoye")
    expect(button).to_be_visible()
    axe(page, label="the day grid with a payment to take")
    button.click()
    page.wait_for_url(re.compile(rf"/diary/day/{VISIT_DAY.isoformat()}$"))
    message = page.get_by_role("status")
    assert "Amara Okoye: £65.00 paid by card, recorded by" in message.inner_text()
    assert "Nothing left to pay." in message.inner_text()
    assert page.get_by_role("button", name=re.compile("Take .* from Amara Okoye")).count() == 0
    screenshot(page, "grid-paid")
    axe(page, label="the day grid after the payment")

    db.session.rollback()
    entries = db.session.scalars(sa.select(LedgerEntry)).all()
    assert [(e.appointment_id, e.amount_pence, e.method) for e in entries] == [
        (appointment_id, 6500, "card")
    ]

    page.goto(f"/diary/appointments/{appointment_id}")
    expect(page.get_by_text("Nothing left to pay.").first).to_be_visible()
    page.get_by_role("link", name=re.compile("^Other payments")).click()
    expect(page.get_by_role("heading", name="Give a refund")).to_be_visible()
    axe(page, label="the payments page")

    # The payment was taken today: the day's takings show it under card, and the cash-up.
    page.get_by_role("link", name="Takings").click()
    page.wait_for_url(re.compile(r"/takings"))
    card_row = page.locator("#takings-by-method tr", has_text="Card")
    assert "£65.00" in card_row.inner_text()
    page.get_by_label("Cash counted (£)").fill("12.50")
    page.get_by_role("button", name="Record the count").click()
    expect(page.get_by_role("status")).to_contain_text("£12.50 more than the cash recorded")
    axe(page, label="the takings page")
