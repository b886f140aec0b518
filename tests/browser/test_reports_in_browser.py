"""The owner reads the dashboard on a laptop screen (1366 x 768), in a real Chromium (issue 22)."""

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import StaffUser
from tests.factories import make_appointment, make_patient
from tests.fixtures_browser import _new_page

LONDON = ZoneInfo("Europe/London")
LAPTOP = {"width": 1366, "height": 768}
PASSWORD = "owner's long password"


@pytest.fixture
def laptop_page(browser, live_server):
    context, page = _new_page(browser, live_server, viewport=LAPTOP)
    yield page
    context.close()
    assert page.csp_violations == [], "the page broke its own Content-Security-Policy"


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON).astimezone(UTC)


def test_the_owner_reads_the_dashboard_and_its_tables(laptop_page, demo, axe, screenshot):
    owner = StaffUser(email="owner@clinic.example", name="Owner", role="admin")
    owner.set_password(PASSWORD)
    db.session.add(owner)
    db.session.commit()
    patient = make_patient("Zoë Brontë")
    for day, status in (
        (date(2026, 10, 19), "attended"),
        (date(2026, 10, 20), "no_show"),
        (date(2026, 10, 27), "attended"),
    ):
        make_appointment(at(day, 10), patient=patient, status=status)
    db.session.rollback()

    page = laptop_page
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/diary/"))

    page.goto("/diary/reports")
    page.get_by_label("From", exact=True).fill("2026-10-19")
    page.get_by_label("To", exact=True).fill("2026-11-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"first_day=2026-10-19"))
    expect(page.get_by_role("heading", name="How the clinic is doing")).to_be_visible()
    # Each chart is an image with a name, and its figures are in a table beside it.
    expect(page.get_by_role("img", name="Appointments per week")).to_be_visible()
    expect(page.get_by_role("img", name="Utilisation per practitioner")).to_be_visible()
    weeks = page.get_by_role("table", name="Appointments per week")
    assert weeks.get_by_role("row").count() == 3  # the heading and two weeks
    assert "33.3%" in page.locator("dl.figures").inner_text()  # one no-show of three marked
    # Nothing wider than the screen: no sideways scrolling on a laptop.
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    screenshot(page, "dashboard")
    axe(page, label="the dashboard")

    page.goto("/diary/exports")
    axe(page, label="the exports page")
    page.goto("/diary/import")
    axe(page, label="the import page")
