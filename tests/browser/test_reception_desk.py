"""The receptionist at a 1366x768 desktop, in Chromium, with the clicks of each task counted.

Each test does one task of issue 18 as a receptionist would, counting every click (a
typed search submitted with Enter counts as the search, not as a click), and asserts
the count against the target the README's table gives. The counts are printed, so a
run shows the table's figures.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from booking.clinic.appointments import cancel_appointment
from booking.clinic.waiting_list import Wish, add_caller, offer_free_times
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    OutboxMessage,
    Practitioner,
    SessionType,
    StaffUser,
    WaitingListEntry,
)
from tests.factories import make_appointment, make_patient
from tests.fixtures_browser import _new_page

LONDON = ZoneInfo("Europe/London")
DESK = {"width": 1366, "height": 768}
RECEPTIONIST_EMAIL = "reception@clinic.example"
PAST_TUESDAY = date(2026, 12, 1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


def coming_weekday() -> date:
    """A weekday from tomorrow, not today's day of the week (see tests/test_waiting_list)."""
    today = datetime.now(LONDON).date()
    day = today + timedelta(days=1)
    while day.weekday() > 4 or day.weekday() == today.weekday():
        day += timedelta(days=1)
    return day


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


class Clicks:
    """Clicks on a page, counted."""

    def __init__(self, page):
        self.page = page
        self.count = 0

    def click(self, locator) -> None:
        self.count += 1
        with self.page.expect_navigation():
            locator.click()


@pytest.fixture
def desk_page(browser, live_server, demo):
    context, page = _new_page(browser, live_server, viewport=DESK)
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(RECEPTIONIST_EMAIL)
    page.get_by_label("Password").fill(demo)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/diary/$"))
    yield page
    context.close()
    assert page.csp_violations == [], "the page broke its own Content-Security-Policy"


def test_find_a_caller_from_the_header_and_book_them_again_next_week_in_two_clicks(
    desk_page, screenshot
):
    page = desk_page
    day = coming_weekday()
    zoe = make_patient("Zoë O'Neill", phone="07700 900555")
    visit = make_appointment(at(day, 10), patient=zoe)
    db.session.rollback()

    page.get_by_label("Find a patient by name, phone or email").fill("zoe oneill")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the search
    assert page.url.endswith("/diary/patients")
    expect(page.get_by_role("heading", name="Found 1")).to_be_visible()
    screenshot(page, "found")
    opening = Clicks(page)
    opening.click(page.get_by_role("link", name=re.compile(r"at 10:00")))
    assert opening.count == 1

    rebooking = Clicks(page)
    rebooking.click(page.get_by_role("link", name="Same time next week"))
    screenshot(page, "review")
    rebooking.click(page.get_by_role("button", name="Confirm booking"))
    screenshot(page, "booked")

    print(f"clicks: rebook same time next week = {rebooking.count}")
    assert rebooking.count == 2
    db.session.rollback()
    again = db.session.scalar(sa.select(Appointment).where(Appointment.id != visit.id))
    assert again.patient_id == zoe.id and again.starts_at == at(day + timedelta(weeks=1), 10)
    assert "Booked Zoë O'Neill again" in page.locator(".flashes").inner_text()


def test_attendance_is_one_click_from_the_grid(desk_page, screenshot, axe):
    page = desk_page
    visit = make_appointment(at(PAST_TUESDAY, 10), patient="Harold Baines")
    db.session.rollback()
    page.goto(f"/diary/day/{PAST_TUESDAY.isoformat()}")
    clicks = Clicks(page)
    clicks.click(page.get_by_role("button", name=re.compile(r"^Arrived\W+Harold Baines at 10:00")))
    db.session.rollback()
    assert db.session.get(Appointment, visit.id).status == AppointmentStatus.ARRIVED
    clicks.click(page.get_by_role("button", name=re.compile(r"^Attended\W+Harold Baines at 10:00")))
    screenshot(page, "attended")
    axe(page, label="the day grid with attendance buttons")
    db.session.rollback()
    assert db.session.get(Appointment, visit.id).status == AppointmentStatus.ATTENDED
    print(f"clicks: arrived = 1, attended = 1 (total {clicks.count})")
    assert clicks.count == 2
    # A mistake is one click to put right.
    Clicks(page).click(
        page.get_by_role("button", name=re.compile(r"^Undo\W+Harold Baines at 10:00"))
    )
    db.session.rollback()
    assert db.session.get(Appointment, visit.id).status == AppointmentStatus.BOOKED


def test_move_by_picking_a_free_time_and_by_dragging_on_the_grid(desk_page, screenshot, axe):
    page = desk_page
    day = coming_weekday()
    visit = make_appointment(at(day, 10), patient="Mover Patient")
    db.session.rollback()

    page.goto(f"/diary/appointments/{visit.id}")
    picking = Clicks(page)
    picking.click(page.get_by_role("link", name="Choose from the free times"))
    picking.click(page.get_by_role("link", name="14:00", exact=True))
    screenshot(page, "review")
    axe(page, label="the move review")
    picking.click(page.get_by_role("button", name="Move to 14:00"))
    print(f"clicks: move by picking a free time = {picking.count}")
    assert picking.count == 3
    db.session.rollback()
    assert db.session.get(Appointment, visit.id).starts_at == at(day, 14)

    page.goto(f"/diary/day/{day.isoformat()}")
    block = page.locator(f'[data-move-url="/diary/appointments/{visit.id}/move"]')
    target = page.locator(f'td[data-start="{at(day, 16):%Y%m%dT%H%MZ}"]').first
    with page.expect_navigation():
        block.drag_to(target)
    assert "Check the change" in page.content()
    screenshot(page, "dropped")
    dragging = Clicks(page)
    dragging.click(page.get_by_role("button", name="Move to 16:00"))
    print(f"clicks: move by dragging = 1 drag + {dragging.count}")
    db.session.rollback()
    assert db.session.get(Appointment, visit.id).starts_at == at(day, 16)


def test_a_cancelled_time_is_offered_to_a_waiting_patient_who_claims_it(
    desk_page, screenshot, live_server, axe
):
    page = desk_page
    day = coming_weekday()
    make_appointment(at(day, 9), minutes=60)
    freed = make_appointment(at(day, 10), patient="Cancelling Patient")
    make_appointment(at(day, 10, 45), minutes=135)
    desk = get(StaffUser, email=RECEPTIONIST_EMAIL)
    waiting = make_patient("Wendy Waiting", email="wendy@example.org")
    entry = add_caller(
        waiting,
        Wish(
            get(SessionType, slug="massage"),
            get(Practitioner, slug="colette-assor"),
            str(day.weekday()),
            "m",
            day,
        ),
        staff_user=desk,
    )
    cancel_appointment(freed, reason="Patient rang", staff_user=desk)
    [offer] = offer_free_times()
    email = get(OutboxMessage, kind="waiting_list_offer")
    claim_path = re.search(r"https?://[^\s]+?(/waiting-list/offer/\S+)", email.text_body).group(1)
    db.session.rollback()

    page.goto("/diary/waiting-list")
    assert "Wendy Waiting" in page.content() and "offered, open until" in page.content()
    screenshot(page, "waiting-list")
    axe(page, label="the waiting list")

    patient = page.context.browser.new_context(base_url=live_server, viewport=DESK).new_page()
    patient.goto(claim_path)
    with patient.expect_navigation():
        patient.get_by_role("button", name="Book this time").click()
    assert "/book/confirmed/" in patient.url
    db.session.rollback()
    assert get(WaitingListEntry, id=entry.id).status == "booked"
    booked = get(Appointment, starts_at=at(day, 10), status="booked")
    assert booked.patient_id == waiting.id and offer.entry_id == entry.id
    patient.context.close()
    # The receptionist sees that the cancelled time went to Wendy from the list.
    page.goto("/diary/waiting-list")
    claimed = page.locator("#booked-from-the-list")
    expect(claimed).to_contain_text("Wendy Waiting")
    expect(claimed).to_contain_text("(by the worker)")
    screenshot(page, "claimed")
    Clicks(page).click(claimed.get_by_role("link", name=re.compile(r"at 10:00")))
    expect(page.locator("main")).to_contain_text("from the waiting list")


def test_the_receptionist_tells_a_caller_which_messages_they_were_sent(desk_page, screenshot, axe):
    from booking.clinic.appointments import book_appointment

    page = desk_page
    jane = make_patient("Jane Caller", email="jane.caller@example.com")
    book_appointment(
        session_type=get(SessionType, slug="massage"),
        starts_at=at(coming_weekday(), 10),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=jane,
        staff_user=get(StaffUser, email=RECEPTIONIST_EMAIL),
    )
    db.session.rollback()
    page.get_by_label("Find a patient by name, phone or email").fill("jane caller")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    clicks = Clicks(page)
    clicks.click(page.get_by_role("link", name="Jane Caller"))
    messages = page.locator("#messages").inner_text()
    screenshot(page, "messages")
    axe(page, label="the patient page with its messages")
    assert "Confirmation email to j…@example.com: queued on" in messages
    print(f"clicks: which messages was a caller sent = search + {clicks.count}")
    assert clicks.count == 1


def test_a_phone_booking_for_a_patient_on_file_is_two_clicks_and_the_search(desk_page, screenshot):
    page = desk_page
    day = coming_weekday()
    ada = make_patient("Ada Returning", phone="07700 900123")
    db.session.rollback()
    page.goto(f"/diary/day/{day.isoformat()}")
    clicks = Clicks(page)
    clicks.click(page.get_by_role("link", name="Book with Colette Assor at 11:00"))
    page.get_by_label("Find a patient: name, email or phone").fill("900123")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the search: the single match comes back chosen
    assert page.get_by_label(re.compile("Ada Returning")).is_checked()
    screenshot(page, "found")
    clicks.click(page.get_by_role("button", name="Book this appointment"))
    print(f"clicks: phone booking for a patient on file = search + {clicks.count}")
    assert clicks.count <= 3
    db.session.rollback()
    booked = get(Appointment, starts_at=at(day, 11))
    assert booked is not None and booked.patient_id == ada.id


def test_a_new_caller_whose_phone_is_on_file_is_offered_that_patient(desk_page, screenshot, axe):
    page = desk_page
    day = coming_weekday()
    ada = make_patient("Ada Lovelace", email="ada@example.org", phone="07700 900123")
    db.session.rollback()
    page.goto(f"/diary/day/{day.isoformat()}")
    clicks = Clicks(page)
    clicks.click(page.get_by_role("link", name="Book with Colette Assor at 11:00"))
    page.get_by_label("A new patient").check()
    page.get_by_label("Full name").fill("Ada King")
    page.get_by_label("Phone number").fill("07700900123")  # typed without the space
    clicks.click(page.get_by_role("button", name="Book this appointment"))
    expect(page.locator("main")).to_contain_text(
        f"Already on file with this email or phone: Ada Lovelace (patient number {ada.id})"
    )
    screenshot(page, "on-file")
    axe(page, label="the phone booking's duplicate warning")
    page.get_by_label(re.compile("Ada Lovelace")).check()
    clicks.click(page.get_by_role("button", name="Book this appointment"))
    print(f"clicks: a new caller found on file = {clicks.count}")
    db.session.rollback()
    booked = get(Appointment, starts_at=at(day, 11))
    assert booked is not None and booked.patient_id == ada.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(type(ada))) == 1


def test_a_course_is_sold_from_the_patients_page_in_one_step(desk_page, screenshot):
    from booking.models import Course

    page = desk_page
    priya = make_patient("Priya Course", email="priya.course@example.org")
    db.session.rollback()
    page.goto(f"/diary/patients/{priya.id}")
    page.get_by_label("Payment reference").fill("card receipt 4411")
    clicks = Clicks(page)
    clicks.click(page.get_by_role("button", name="Sell a course"))
    screenshot(page, "sold")
    print(f"clicks: sell a course from the patient's page = {clicks.count}")
    assert clicks.count == 1
    db.session.rollback()
    course = get(Course, patient_id=priya.id)
    assert course is not None and course.credits_remaining == course.sessions_total > 0


def test_one_practitioners_time_off_leaves_the_others_column_bookable(desk_page, screenshot, axe):
    from booking.clinic.time_off import add_time_off

    page = desk_page
    day = coming_weekday()
    while day.weekday() not in (1, 2, 3):  # a day both Colette and Sam work
        day += timedelta(days=1)
    add_time_off(
        get(Practitioner, slug="sam-okafor"),
        at(day, 0),
        at(day + timedelta(days=1), 0),
        reason="Sam on holiday",
        staff_user=get(StaffUser, email=RECEPTIONIST_EMAIL),
    )
    sam, colette = (
        get(Practitioner, slug="sam-okafor").id,
        get(Practitioner, slug="colette-assor").id,
    )
    db.session.rollback()
    monday = day - timedelta(days=day.weekday())
    on_the_day = day.strftime("%Y%m%d")
    for view in (f"/diary/day/{day.isoformat()}", f"/diary/week-all/{monday.isoformat()}"):
        page.goto(view)
        expect(page.get_by_text("Blocked: Sam on holiday").first).to_be_visible()
        # No booking with Sam that day; Colette's column of the same day still offers times.
        assert page.locator(f'a[href*="practitioner={sam}&start={on_the_day}"]').count() == 0
        assert page.locator(f'a[href*="practitioner={colette}&start={on_the_day}"]').count() > 0
    page.goto(f"/diary/day/{day.isoformat()}")
    screenshot(page, "sam-away")
    axe(page, label="the day grid with one practitioner away")


def test_a_typed_move_to_a_closed_time_names_the_real_reason(desk_page, screenshot):
    page = desk_page
    day = coming_weekday()
    visit = make_appointment(at(day, 10), patient="Typed Mover")
    db.session.rollback()
    page.goto(f"/diary/appointments/{visit.id}")
    page.locator("#move-day").fill(day.isoformat())
    page.locator("#move-at").fill("19:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Move appointment").click()
    expect(page.locator("main")).to_contain_text("19:00 is outside Colette Assor's working hours")
    screenshot(page, "refused")
    db.session.rollback()
    assert db.session.get(Appointment, visit.id).starts_at == at(day, 10)
