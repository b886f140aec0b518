"""The public site in a real Chromium on a phone: readable, accessible, and bookable."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

PHONE_WIDTH = 375
INFORMATION_PAGES = ["/", "/sciatica", "/treatments-and-prices"]


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def open_page(page, path: str):
    response = page.goto(path)
    assert response is not None and response.ok, f"{path} answered {response and response.status}"
    return response


@pytest.mark.parametrize("path", INFORMATION_PAGES, ids=["home", "sciatica", "treatments"])
def test_information_pages_fit_a_phone_and_offer_booking(phone_page, demo, axe, screenshot, path):
    open_page(phone_page, path)
    screenshot(phone_page, "page")

    call_to_action = phone_page.get_by_role("link", name="Book an appointment").first
    expect(call_to_action).to_be_visible()
    assert call_to_action.get_attribute("href") == "/book"
    # Nothing wider than the screen: the patient never scrolls sideways.
    assert page_width(phone_page) <= PHONE_WIDTH
    axe(phone_page)


def test_the_booking_steps_pass_axe_on_a_phone(phone_page, demo, axe, screenshot):
    open_page(phone_page, "/book")
    screenshot(phone_page, "1-choose")
    axe(phone_page)
    assert page_width(phone_page) <= PHONE_WIDTH

    # Massage is offered by two practitioners, so the practitioner step shows.
    open_page(phone_page, "/book/massage")
    screenshot(phone_page, "2-practitioner")
    expect(phone_page.get_by_role("heading", name="Who would you like to see?")).to_be_visible()
    axe(phone_page)
    assert page_width(phone_page) <= PHONE_WIDTH

    open_page(phone_page, "/book/massage/times?practitioner=any")
    screenshot(phone_page, "3-times")
    axe(phone_page)
    assert page_width(phone_page) <= PHONE_WIDTH


def _sign_in_exists(app) -> bool:
    return any(rule.rule == "/staff/sign-in" for rule in app.url_map.iter_rules())


def test_the_staff_sign_in_page_passes_axe_on_a_phone(app, phone_page, demo, axe, screenshot):
    if not _sign_in_exists(app):
        pytest.skip("/staff/sign-in does not exist yet")
    open_page(phone_page, "/staff/sign-in")
    screenshot(phone_page, "sign-in")
    axe(phone_page)
    assert page_width(phone_page) <= PHONE_WIDTH


def test_a_patient_books_a_full_combination_session_on_a_phone(phone_page, demo, axe, screenshot):
    page = phone_page
    open_page(page, "/")
    screenshot(page, "0-home")
    page.get_by_role("link", name="Book an appointment").first.tap()
    page.wait_for_url("**/book")

    # Step 1: the session type.
    screenshot(page, "1-choose")
    page.get_by_role("link", name=re.compile("Full combination session")).tap()

    # Only one practitioner offers it, so the site may skip straight to the days;
    # when it asks, the patient takes the first available.
    page.wait_for_url(re.compile(r"/book/full-combination(/times)?(\?.*)?$"))
    if "/times" not in page.url:
        screenshot(page, "2-practitioner")
        page.get_by_role("link", name=re.compile("First available")).tap()
        page.wait_for_url(re.compile(r"/book/full-combination/times"))

    # Step 3: the first day with free times, then its first time.
    screenshot(page, "3-days")
    assert page_width(page) <= PHONE_WIDTH
    first_free_day = page.locator("a.day").first
    first_free_day.wait_for()
    first_free_day.tap()
    page.wait_for_load_state()
    screenshot(page, "4-times")
    axe(page, label="the day-and-time step")
    first_time = page.locator("ul.time-list a.time").first
    chosen_time = first_time.inner_text().strip()
    first_time.tap()
    page.wait_for_url(re.compile(r"/book/full-combination/details"))

    # Step 4: the patient's details and the two safety questions.
    screenshot(page, "5-details")
    axe(page, label="the details step")
    assert page_width(page) <= PHONE_WIDTH
    page.get_by_label("Full name").fill("Priya Shah")
    page.get_by_label("Email address").fill("priya.shah@example.org")
    page.get_by_label("Phone number").fill("07700 900123")
    page.get_by_label(re.compile("Anything we should know")).fill("Pain down the left leg.")
    for question in page.locator("fieldset").all():
        question.get_by_label("No", exact=True).check()
    page.get_by_label(re.compile("I agree that the clinic may store")).check()
    screenshot(page, "6-details-filled")
    page.get_by_role("button", name="Book this appointment").tap()

    # The confirmation.
    page.wait_for_url(re.compile(r"/book/confirmed/"))
    screenshot(page, "7-confirmed")
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    body = page.locator("main").inner_text()
    assert "Full combination session" in body
    assert chosen_time in body
    axe(page, label="the confirmation")
    assert page_width(page) <= PHONE_WIDTH


def test_the_home_page_passes_axe_on_a_desktop(desktop_page, demo, axe, screenshot):
    open_page(desktop_page, "/")
    screenshot(desktop_page, "home")
    expect(desktop_page.get_by_role("link", name="Book an appointment").first).to_be_visible()
    axe(desktop_page)


def test_a_form_sent_back_with_a_problem_says_error_and_takes_the_focus(phone_page, demo, axe):
    page = phone_page
    open_page(page, "/book/massage/times?practitioner=any")
    page.locator("a.day").first.tap()
    page.wait_for_load_state()
    page.locator("ul.time-list a.time").first.tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    assert not page.title().startswith("Error")
    # Sent with nothing filled in: the page comes back with its problem summary.
    page.get_by_role("button", name="Book this appointment").tap()
    page.locator(".form-errors").wait_for()
    assert page.title().startswith("Error: ")
    focused = page.evaluate("document.activeElement.className")
    assert "form-errors" in focused
    axe(page, label="the details step with errors")


@pytest.mark.parametrize("width", [375, 320])
def test_on_a_phone_the_header_is_compact_and_the_menu_opens_without_script(
    phone_page, demo, width
):
    page = phone_page
    page.set_viewport_size({"width": width, "height": 640})
    open_page(page, "/")
    header = page.locator(".site-header").bounding_box()
    # The page, not the menu, fills the first screen.
    assert header["height"] <= 0.2 * 640
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).not_to_be_visible()
    page.get_by_role("link", name="Menu").tap()
    page.wait_for_url("**#site-menu")
    expect(nav.get_by_role("link", name="When not to book")).to_be_visible()
    assert page_width(page) <= width


def test_choosing_a_day_on_a_phone_lands_on_its_times(phone_page, demo):
    page = phone_page
    page.set_viewport_size({"width": 320, "height": 640})
    open_page(page, "/book/full-combination/times?practitioner=any")
    page.locator("a.day").nth(1).tap()
    page.wait_for_url("**#times")
    heading = page.locator("#times-heading").bounding_box()
    assert -1 <= heading["y"] < 640
    expect(page.locator("ul.time-list a.time").first).to_be_visible()


def test_safety_questions_sit_inside_their_boxes_at_320_pixels(phone_page, demo):
    page = phone_page
    page.set_viewport_size({"width": 320, "height": 640})
    open_page(page, "/book/massage/times?practitioner=any")
    page.locator("ul.time-list a.time").first.tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    for fieldset in page.locator("fieldset").all():
        box = fieldset.bounding_box()
        legend = fieldset.locator("legend").bounding_box()
        # The legend starts below the box's top border, so no line of it is crossed out.
        assert legend["y"] > box["y"]
        assert legend["x"] + legend["width"] <= box["x"] + box["width"]
    assert page_width(page) <= 320


def patient_pages(make_course, make_staff) -> dict[str, str]:
    """Every page a patient can reach, by what it is, with the records each one needs."""
    import sqlalchemy as sa

    from booking.clinic import my_bookings, waiting_list
    from booking.clinic.appointments import PatientDetails, book_appointment
    from booking.clinic.records.outcomes import outcome_token
    from booking.clinic.tokens import (
        check_token,
        course_token,
        intake_token,
        manage_token,
        offer_token,
        view_token,
        waiting_token,
    )
    from booking.extensions import db
    from booking.models import Practitioner, SessionType
    from booking.presentation import format_start
    from tests.test_booking import next_weekday, start_at

    def get(model, slug):
        return db.session.scalar(sa.select(model).filter_by(slug=slug))

    massage, colette = get(SessionType, "massage"), get(Practitioner, "colette-assor")
    tuesday = next_weekday(1, at_least_days=5)
    appointment = book_appointment(
        session_type=massage,
        starts_at=start_at(tuesday, 10),
        practitioner=colette,
        patient=PatientDetails("Pat Page", "pat@example.org", "07700900123"),
    )
    course = make_course()
    first_session = book_appointment(
        session_type=course.session_type,
        starts_at=start_at(tuesday + timedelta(days=1), 10),
        practitioner=colette,
        course=course,
    )
    entry = waiting_list.join_waiting_list(
        waiting_list.Wish(massage, None, "01234", "".join(waiting_list.PARTS_OF_DAY), tuesday),
        PatientDetails("Wes Waiting", "wes@example.org", "07700900124"),
    )
    offer = waiting_list.offer_time_by_hand(
        entry, colette, start_at(tuesday, 15), staff_user=make_staff("receptionist")
    )
    manage, course_link = manage_token(appointment), course_token(course)
    later = format_start(start_at(tuesday + timedelta(days=2), 11))
    return {
        "home": "/",
        "sciatica": "/sciatica",
        "how we treat it": "/treatment",
        "practitioner": "/practitioner",
        "practitioner's profile": "/practitioners/colette-assor",
        "when not to book": "/when-not-to-book",
        "contact": "/contact",
        "treatments and prices": "/treatments-and-prices",
        "choose a treatment": "/book",
        "choose a practitioner": "/book/massage",
        "choose a day and time": "/book/massage/times?practitioner=any",
        "your details": f"/book/massage/details?practitioner=any&start={later}",
        "you are booked": f"/book/confirmed/{manage}",
        "waiting list": "/book/massage/waiting-list?practitioner=any",
        "your waiting-list place": f"/waiting-list/{waiting_token(entry.uid)}",
        "a time offered": f"/waiting-list/offer/{offer_token(offer.uid)}",
        "your appointment": f"/manage/{manage}",
        "cancel review": f"/manage/{manage}/cancel",
        "move": f"/manage/{manage}/reschedule",
        "move review": f"/manage/{manage}/reschedule/review?start={later}",
        "calendar's view": f"/appointment/{view_token(appointment)}",
        "courses": "/courses",
        "request a course": f"/courses/{course.product_id}/request",
        "your course": f"/course/{course_link}",
        "book a course session": f"/course/{course_link}/book",
        "course session review": f"/course/{course_link}/book/review?start={later}",
        "plan a course": f"/course/{course_link}/plan",
        "my bookings": "/my-bookings",
        "my bookings list": f"/my-bookings/{my_bookings.link_token('pat@example.org')}",
        "my bookings link expired": "/my-bookings/expired",
        "health questions": f"/intake/{intake_token(appointment)}",
        "consent": f"/intake/{intake_token(appointment)}/consent",
        "health questions done": f"/intake/{intake_token(appointment)}/done",
        "check before the visit": f"/check/{check_token(appointment)}",
        "how are you doing": f"/outcomes/{outcome_token(first_session)}",
    }


def test_every_patient_page_fits_a_small_phone_and_passes_axe(
    phone_page, demo, make_course, make_staff, axe
):
    """No page a patient can reach scrolls sideways or splits a word at 320 px (issue 17)."""
    from tests.phone_layout import assert_fits

    page, width = phone_page, 320
    page.set_viewport_size({"width": width, "height": 640})
    for label, path in patient_pages(make_course, make_staff).items():
        response = page.goto(path)
        assert response is not None and response.status < 500, f"{label}: {path}"
        assert response.status != 404, f"{label} ({path}) was not found"
        assert_fits(page, width, label=label)
        axe(page, label=label)
