"""The staff side in a real Chromium: the receptionist's diary on a phone, the feed, axe."""

import re
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.clinic.appointments import PatientDetails, book_appointment
from booking.clinic.availability import practitioner_free_starts
from booking.clinic.localtime import local_to_utc, local_today, to_local
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import manage_token
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Patient,
    Practitioner,
    SessionType,
)
from tests.fixtures_staff import STAFF_PASSWORD
from tests.ical_parser import parse_calendar
from tests.test_feed_in_calendar_app import CALCURSE, calcurse_appointments

PHONE_WIDTH = 375
RECEPTIONIST_EMAIL = "reception@clinic.example"
PUBLIC_BASE_URL = "https://book.clinic.example"


@dataclass(frozen=True)
class Booking:
    """What the tests need to know about an appointment, read before the browser starts."""

    id: int
    patient: str
    starts_at: datetime
    day: date
    time: str
    practitioner_id: int


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def fresh(model, identity: int):
    """The row as the database has it now, not as this session last saw it.

    The rollback ends the test thread's read transaction: on SQLite in WAL mode it
    would otherwise keep showing the snapshot from before the browser's requests.
    """
    db.session.rollback()
    return db.session.get(model, identity)


def local(instant: datetime) -> datetime:
    return to_local(instant, clinic_settings().zone)


def remember(appointment: Appointment) -> Booking:
    starts = local(appointment.starts_at)
    return Booking(
        id=appointment.id,
        patient=appointment.patient.name,
        starts_at=appointment.starts_at,
        day=starts.date(),
        time=f"{starts:%H:%M}",
        practitioner_id=appointment.practitioner_id,
    )


def colette() -> Practitioner:
    return get(Practitioner, slug="colette-assor")


def full_combination() -> SessionType:
    return get(SessionType, slug="full-combination")


def free_day_with_two_times(practitioner, session_type) -> tuple[date, list[datetime]]:
    """The first day on which a patient could book `session_type` at two or more times."""
    today = local_today(utcnow(), clinic_settings().zone)
    by_day = practitioner_free_starts(
        practitioner, session_type, today, today + timedelta(days=21), now=utcnow()
    )
    return next((day, starts) for day, starts in sorted(by_day.items()) if len(starts) >= 2)


def book_full_combination_online() -> Booking:
    """A patient's own booking, made through the domain as the public site makes it."""
    practitioner, session_type = colette(), full_combination()
    _day, starts = free_day_with_two_times(practitioner, session_type)
    appointment = book_appointment(
        session_type=session_type,
        starts_at=starts[0],
        practitioner=practitioner,
        patient=PatientDetails(name="Priya Shah", email="priya.shah@example.org", phone=None),
        health_consent=True,
    )
    booking = remember(appointment)
    db.session.rollback()
    return booking


def add_yesterdays_appointment(name: str = "Harold Baines") -> Booking:
    """Yesterday at 10:00 with Colette, written straight to the table: booking refuses the past."""
    zone = clinic_settings().zone
    yesterday = local_today(utcnow(), zone) - timedelta(days=1)
    session_type = get(SessionType, slug="massage")
    starts_at = local_to_utc(yesterday, time(10), zone)
    appointment = Appointment(
        practitioner=colette(),
        patient=Patient(name=name, phone="07700 900456"),
        session_type=session_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=session_type.duration_minutes),
        source="staff",
        price_pence=session_type.price_pence,
    )
    db.session.add(appointment)
    db.session.commit()
    booking = remember(appointment)
    db.session.rollback()
    return booking


def tap_and_load(page, target, url=None) -> None:
    """Tap and wait for the page it leads to, even when that page has the same address.

    A form that posts back and redirects to the page it is on leaves the URL unchanged, so
    waiting for the URL would return at once, before the new page has arrived.
    """
    with page.expect_navigation(url=url) if url is not None else page.expect_navigation():
        target.tap()


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def flash_text(page) -> str:
    return page.locator(".flashes").inner_text()


def sign_in_through_the_form(page, email: str, password: str) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/diary/$"))


def audit_actions(appointment_id: int) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(
                AuditEvent.subject_type == "Appointment", AuditEvent.subject_id == appointment_id
            )
            .order_by(AuditEvent.id)
        )
    )


def test_the_receptionist_moves_a_booking_and_marks_attendance_on_a_phone(
    phone_page, demo, screenshot
):
    page = phone_page
    booking = book_full_combination_online()
    past = add_yesterdays_appointment()
    zone = clinic_settings().zone

    # Signing in through the real form lands on today's diary.
    page.goto("/staff/sign-in")
    screenshot(page, "1-sign-in")
    page.get_by_label("Email address").fill(RECEPTIONIST_EMAIL)
    page.get_by_label("Password").fill(demo)
    tap_and_load(page, page.get_by_role("button", name="Sign in"), re.compile(r"/diary/$"))
    screenshot(page, "2-today")
    assert "Signed in as" in page.locator(".staff-who").inner_text()
    assert (
        page.get_by_role("heading", level=1)
        .inner_text()
        .startswith(f"{local_today(utcnow(), zone):%A}")
    )

    # The "go to date" form opens the day of the patient's booking.
    page.get_by_label("Go to date").fill(booking.day.isoformat())
    tap_and_load(
        page, page.get_by_role("button", name="Show"), f"**/diary/day/{booking.day.isoformat()}"
    )
    screenshot(page, "3-day-of-the-booking")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert f"{booking.day:%A} {booking.day.day} {booking.day:%B %Y}" in heading
    in_the_grid = page.locator("table.diary-grid a.appointment", has_text=booking.patient)
    assert in_the_grid.count() == 1
    assert booking.time in in_the_grid.inner_text()
    assert "Booked" in in_the_grid.inner_text()
    # The grid scrolls inside its own box: the page itself never scrolls sideways.
    assert page_width(page) <= PHONE_WIDTH

    # The appointment page.
    tap_and_load(page, in_the_grid, f"**/diary/appointments/{booking.id}")
    screenshot(page, "4-appointment")
    assert page.get_by_role("heading", level=1).inner_text() == (
        f"Full combination session for {booking.patient}"
    )
    assert page.locator(".status-badge").inner_text() == "Booked"
    assert page_width(page) <= PHONE_WIDTH

    # It has not started, so attendance is refused with a reason, and nothing changes.
    tap_and_load(page, page.get_by_role("button", name="Mark attended"))
    screenshot(page, "5-attendance-refused")
    assert "Attendance can only be recorded once the appointment has started." in flash_text(page)
    assert page.locator(".status-badge").inner_text() == "Booked"
    assert fresh(Appointment, booking.id).status == AppointmentStatus.BOOKED.value

    # Move it to the last other time free that day (the move ignores the booking itself).
    moved_to = [
        start
        for start in practitioner_free_starts(
            colette(),
            full_combination(),
            booking.day,
            booking.day,
            now=utcnow(),
            ignore_appointment_id=booking.id,
            ignore_minimum_notice=True,
        )[booking.day]
        if start != booking.starts_at
    ][-1]
    db.session.rollback()
    new_time = f"{local(moved_to):%H:%M}"
    move = page.locator("form[action$='/move']")
    assert move.get_by_label("Date").input_value() == booking.day.isoformat()
    assert move.get_by_label("Time").input_value() == booking.time
    move.get_by_label("Time").fill(new_time)
    screenshot(page, "6-move-form-filled")
    tap_and_load(
        page,
        move.get_by_role("button", name="Move appointment"),
        f"**/diary/appointments/{booking.id}",
    )
    screenshot(page, "7-moved")
    assert "The appointment has been moved. An email to" in flash_text(page)
    when = page.locator("dt", has_text="When").locator("xpath=following-sibling::dd[1]")
    assert f"at {new_time}" in when.inner_text()
    assert page.locator(".status-badge").inner_text() == "Booked"

    moved = fresh(Appointment, booking.id)
    assert moved.starts_at == moved_to
    assert moved.ends_at == moved_to + timedelta(minutes=90)
    assert moved.status == AppointmentStatus.BOOKED.value
    assert moved.sequence == 1
    assert audit_actions(booking.id) == ["appointment.moved"]

    # Back in the diary the booking sits at its new time.
    tap_and_load(
        page,
        page.get_by_role("link", name="Back to the diary for that day"),
        f"**/diary/day/{booking.day.isoformat()}",
    )
    screenshot(page, "8-diary-after-the-move")
    in_the_grid = page.locator("table.diary-grid a.appointment", has_text=booking.patient)
    assert new_time in in_the_grid.inner_text()

    # Yesterday's appointment, reached through the diary, is marked attended.
    today = local_today(utcnow(), zone)
    tap_and_load(page, page.get_by_role("link", name="Today"), f"**/diary/day/{today.isoformat()}")
    tap_and_load(
        page, page.get_by_role("link", name="Previous day"), f"**/diary/day/{past.day.isoformat()}"
    )
    screenshot(page, "9-yesterday")
    yesterdays = page.locator("table.diary-grid a.appointment", has_text=past.patient)
    assert "Booked" in yesterdays.inner_text()
    tap_and_load(page, yesterdays, f"**/diary/appointments/{past.id}")
    tap_and_load(
        page, page.get_by_role("button", name="Mark attended"), f"**/diary/appointments/{past.id}"
    )
    screenshot(page, "10-attended")
    assert f"{past.patient} at 10:00: marked attended." in flash_text(page)
    assert page.locator(".status-badge").inner_text() == "Attended"
    # The button for the state it is already in is gone; the others remain.
    assert page.get_by_role("button", name="Mark attended").count() == 0
    expect(page.get_by_role("button", name="Mark no-show")).to_be_visible()

    attended = fresh(Appointment, past.id)
    assert attended.status == AppointmentStatus.ATTENDED.value
    assert audit_actions(past.id) == ["appointment.attendance"]

    tap_and_load(
        page,
        page.get_by_role("link", name="Back to the diary for that day"),
        f"**/diary/day/{past.day.isoformat()}",
    )
    screenshot(page, "11-diary-shows-attended")
    yesterdays = page.locator("table.diary-grid a.appointment", has_text=past.patient)
    assert "Attended" in yesterdays.inner_text()
    assert "status-attended" in yesterdays.get_attribute("class")


def test_a_practitioner_subscribes_to_the_feed_the_page_gives(
    app, phone_page, demo, make_staff, axe, screenshot, live_server, monkeypatch, tmp_path
):
    # Links for calendar apps are built from the configured public address, as in production.
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    booking = book_full_combination_online()
    practitioner = make_staff(role="practitioner", practitioner=colette())
    email = practitioner.email
    db.session.rollback()

    page = phone_page
    sign_in_through_the_form(page, email, STAFF_PASSWORD)
    tap_and_load(page, page.get_by_role("link", name="Calendar feed"), "**/diary/feeds")
    screenshot(page, "feed-page")
    # A practitioner sees their own calendar only.
    assert page.locator("section.feed-card h2").all_inner_texts() == ["Colette Assor"]
    axe(page, label="the calendar feed page (practitioner)")
    assert page_width(page) <= PHONE_WIDTH

    web_url = page.get_by_label("Link for Google Calendar and Outlook on the web").input_value()
    webcal_url = page.get_by_label(
        "Link for Apple Calendar and Outlook on a computer"
    ).input_value()
    assert re.fullmatch(re.escape(PUBLIC_BASE_URL) + r"/feeds/[A-Za-z0-9_-]{20,}\.ics", web_url)
    assert webcal_url == "webcal://" + web_url.removeprefix("https://")

    # A calendar app fetches it with no cookies: here, the same path from the live server.
    path = web_url.removeprefix(PUBLIC_BASE_URL)
    with urllib.request.urlopen(live_server + path, timeout=10) as response:  # noqa: S310
        status = response.status
        content_type = response.headers["Content-Type"]
        body = response.read()
    assert status == 200
    assert content_type == "text/calendar; charset=utf-8"
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert body.rstrip(b"\r\n").endswith(b"END:VCALENDAR")

    calendar = parse_calendar(body)
    zone_name = clinic_settings().timezone
    db.session.rollback()
    assert [z.value("TZID") for z in calendar.components_named("VTIMEZONE")] == [zone_name]
    events = [
        event
        for event in calendar.components_named("VEVENT")
        if event.instant("DTSTART") == booking.starts_at
    ]
    assert len(events) == 1, body.decode()
    [event] = events
    assert event.get("DTSTART").param("TZID") == zone_name
    assert event.get("DTSTART").value == f"{local(booking.starts_at):%Y%m%dT%H%M%S}"
    assert event.instant("DTEND") == booking.starts_at + timedelta(minutes=90)
    # Contact details never leave the clinic in a feed.
    assert b"priya.shah@example.org" not in body

    # And a real calendar program, given that file, shows the booking at the clinic's time.
    if CALCURSE is None:
        pytest.skip("calcurse is not installed: the import into a calendar program was not tried")
    listed = calcurse_appointments(body, zone_name, tmp_path, booking.day, 1)
    ends = local(booking.starts_at + timedelta(minutes=90))
    assert any(
        line.startswith(f"{local(booking.starts_at):%Y-%m-%d %H:%M}|{ends:%Y-%m-%d %H:%M}|")
        for line in listed
    ), listed


@pytest.fixture
def diary_scene(demo):
    """The demo clinic with one online booking; the staff pages' addresses for it."""
    booking = book_full_combination_online()
    practitioner = colette()
    _day, starts = free_day_with_two_times(practitioner, full_combination())
    free_start = next(s for s in starts if s != booking.starts_at)
    monday = booking.day - timedelta(days=booking.day.weekday())
    paths = {
        "day": f"/diary/day/{booking.day.isoformat()}",
        "week": f"/diary/week/{practitioner.slug}/{monday.isoformat()}",
        "appointment": f"/diary/appointments/{booking.id}",
        "phone-booking": (
            f"/diary/book?practitioner={practitioner.id}&start={free_start:%Y%m%dT%H%MZ}"
        ),
        "patients": "/diary/patients",
        "time-off": "/diary/time-off",
        "feeds": "/diary/feeds",
    }
    db.session.rollback()
    return booking, paths


@pytest.mark.parametrize(
    "name", ["day", "week", "appointment", "phone-booking", "patients", "time-off", "feeds"]
)
def test_the_receptionists_pages_pass_axe_on_a_phone(
    phone_page, demo, diary_scene, axe, screenshot, name
):
    booking, paths = diary_scene
    page = phone_page
    sign_in_through_the_form(page, RECEPTIONIST_EMAIL, demo)
    response = page.goto(paths[name])
    assert response is not None and response.ok, f"{paths[name]} answered {response.status}"
    screenshot(page, name)
    axe(page, label=f"the {name} page")
    assert page_width(page) <= PHONE_WIDTH

    if name == "patients":
        # The search, with its results.
        page.get_by_label("Name, email or phone").fill("priya")
        tap_and_load(page, page.get_by_role("button", name="Search"))
        screenshot(page, "patients-found")
        expect(page.get_by_role("heading", name="Found 1")).to_be_visible()
        expect(page.get_by_role("link", name=booking.patient)).to_be_visible()
        axe(page, label="the patient search results")
        assert page_width(page) <= PHONE_WIDTH


def test_the_patients_manage_page_passes_axe_on_a_phone(phone_page, demo, axe, screenshot):
    booking = book_full_combination_online()
    token = manage_token(fresh(Appointment, booking.id))
    db.session.rollback()
    response = phone_page.goto(f"/manage/{token}")
    assert response is not None and response.ok
    screenshot(phone_page, "manage")
    expect(phone_page.get_by_role("heading", name="Your appointment")).to_be_visible()
    assert booking.time in phone_page.locator("main").inner_text()
    axe(phone_page, label="the manage-my-booking page")
    assert page_width(phone_page) <= PHONE_WIDTH


def test_the_sign_in_page_works_from_the_keyboard(desktop_page, demo, axe, screenshot):
    page = desktop_page
    page.goto("/staff/sign-in")
    axe(page, label="the sign-in page")

    def focused() -> str:
        return page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e.id || e.getAttribute('type') || e.tagName.toLowerCase(); })()"
        )

    # Tab from the top of the page until the email field; the next stops are the password
    # field and then the button, with nothing in between.
    reached = []
    for _ in range(10):
        page.keyboard.press("Tab")
        reached.append(focused())
        if reached[-1] == "email":
            break
    assert reached[-1] == "email", f"Tab never reached the email field: {reached}"
    page.keyboard.type(RECEPTIONIST_EMAIL)
    page.keyboard.press("Tab")
    assert focused() == "password"
    page.keyboard.type(demo)
    page.keyboard.press("Tab")
    assert focused() == "submit"
    assert page.evaluate("document.activeElement.textContent.trim()") == "Sign in"
    screenshot(page, "keyboard-on-the-button")

    # Back to the password field: Enter there submits the form.
    page.keyboard.press("Shift+Tab")
    assert focused() == "password"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/diary/$"))
    screenshot(page, "signed-in")
    assert "Signed in as" in page.locator(".staff-who").inner_text()
