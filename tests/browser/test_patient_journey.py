"""The patient's journey on a small phone (320 px) with a clumsy thumb and a slow line."""

import re
import threading
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.serving import make_server

from booking.clinic.localtime import local_today
from booking.clinic.outbox import send_due
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db
from booking.models import Appointment
from tests.browser.free_times import a_time_clear_of_the_notice
from tests.fixtures_browser import _new_page
from tests.fixtures_mail import html_text, plain_text
from tests.phone_layout import assert_fits

SMALL_PHONE = {"width": 320, "height": 640}


class SlowPosts:
    """WSGI middleware: every POST waits a moment first, as on a slow mobile line."""

    def __init__(self, app, delay: float):
        self.app, self.delay, self.posts = app, delay, []

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            self.posts.append(environ["PATH_INFO"])
            time.sleep(self.delay)
        return self.app(environ, start_response)


@pytest.fixture
def slow_phone(request, app, browser):
    """A 320 px touch phone on a server whose answers to forms take 600 ms.

    Parametrise it indirectly with a width for another phone (375 px, say).
    """
    size = {**SMALL_PHONE, "width": getattr(request, "param", SMALL_PHONE["width"])}
    slow = SlowPosts(app.wsgi_app, 0.6)
    app.wsgi_app = slow
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context, page = _new_page(
        browser,
        f"http://127.0.0.1:{server.server_port}",
        viewport=size,
        screen=size,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page.slow_posts = slow.posts
    page.base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield page
    finally:
        context.close()
        server.shutdown()
        server.server_close()
        app.wsgi_app = slow.app


def double_tap(page, button) -> None:
    """Two taps 100 ms apart on one button, the second before the first's answer comes.

    The screen is tapped where the button is, as a thumb does: the second tap does not
    wait for the first's page to load.
    """
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    page.wait_for_timeout(100)
    page.touchscreen.tap(x, y)


def fill_safety_answers(page) -> None:
    for question in page.locator("fieldset").all():
        question.get_by_label("No", exact=True).check()
    page.get_by_label(re.compile("I agree that the clinic may store")).check()


def test_a_course_session_is_reviewed_with_its_safety_questions_and_booked_once(
    slow_phone, demo, make_course, axe
):
    from booking.clinic.tokens import course_token
    from booking.models import Course, CourseProduct

    course = make_course(db.session.scalar(sa.select(CourseProduct)))
    token, course_id = course_token(course), course.id
    page = slow_phone
    page.goto(f"/course/{token}/book")
    a_time_clear_of_the_notice(page).tap()
    page.wait_for_url(re.compile(r"/book/review"))
    page.get_by_role("heading", name="Book this course session?").wait_for()
    assert "Uses 1 of the 10 sessions left on your course" in page.locator("main").inner_text()
    axe(page, label="the course session review")
    assert_fits(page, SMALL_PHONE["width"])
    fill_safety_answers(page)

    double_tap(page, page.get_by_role("button", name="Book this session"))

    expect(page).to_have_url(re.compile(rf"/course/{re.escape(token)}$"))
    assert "Booked:" in page.locator("main").inner_text()
    assert len([path for path in page.slow_posts if path.endswith("/book/review")]) == 2
    db.session.rollback()  # end the test's own read, begun before the server's booking
    course = db.session.get(Course, course_id)
    assert course.credits_remaining == 9
    assert len([a for a in course.appointments if a.is_live]) == 1
    assert course.patient.health_consent_at is not None


def test_a_warning_sign_a_doctor_has_assessed_books_on_a_320_pixel_phone(phone_page, demo, axe):
    page = phone_page
    page.set_viewport_size(SMALL_PHONE)
    page.goto("/book/massage/times?practitioner=any")
    a_time_clear_of_the_notice(page).tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    details_url = page.url
    page.get_by_label("Full name").fill("Cora Checked")
    page.get_by_label("Email address").fill("cora@example.org")
    page.get_by_label("Phone number").fill("07700 900124")
    questions = page.locator("fieldset").all()
    questions[0].get_by_label("No", exact=True).check()
    questions[1].get_by_label("Yes", exact=True).check()
    page.get_by_label(re.compile("I agree that the clinic may store")).check()
    # Without the doctor's assessment: the stop page, which says how to go on.
    page.get_by_role("button", name="Book this appointment").tap()
    page.get_by_role("heading", name="Please speak to a doctor before booking").wait_for()
    assert "already assessed this" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="call NHS 111").get_attribute("href") == "tel:111"
    axe(page, label="the speak-to-a-doctor page")
    assert_fits(page, SMALL_PHONE["width"])

    page.goto(details_url)
    page.get_by_label("Full name").fill("Cora Checked")
    page.get_by_label("Email address").fill("cora@example.org")
    page.get_by_label("Phone number").fill("07700 900124")
    questions = page.locator("fieldset").all()
    questions[0].get_by_label("No", exact=True).check()
    questions[1].get_by_label("Yes", exact=True).check()
    questions[2].get_by_label("Yes", exact=True).check()
    page.get_by_label(re.compile("I agree that the clinic may store")).check()
    page.get_by_role("button", name="Book this appointment").tap()
    page.get_by_role("heading", name="You are booked").wait_for()
    db.session.rollback()
    assert db.session.scalar(sa.select(Appointment)).warning_sign_assessed is True


def test_practitioner_photos_and_biography_on_a_320_pixel_phone(
    app, phone_page, demo, make_staff, axe, tmp_path
):
    from booking.clinic import practitioner_photos
    from booking.models import Practitioner
    from tests.test_practitioner_photos import jpeg_with_gps

    saved, app.instance_path = app.instance_path, str(tmp_path)
    try:
        colette = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
        colette.bio = "Colette has treated back pain for twelve years."
        db.session.commit()
        practitioner_photos.set_photo(colette, jpeg_with_gps(), staff_user=make_staff("admin"))
        page = phone_page
        page.set_viewport_size(SMALL_PHONE)
        page.goto("/book/massage")
        photo = page.locator("img.practitioner-photo").first
        photo.wait_for()
        loaded = "(img) => img.complete && img.naturalWidth > 0"
        assert page.evaluate(loaded, photo.element_handle())
        axe(page, label="the practitioner choice with photos")
        assert_fits(page, SMALL_PHONE["width"])
        page.get_by_role("link", name="About Colette Assor").tap()
        page.get_by_role("heading", name="Colette Assor", exact=True).wait_for()
        assert "twelve years" in page.locator("main").inner_text()
        axe(page, label="the practitioner's page")
        assert_fits(page, SMALL_PHONE["width"])
    finally:
        app.instance_path = saved


def test_the_cap_on_online_holds_gives_the_number_on_a_320_pixel_phone(app, phone_page, demo, axe):
    saved = app.config["ONLINE_HOLDS_PER_ADDRESS"]
    app.config["ONLINE_HOLDS_PER_ADDRESS"] = 0  # this connection has used its share already
    try:
        page = phone_page
        page.set_viewport_size(SMALL_PHONE)
        page.goto("/book/massage/times?practitioner=any")
        a_time_clear_of_the_notice(page).tap()
        page.wait_for_url(re.compile(r"/book/massage/details"))
        page.get_by_label("Full name").fill("Many Holds")
        page.get_by_label("Email address").fill("many@example.org")
        page.get_by_label("Phone number").fill("07700 900125")
        fill_safety_answers(page)
        page.get_by_role("button", name="Book this appointment").tap()
        problem = page.locator(".form-errors")
        problem.wait_for()
        assert "Please call us on" in problem.inner_text()
        assert page.get_by_label("Full name").input_value() == "Many Holds"  # form kept
        axe(page, label="the details page refusing another hold")
        assert_fits(page, SMALL_PHONE["width"])
    finally:
        app.config["ONLINE_HOLDS_PER_ADDRESS"] = saved


def test_the_recommended_session_is_first_and_marked_on_a_320_pixel_phone(phone_page, demo, axe):
    page = phone_page
    page.set_viewport_size(SMALL_PHONE)
    page.goto("/book")
    first = page.locator("a.choice-card").first
    assert "Recommended" in first.inner_text()
    assert "Full combination session" in first.inner_text()
    assert first.bounding_box()["y"] < SMALL_PHONE["height"] * 2
    axe(page, label="the session choice with its recommendation")
    assert_fits(page, SMALL_PHONE["width"])


# What a page must not say once the patient's action has worked: the double tap's
# "That time has just been taken" after a booking was the bug this journey guards.
FALSE_AFTER_SUCCESS = (
    "taken",
    "failed",
    "went wrong",
    "not available",
    "no longer available",
    "could not",
    "try again",
    "error",
)
# Every appointment of the journey is days away, so it can still be changed online.
FALSE_WHILE_CHANGEABLE = ("cannot be changed online", "no longer be changed online")


def assert_nothing_contradicts(page, *also_false: str) -> None:
    """The page says nothing that contradicts what has just happened."""
    text = page.locator("main").inner_text().lower()
    said = [p for p in (*FALSE_AFTER_SUCCESS, *FALSE_WHILE_CHANGEABLE, *also_false) if p in text]
    assert said == [], f"{page.url} says {said!r}, which is not what happened:\n{text}"
    assert not page.title().startswith("Error")


def tap_a_day_after(page, after: date) -> date:
    """Tap the first day with free times later than `after`; return it."""
    page.locator("a.day").first.wait_for()
    for link in page.locator("a.day").all():
        day = date.fromisoformat(re.search(r"day=([0-9-]{10})", link.get_attribute("href"))[1])
        if day > after:
            link.tap()
            page.wait_for_url(re.compile(rf"day={day.isoformat()}.*#times$"))
            return day
    raise AssertionError(f"no day with free times after {after} on {page.url}")


def link_in(message, path: str) -> str:
    """The path of the link to `path` in an email's text, to open on the test server."""
    text = plain_text(message)
    found = re.search(rf"https?://[^/\s]+({re.escape(path)}\S+)", text)
    assert found, f"no {path} link in {message['Subject']!r}:\n{text}"
    assert f'href="{found[0]}"' in html_text(message), "the HTML part links elsewhere"
    return found[1]


def emails_to(smtp_server, address: str, subject_starts: str) -> list:
    send_due()
    return [m for m in smtp_server.to(address) if subject(m).startswith(subject_starts)]


def subject(message) -> str:
    # A subject too long for the header's first line is folded onto the next, which Python
    # reads back with the folding's leading space.
    return str(message["Subject"]).strip()


def without_zone(when: str) -> str:
    """ "Tuesday 24 November 2026 at 09:30 (GMT)" -> "Tuesday 24 November 2026 at 09:30"."""
    return re.sub(r" \([A-Z]+\)$", "", when.strip())


@pytest.mark.parametrize("slow_phone", [320, 375], indirect=True, ids=["320px", "375px"])
def test_the_whole_journey_on_a_phone_says_nothing_that_did_not_happen(
    slow_phone, demo, mail_app, smtp_server, make_staff, axe
):
    """Issue 17's "Done when": book with a double tap, move, cancel and undo, request a course
    and book its session with the safety questions, then find it all from My bookings, on a
    phone with a clumsy thumb and a slow line, every page true to what happened."""
    from booking.clinic import courses
    from booking.models import Course

    page = slow_phone
    width = page.viewport_size["width"]
    email = "jo.journey@example.org"

    def check(label: str, *also_false: str) -> None:
        assert_nothing_contradicts(page, *also_false)
        assert_fits(page, width, label=label)
        axe(page, label=label)

    today = local_today(utcnow(), clinic_settings().zone)

    # 1. Book a massage with the first available practitioner, some days ahead.
    page.goto("/")
    page.get_by_role("link", name="Book an appointment").first.tap()
    page.get_by_role("link", name=re.compile("^Massage 45 min")).tap()
    check("the practitioner step")
    page.get_by_role("link", name=re.compile("First available")).tap()
    booked_day = tap_a_day_after(page, today + timedelta(days=2))
    check("the day and its times")
    a_time_clear_of_the_notice(page).tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    check("the details step")
    page.get_by_label("Full name").fill("Jo Journey")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Phone number").fill("07700 900123")
    fill_safety_answers(page)
    double_tap(page, page.get_by_role("button", name="Book this appointment"))

    expect(page).to_have_url(re.compile(r"/book/confirmed/"))
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    check("the confirmation after a double tap")
    assert (
        "You can move or cancel this appointment online until" in page.locator("main").inner_text()
    )
    assert len([path for path in page.slow_posts if path.endswith("/details")]) == 2
    db.session.rollback()  # end the test's own read, begun before the server's booking
    [appointment] = db.session.scalars(sa.select(Appointment)).all()
    [confirmation] = emails_to(smtp_server, email, "Booked:")

    # 2. From the email's link: review a move, then move (two taps again).
    page.goto(link_in(confirmation, "/manage/"))
    expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
    check("the manage page")
    page.get_by_role("link", name="Move to another time").tap()
    tap_a_day_after(page, booked_day)
    check("the move's day and times")
    a_time_clear_of_the_notice(page).tap()
    expect(page.get_by_role("heading", name="Move your appointment?")).to_be_visible()
    check("the move's review")
    old_time = page.locator("dl.summary dd s").inner_text()
    new_time = page.locator("dl.summary dd strong").inner_text()
    double_tap(page, page.get_by_role("button", name="Move my appointment"))
    expect(page.get_by_text("Your appointment has been moved")).to_be_visible()
    expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
    check("the manage page after the move")
    assert new_time in page.locator("dl.summary").inner_text()
    [moved] = emails_to(smtp_server, email, "Moved:")
    for body in (plain_text(moved), html_text(moved)):
        assert without_zone(old_time) in body and new_time in body

    # 3. Cancel after the review, then undo it.
    page.get_by_role("link", name="Cancel this appointment").tap()
    expect(page.get_by_role("heading", name="Cancel this appointment?")).to_be_visible()
    check("the cancel review")
    double_tap(page, page.get_by_role("button", name="Yes, cancel it"))
    expect(page.get_by_text("Your appointment is cancelled")).to_be_visible()
    check("the cancelled page", "you can move or cancel", "make changes online")
    page.get_by_role("button", name="Undo the cancellation").tap()
    expect(page.get_by_text("Your appointment is booked again")).to_be_visible()
    check("the page after the undo", "was cancelled")
    assert "Booked" in page.locator("dl.summary").inner_text()
    assert len(emails_to(smtp_server, email, "Cancelled:")) == 1
    assert len(emails_to(smtp_server, email, "Booked again:")) == 1

    # 4. Request the course, answering the safety questions and consent.
    page.get_by_role("link", name="Book a new appointment").or_(
        page.get_by_role("link", name="Book an appointment")
    ).first.tap()
    page.get_by_role("link", name="See our courses").tap()
    page.locator("a.choice-card").first.tap()
    expect(page.get_by_role("heading", name="Request a course")).to_be_visible()
    check("the course request")
    page.get_by_label("Full name").fill("Jo Journey")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Phone number").fill("07700 900123")
    fill_safety_answers(page)
    double_tap(page, page.get_by_role("button", name=re.compile("^Request")))
    expect(page.get_by_role("heading", name="Your course")).to_be_visible()
    check("the reserved course")
    db.session.rollback()
    [course] = db.session.scalars(sa.select(Course)).all()
    assert course.patient.health_consent_at is not None
    assert len(emails_to(smtp_server, email, "Your request:")) == 1

    # Reception takes the payment at the desk; the email's link opens the course.
    courses.activate_course(course, "card 4242", make_staff("receptionist"))
    [ready] = emails_to(smtp_server, email, "Your course is ready:")
    page.goto(link_in(ready, "/course/"))
    check("the paid course")
    page.get_by_role("link", name="Book my next session").tap()
    course_day = tap_a_day_after(page, booked_day + timedelta(days=7))
    a_time_clear_of_the_notice(page).tap()
    expect(page.get_by_role("heading", name="Book this course session?")).to_be_visible()
    check("the course session's review")
    fill_safety_answers(page)
    double_tap(page, page.get_by_role("button", name="Book this session"))
    expect(page.get_by_text("Booked:")).to_be_visible()
    check("the course after booking a session")

    # 5. My bookings, from the menu, then from the real email's link.
    page.get_by_role("link", name="Menu", exact=True).tap()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings").tap()
    expect(page.get_by_role("heading", name="My bookings")).to_be_visible()
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me my link").tap()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    check("the check-your-email page")
    [link_email] = emails_to(smtp_server, email, "")[-1:]
    page.goto(link_in(link_email, "/my-bookings/"))
    # The first opening asks for one press (a mail scanner's opening confirms nothing).
    page.get_by_role("button", name="Show my bookings").tap()
    expect(page.get_by_role("heading", name="Coming up")).to_be_visible()
    check("My bookings", "(cancelled)")
    coming, courses_listed = page.locator("ul.booking-list").all()[:2]
    entries = [item.inner_text() for item in coming.locator("li").all()]
    assert len(entries) == 2, entries
    assert new_time in entries[0] and "Massage" in entries[0]
    assert "View, move or cancel" in entries[0]
    assert course_day.strftime("%B") in entries[1] and "Full combination session" in entries[1]
    assert "9 of 10 sessions left" in courses_listed.inner_text()
    coming.get_by_role("link", name=re.compile("View, move or cancel")).first.tap()
    expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
    assert new_time in page.locator("dl.summary").inner_text()
    assert "Booked" in page.locator("dl.summary").inner_text()

    # One booking, one course session, each sent its emails once.
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 2
    assert db.session.get(Appointment, appointment.id).status == "booked"
    sent = sorted(subject(m).split(":")[0] for m in smtp_server.to(email))
    assert sent == sorted(
        ["Booked", "Moved", "Cancelled", "Booked again", "Your request"]
        + ["Your course is ready", "Booked", "Your bookings"]
    )
