"""Treatment notes and outcomes in a real Chromium: the practitioner writes and signs the
note of a course's last session, then reads the outcome chart; the receptionist sees that
the note is signed and is refused its content."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.clinic.records import outcomes
from booking.extensions import db
from booking.models import Practitioner, RecordMethod, TreatmentNote
from tests.clinical_helpers import course_with_sessions
from tests.fixtures_staff import STAFF_PASSWORD

RECEPTIONIST_EMAIL = "reception@clinic.example"
SUBJECTIVE = "Lower back ache, much easier on the stairs this week"


def _sign_in(page, email: str, password: str) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/diary/$"))


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/staff/sign-in"))


def test_the_practitioner_signs_the_note_and_reads_the_chart_reception_is_refused(
    desktop_page, phone_page, demo, make_staff, make_course, axe, screenshot
):
    colette = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
    practitioner = make_staff("practitioner", practitioner=colette)
    practitioner_email = practitioner.email
    course = make_course()
    sessions = course_with_sessions(course, attended=10)
    for session, pain, stairs in ((sessions[0], 8, 2), (sessions[4], 6, 5)):
        outcomes.record_outcome(
            session, pain=pain, activities=[("Climbing stairs", stairs)], method=RecordMethod.DESK
        )
    last_id, course_id = sessions[-1].id, course.id
    last_link = f"/outcomes/{outcomes.outcome_token(sessions[-1])}"
    db.session.rollback()

    # The patient scores the last session from the link in their reminder, on a phone.
    patient = phone_page
    patient.goto(last_link)
    axe(patient, label="the outcome form")
    patient.get_by_label(re.compile("Your pain today")).select_option("3")
    patient.get_by_label(re.compile("Climbing stairs")).select_option("8")
    patient.get_by_role("button", name="Send my answers").click()
    expect(patient.get_by_role("heading", name="Thank you")).to_be_visible()

    # The practitioner writes the note from the template, then signs it.
    page = desktop_page
    _sign_in(page, practitioner_email, STAFF_PASSWORD)
    page.goto(f"/diary/appointments/{last_id}")
    page.get_by_role("link", name="Write the treatment note").click()
    subjective = page.get_by_label("Subjective")
    assert "Presenting complaint:" in subjective.input_value()  # the template's prompt
    axe(page, label="the note form")
    subjective.fill(SUBJECTIVE)
    page.get_by_label("Points used").fill("BL23, BL25, GB30")
    page.get_by_label("Needle count").fill("8")
    page.get_by_label("Advice given, including safety advice").fill(
        "Expect mild soreness for a day; call us if it lasts."
    )
    page.get_by_role("button", name="Save and sign").click()
    expect(page.locator(".flash").first).to_contain_text("signed and locked")
    assert "Signed by" in page.locator("#note-status").inner_text()
    assert page.get_by_role("button", name="Save and sign").count() == 0  # locked
    expect(page.get_by_role("button", name="Add amendment")).to_be_visible()
    screenshot(page, "signed-note")
    axe(page, label="the signed note")

    # After the course's last session: the outcome chart, its summary and its table.
    page.get_by_role("link", name="Outcomes of this course").click()
    page.wait_for_url(re.compile(rf"/diary/courses/{course_id}/outcomes$"))
    assert page.locator("svg.outcome-chart circle").count() == 6
    assert (
        "Pain went from 8 out of 10 at the first session to 3"
        in page.locator("#outcome-summary").inner_text()
    )
    assert page.get_by_role("table").locator("tbody tr").count() == 3
    screenshot(page, "outcome-chart")
    axe(page, label="the outcome chart")
    _sign_out(page)

    # The receptionist: the note is signed, its content refused.
    _sign_in(page, RECEPTIONIST_EMAIL, demo)
    page.goto(f"/diary/appointments/{last_id}")
    assert "signed" in page.locator("#note-state").inner_text()
    assert page.get_by_role("link", name="Open the treatment note").count() == 0
    response = page.goto(f"/diary/appointments/{last_id}/treatment-note")
    assert response.status == 403
    assert SUBJECTIVE not in page.content()
    assert page.goto(f"/diary/courses/{course_id}/outcomes").status == 403
    screenshot(page, "receptionist-refused")

    db.session.rollback()
    assert db.session.scalar(sa.select(TreatmentNote.status)) == "signed"
