"""The public site in a real Chromium on a phone: readable, accessible, and bookable."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.free_times import a_time_clear_of_the_notice

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
    first_time = a_time_clear_of_the_notice(page)
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
    a_time_clear_of_the_notice(page).tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    assert not page.title().startswith("Error")
    # Sent with nothing filled in: the page comes back with its problem summary.
    page.get_by_role("button", name="Book this appointment").tap()
    page.locator(".form-errors").wait_for()
    assert page.title().startswith("Error: ")
    # autofocus acts at the page's next rendering: wait for it rather than read it at once.
    expect(page.locator(".form-errors").first).to_be_focused()
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
    page.get_by_role("link", name="Menu", exact=True).tap()
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
    a_time_clear_of_the_notice(page).tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    for fieldset in page.locator("fieldset").all():
        box = fieldset.bounding_box()
        legend = fieldset.locator("legend").bounding_box()
        # The legend starts below the box's top border, so no line of it is crossed out.
        assert legend["y"] > box["y"]
        assert legend["x"] + legend["width"] <= box["x"] + box["width"]
    assert page_width(page) <= 320


def test_every_patient_page_fits_a_small_phone_and_passes_axe(
    phone_page, demo, make_course, make_staff, axe
):
    """No page a patient can reach scrolls sideways or splits a word at 320 px (issue 17)."""
    from tests.patient_pages import patient_pages
    from tests.phone_layout import assert_fits

    page, width = phone_page, 320
    page.set_viewport_size({"width": width, "height": 640})
    pages = patient_pages(make_course, make_staff)
    for label, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status < 500, f"{label}: {path}"
        assert response.status != 404, f"{label} ({path}) was not found"
        assert_fits(page, width, label=label)
        axe(page, label=label)

    # The page for an address that does not exist, and the emergency stop page.
    assert page.goto("/no-such-page").status == 404
    assert_fits(page, width, label="page not found")
    axe(page, label="page not found")
    page.goto(pages["your details"])
    page.get_by_label("Full name").fill("Ursula Urgent")
    page.get_by_label("Email address").fill("ursula@example.org")
    page.get_by_label("Phone number").fill("07700 900126")
    page.locator("fieldset").nth(0).get_by_label("Yes", exact=True).check()
    page.locator("fieldset").nth(1).get_by_label("No", exact=True).check()
    page.get_by_label(re.compile("I agree that the clinic may store")).check()
    page.get_by_role("button", name="Book this appointment").tap()
    expect(page.get_by_role("heading", name="Please get urgent medical help now")).to_be_visible()
    assert_fits(page, width, label="urgent medical help")
    axe(page, label="urgent medical help")


# The patient pages with a form, by their label in tests/patient_pages.py: sent with nothing
# filled in, each comes back saying "Error:" first, with the focus on its summary of problems.
PAGES_WITH_FORMS = [
    "your details",
    "waiting list",
    "request a course",
    "course session review",
    "my bookings",
    "health questions",
    "consent",
    "check before the visit",
    "how are you doing",
    "sciatica",  # the reply form under it
]


def test_every_patient_form_sent_empty_says_error_and_takes_the_focus_at_320_pixels(
    phone_page, demo, make_course, make_staff, axe
):
    from tests.patient_pages import patient_pages
    from tests.phone_layout import assert_fits

    page = phone_page
    page.set_viewport_size({"width": 320, "height": 640})
    pages = patient_pages(make_course, make_staff)
    for label in PAGES_WITH_FORMS:
        open_page(page, pages[label])
        assert not page.title().startswith("Error"), label
        form = page.locator("form:has(button.button-primary[type=submit])").last
        form.locator("button.button-primary[type=submit]").first.tap()
        summary = page.locator(".form-errors")
        expect(summary).to_be_visible()
        assert page.title().startswith("Error: "), f"{label}: the title is {page.title()!r}"
        # autofocus acts at the page's next rendering, a moment after it is shown. expect()
        # polls from Playwright's own world: wait_for_function with a string evaluates it in
        # the page, where the Content-Security-Policy (no 'unsafe-eval') may refuse it.
        expect(
            summary.first, f"{label}: the focus is not on the summary of problems"
        ).to_be_focused(timeout=5_000)
        assert_fits(page, 320, label=f"{label}, sent empty")
        axe(page, label=f"{label}, sent empty")


def tab_to(page, wanted: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element's text, label or name starts with `wanted`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const e = document.activeElement;
                const label = e.labels && e.labels[0] ? e.labels[0].innerText : '';
                return [e.innerText || '', label, e.getAttribute('aria-label') || ''];
            }"""
        )
        if any(text.strip().startswith(wanted) for text in focused):
            return
    raise AssertionError(f"{wanted!r} cannot be reached with the Tab key on {page.url}")


def test_a_patient_books_with_the_keyboard_alone(desktop_page, demo):
    """No mouse, no touch: Tab, Enter, Space and typing reach the confirmation (issue 17)."""
    page = desktop_page
    open_page(page, "/")
    tab_to(page, "Book an appointment")
    page.keyboard.press("Enter")
    page.wait_for_url("**/book")
    tab_to(page, "Recommended")  # the recommended session's card starts with its badge
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/book/full-combination/times"))
    first_time = a_time_clear_of_the_notice(page).inner_text().strip()
    tab_to(page, first_time)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/book/full-combination/details"))
    for label, typed in [
        ("Full name", "Kit Keys"),
        ("Email address", "kit@example.org"),
        ("Phone number", "07700 900127"),
    ]:
        tab_to(page, label)
        page.keyboard.type(typed)
    for _question in range(3):  # each question's first answer is "No"
        tab_to(page, "No")
        page.keyboard.press("Space")
    tab_to(page, "I agree that the clinic may store")
    page.keyboard.press("Space")
    tab_to(page, "Book this appointment")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    assert first_time in page.locator("main").inner_text()
