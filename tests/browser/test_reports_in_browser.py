"""The owner reads the dashboard on a laptop screen (1366 x 768), in a real Chromium (issue 22)."""

import re
from datetime import UTC, date, datetime, time, timedelta
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


def test_the_owner_checks_then_imports_a_file_from_another_system(
    laptop_page, demo, axe, screenshot
):
    owner = StaffUser(email="owner@clinic.example", name="Owner", role="admin")
    owner.set_password(PASSWORD)
    db.session.add(owner)
    db.session.commit()
    # A weekday a month ahead of the live server's clock (which the import compares with).
    ahead = datetime.now(LONDON).date() + timedelta(days=30)
    ahead += timedelta(days=(7 - ahead.weekday()) % 7 + 1)  # a Tuesday
    sample = (
        "\ufeffid,name,email,appointment_id,starts_at,practitioner,session_type\r\n"
        f"s1,Zoë Brontë,zoe@example.org,a1,{ahead} 10:00,Colette Assor,Massage\r\n"
        f"s2,Kim Ray,kim@example.org,a2,{ahead} 11:00,Nobody Known,Massage\r\n"
        f"s3,Ann Ode,ann@example.org,a3,{ahead.year}-02-30 10:00,Colette Assor,Massage\r\n"
    ).encode()
    upload = {"name": "export.csv", "mimeType": "text/csv", "buffer": sample}

    page = laptop_page
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/diary/"))

    page.goto("/diary/import")
    page.get_by_label("The system the file comes from").select_option("generic")
    page.get_by_label("The CSV file").set_input_files(upload)
    page.get_by_role("button", name="Check the file (dry run)").click()
    summary = "3 rows read: 1 new patient and 1 appointment to add; 2 rows with something to say."
    expect(page.get_by_text(summary)).to_be_visible()
    problems = page.get_by_role("table", name="Rows with problems")
    expect(problems.get_by_role("row")).to_have_count(3)  # the heading and two rows
    expect(problems).to_contain_text("Unknown practitioner")
    expect(problems).to_contain_text("Bad date")
    axe(page, label="the import's dry run")
    screenshot(page, "import-checked")

    page.get_by_label("The CSV file").set_input_files(upload)
    page.get_by_role("button", name="Import 1 patient and 1 appointment").click()
    expect(page.get_by_text("Imported 1 new patient and 1 appointment.")).to_be_visible()
    axe(page, label="the import's result")
