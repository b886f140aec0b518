"""The desk's tablet in a real Chromium: the receptionist hands it over from the appointment
page; the patient sees only their questionnaire and consent, then a locked screen that the
browser's Back button does not get past; a staff sign-in unlocks it."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import IntakeForm, TreatmentConsent
from tests.factories import make_appointment
from tests.records_helpers import ten_oclock

RECEPTIONIST_EMAIL = "reception@clinic.example"


def _sign_in(page, password: str) -> None:
    page.get_by_label("Email address").fill(RECEPTIONIST_EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_the_tablet_is_locked_to_the_patients_forms(phone_page, demo, axe, screenshot):
    appointment = make_appointment(ten_oclock(3), session="massage", patient="Edith Stone")
    appointment_id, patient_id = appointment.id, appointment.patient_id
    db.session.rollback()
    page = phone_page
    page.goto("/staff/sign-in")
    _sign_in(page, demo)
    page.wait_for_url(re.compile(r"/diary/$"))
    page.goto(f"/diary/appointments/{appointment_id}")
    page.get_by_role("button", name="Hand this tablet to the patient").click()

    page.wait_for_url(re.compile(r"/tablet/questionnaire$"))
    expect(page.get_by_role("heading", name="Health questions before your visit")).to_be_visible()
    assert page.locator("a[href*='/diary']").count() == 0
    assert page.get_by_role("button", name="Sign out").count() == 0
    axe(page, label="the tablet's questionnaire")
    page.get_by_label("Date of birth").fill("1961-02-03")
    page.get_by_label("Your GP's name").fill("Dr Example")
    page.get_by_label("Your GP practice (name and town)").fill("Example Surgery, London")
    page.get_by_label("In your own words").fill("A stiff neck in the mornings.")
    for fieldset in page.locator("fieldset.yes-no").all():
        fieldset.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Save my answers").click()

    page.wait_for_url(re.compile(r"/tablet/consent$"))
    page.get_by_label(re.compile("agree to have it")).first.check()
    page.get_by_role("button", name="Give my consent").click()
    page.wait_for_url(re.compile(r"/tablet/locked$"))
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    axe(page, label="the locked screen")
    screenshot(page, "locked")

    # Back, and a typed staff address: never past the locked screen or the sign-in form.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/tablet/locked$"))
    page.goto(f"/diary/appointments/{appointment_id}")
    expect(page).to_have_url(re.compile(r"/staff/sign-in"))
    assert "Edith Stone" not in page.content()

    db.session.rollback()
    assert db.session.scalar(sa.select(IntakeForm).filter_by(patient_id=patient_id)).method == (
        "desk"
    )
    assert db.session.scalar(sa.select(TreatmentConsent).filter_by(patient_id=patient_id))

    page.goto("/tablet/locked")
    page.get_by_role("link", name="sign in to unlock it").click()
    _sign_in(page, demo)
    page.wait_for_url(re.compile(rf"/diary/appointments/{appointment_id}$"))
    expect(page.locator("#clinical-record")).to_contain_text("Massage: given")
