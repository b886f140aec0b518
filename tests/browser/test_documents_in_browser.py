"""The desk issues a numbered receipt and emails it, in a real Chromium (issue 20)."""

import re
from datetime import date, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.clinic.localtime import local_to_utc
from booking.clinic.outbox import send_due
from booking.clinic.transaction import unit_of_work
from booking.extensions import db
from booking.models import Document
from tests.factories import make_appointment, make_patient
from tests.fixtures_mail import attachments
from tests.pdf_text import pdf_text

LONDON = ZoneInfo("Europe/London")
RECEPTIONIST_EMAIL = "reception@clinic.example"


def sign_in(page, password: str) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(RECEPTIONIST_EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/diary/$"))


def test_the_receptionist_takes_a_card_payment_in_one_click_and_emails_its_receipt(
    desktop_page, demo, mail_app, smtp_server, axe, screenshot
):
    patient = make_patient("Zoë Łukasiewicz", email="zoe@example.org")
    appointment = make_appointment(
        local_to_utc(date(2026, 3, 10), time(10), LONDON), patient=patient, price_pence=6500
    )
    with unit_of_work():
        appointment.practitioner.professional_body = "HCPC"
        appointment.practitioner.registration_number = "PH123456"
    appointment_id = appointment.id
    # Ends the read, keeping this thread's objects (and the settings on `g`) attached.
    db.session.rollback()
    page = desktop_page
    sign_in(page, demo)

    page.goto(f"/diary/appointments/{appointment_id}")
    # One click takes the card payment; the payment's receipt is one more.
    page.get_by_role("button", name=re.compile(r"^Take £65\.00 by card")).click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Issue receipt").click()
    page.get_by_label("Insurer or cash plan").fill("Vitality")
    page.get_by_label("Membership or policy number").fill("VT-5566")
    axe(page, label="the issue page")
    page.get_by_role("button", name="Issue receipt").click()
    page.wait_for_url(re.compile(r"/diary/documents/\d+$"))
    expect(page.get_by_role("heading", name="Receipt REC-000001")).to_be_visible()
    screenshot(page, "document")
    axe(page, label="the document page")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the PDF").click()
    download = download_info.value
    assert download.suggested_filename == "REC-000001.pdf"
    text = pdf_text(open(download.path(), "rb").read())
    assert "Patient Zoë Łukasiewicz" in text and "Membership number VT-5566" in text
    assert "Registration number PH123456" in text and "Amount paid £65.00" in text

    page.get_by_role("button", name="Email to the patient").click()
    expect(page.get_by_text("REC-000001 is queued for sending to zoe@example.org")).to_be_visible()

    db.session.rollback()
    assert send_due().sent == 1
    [message] = smtp_server.to("zoe@example.org")
    [pdf] = attachments(message)
    assert pdf.get_filename() == "REC-000001.pdf"
    assert "Total £65.00" in pdf_text(pdf.get_content()).splitlines()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 1
