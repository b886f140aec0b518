"""The clinical record in a real Chromium: a new patient answers the questionnaire and
consents on a 375 px phone; the practitioner sees the flagged answer and the consent
before treating; the receptionist is refused the answers."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.clinic.localtime import to_local
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import intake_token
from booking.extensions import db
from booking.models import Practitioner
from tests.factories import make_appointment
from tests.fixtures_staff import STAFF_PASSWORD
from tests.records_helpers import PACEMAKER_DETAILS, PROBLEM, ten_oclock

RECEPTIONIST_EMAIL = "reception@clinic.example"


def _sign_in(page, email: str, password: str) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/diary/$"))


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/staff/sign-in"))


def _fits_the_screen(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide on a 375 px screen"


def test_a_new_patient_answers_and_consents_on_a_phone_and_the_practitioner_sees_it(
    phone_page, desktop_page, demo, make_staff, axe, screenshot
):
    colette = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
    practitioner = make_staff("practitioner", practitioner=colette)
    practitioner_email = practitioner.email
    start = ten_oclock(5)
    appointment = make_appointment(start, session="acupuncture-cupping", patient="Ada Byron")
    appointment_id, patient_id = appointment.id, appointment.patient_id
    link = f"/intake/{intake_token(appointment)}"
    day = to_local(start, clinic_settings().zone).date().isoformat()
    db.session.rollback()

    # The patient, on their phone, from the link in the confirmation email.
    page = phone_page
    page.goto(link)
    expect(page.get_by_role("heading", name="Health questions before your visit")).to_be_visible()
    axe(page, label="the questionnaire")
    _fits_the_screen(page)
    # Sent with nothing answered: the error summary comes first, focused, and links on.
    page.get_by_role("button", name="Save my answers").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # autofocus acts at the next rendering: wait for it
    assert page.locator("#error-summary a[href='#epilepsy']").count() == 1
    axe(page, label="the questionnaire with errors")

    page.get_by_label("Date of birth").fill("1970-05-17")
    page.get_by_label("Your GP's name").fill("Dr Quentin Blake")
    page.get_by_label("Your GP practice (name and town)").fill("Harrow Road Surgery, London")
    page.get_by_label("In your own words").fill(PROBLEM)
    for fieldset in page.locator("fieldset.yes-no").all():
        fieldset.get_by_label("No", exact=True).check()
    implants = page.locator("fieldset#pacemaker_or_implants")
    implants.get_by_label("Yes", exact=True).check()
    page.locator("#pacemaker_or_implants_details").fill(PACEMAKER_DETAILS)
    screenshot(page, "questionnaire")
    page.get_by_role("button", name="Save my answers").click()

    page.wait_for_url(re.compile(r"/consent$"))
    expect(page.get_by_role("group", name="Cupping")).to_be_visible()
    assert "marks" in page.get_by_role("group", name="Cupping").inner_text()
    axe(page, label="the consent page")
    _fits_the_screen(page)
    page.get_by_label(re.compile("agree to have it")).first.check()
    page.get_by_label(re.compile("that it leaves marks")).check()
    screenshot(page, "consent")
    page.get_by_role("button", name="Give my consent").click()
    page.wait_for_url(re.compile(r"/done$"))
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    axe(page, label="the thank-you page")

    # The practitioner, before treating: the flag and the consent on the appointment page.
    desk = desktop_page
    _sign_in(desk, practitioner_email, STAFF_PASSWORD)
    # In the diary first: the block says the answers are flagged, and nothing is missing.
    desk.goto(f"/diary/day/{day}")
    block = desk.locator(f"a[href='/diary/appointments/{appointment_id}']").first
    expect(block).to_contain_text("Flagged answers")
    assert "Consent missing" not in block.inner_text()
    assert "Intake missing" not in block.inner_text()
    desk.goto(f"/diary/appointments/{appointment_id}")
    record = desk.locator("#clinical-record")
    assert "Flagged answers" in record.inner_text()
    assert PACEMAKER_DETAILS in record.inner_text()
    assert "Acupuncture: given" in record.inner_text() and "Cupping: given" in record.inner_text()
    screenshot(desk, "practitioner-appointment")
    axe(desk, label="the appointment page, as the practitioner")
    desk.get_by_role("link", name="Read all the answers").click()
    # Read once the answers page is there: content() mid-navigation is an empty document.
    desk.wait_for_url(re.compile(rf"/diary/patients/{patient_id}/intake$"))
    expect(desk.locator("main")).to_contain_text(PROBLEM)
    _sign_out(desk)

    # The receptionist: the record is complete, its content refused.
    _sign_in(desk, RECEPTIONIST_EMAIL, demo)
    desk.goto(f"/diary/day/{day}")
    block = desk.locator(f"a[href='/diary/appointments/{appointment_id}']").first
    expect(block).to_be_visible()
    assert "Flagged answers" not in block.inner_text()
    desk.goto(f"/diary/appointments/{appointment_id}")
    record = desk.locator("#clinical-record")
    assert "complete" in record.inner_text() and "Acupuncture: given" in record.inner_text()
    assert PACEMAKER_DETAILS not in desk.content() and "Flagged answers" not in desk.content()
    response = desk.goto(f"/diary/patients/{patient_id}/intake")
    assert response.status == 403
    assert PACEMAKER_DETAILS not in desk.content() and PROBLEM not in desk.content()
    screenshot(desk, "receptionist-refused")
