"""The patient's journey on a small phone (320 px) with a clumsy thumb and a slow line."""

import re
import threading
import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.serving import make_server

from booking.extensions import db
from booking.models import Appointment, OutboxMessage
from tests.fixtures_browser import _new_page

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
def slow_phone(app, browser):
    """A 320 px touch phone on a server whose answers to forms take 600 ms."""
    slow = SlowPosts(app.wsgi_app, 0.6)
    app.wsgi_app = slow
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context, page = _new_page(
        browser,
        f"http://127.0.0.1:{server.server_port}",
        viewport=SMALL_PHONE,
        screen=SMALL_PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page.slow_posts = slow.posts
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


def test_a_double_tap_on_book_lands_on_one_confirmation_at_320_pixels(slow_phone, demo, axe):
    page = slow_phone
    # "First available": a second booking would quietly take the other practitioner.
    page.goto("/book/massage/times?practitioner=any")
    page.locator("ul.time-list a.time").first.tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    page.get_by_label("Full name").fill("Tom Thumb")
    page.get_by_label("Email address").fill("tom@example.org")
    page.get_by_label("Phone number").fill("07700 900123")
    fill_safety_answers(page)

    double_tap(page, page.get_by_role("button", name="Book this appointment"))

    # The second tap aborts the first tap's navigation in the browser, and wait_for_url
    # can report that abort: check where the page ends up instead.
    expect(page).to_have_url(re.compile(r"/book/confirmed/"))
    page.get_by_role("heading", name="You are booked").wait_for()
    assert "taken" not in page.locator("main").inner_text()
    # Both taps reached the server, and booked once.
    assert len([path for path in page.slow_posts if path.endswith("/details")]) == 2
    db.session.rollback()  # end the test's own read, begun before the server's booking
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "confirmation")
        )
        == 1
    )
    axe(page, label="the confirmation after a double tap")
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]


def test_a_course_session_is_reviewed_with_its_safety_questions_and_booked_once(
    slow_phone, demo, make_course, axe
):
    from booking.clinic.tokens import course_token
    from booking.models import Course, CourseProduct

    course = make_course(db.session.scalar(sa.select(CourseProduct)))
    token, course_id = course_token(course), course.id
    page = slow_phone
    page.goto(f"/course/{token}/book")
    page.locator("ul.time-list a.time").first.tap()
    page.wait_for_url(re.compile(r"/book/review"))
    page.get_by_role("heading", name="Book this course session?").wait_for()
    assert "Uses 1 of your 10 remaining credits" in page.locator("main").inner_text()
    axe(page, label="the course session review")
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
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


def test_a_patient_cancels_and_undoes_it_on_a_320_pixel_phone(phone_page, demo, axe):
    from booking.clinic.appointments import PatientDetails, book_appointment
    from booking.clinic.tokens import manage_token
    from booking.models import Practitioner, SessionType
    from tests.test_booking import next_weekday, start_at

    appointment = book_appointment(
        session_type=db.session.scalar(sa.select(SessionType).filter_by(slug="massage")),
        starts_at=start_at(next_weekday(1, at_least_days=5), 10),
        practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
        patient=PatientDetails("Una Undo", "una@example.org", "07700900123"),
    )
    appointment_id = appointment.id
    page = phone_page
    page.set_viewport_size(SMALL_PHONE)
    page.goto(f"/manage/{manage_token(appointment)}")
    page.get_by_role("link", name="Cancel this appointment").tap()
    page.get_by_role("heading", name=re.compile("Cancel")).first.wait_for()
    page.get_by_role("button", name="Yes, cancel it").tap()
    page.get_by_text("This appointment was cancelled").wait_for()
    undo = page.get_by_role("button", name="Undo the cancellation")
    expect(undo).to_be_visible()
    axe(page, label="the cancelled page with its undo")
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]

    undo.tap()
    page.get_by_text("Your appointment is booked again").wait_for()
    expect(page.get_by_role("link", name="Cancel this appointment")).to_be_visible()
    db.session.rollback()
    assert db.session.get(Appointment, appointment_id).status == "booked"


def test_a_warning_sign_a_doctor_has_assessed_books_on_a_320_pixel_phone(phone_page, demo, axe):
    page = phone_page
    page.set_viewport_size(SMALL_PHONE)
    page.goto("/book/massage/times?practitioner=any")
    page.locator("ul.time-list a.time").first.tap()
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
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]

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


def test_my_bookings_on_a_320_pixel_phone(phone_page, demo, axe):
    from booking.clinic import my_bookings
    from booking.clinic.appointments import PatientDetails, book_appointment
    from booking.models import Practitioner, SessionType
    from tests.test_booking import next_weekday, start_at

    book_appointment(
        session_type=db.session.scalar(sa.select(SessionType).filter_by(slug="massage")),
        starts_at=start_at(next_weekday(1, at_least_days=5), 10),
        practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
        patient=PatientDetails("Mina Patel", "mina@example.org", "07700900123"),
    )
    page = phone_page
    page.set_viewport_size(SMALL_PHONE)
    page.goto("/")
    page.get_by_role("button", name=re.compile("Menu")).or_(
        page.get_by_role("link", name=re.compile("Menu"))
    ).first.tap()
    page.get_by_role("link", name="My bookings").tap()
    page.get_by_role("heading", name="My bookings").wait_for()
    axe(page, label="the My bookings form")
    page.get_by_label("Email address").fill("mina@example.org")
    page.get_by_role("button", name="Email me my link").tap()
    page.get_by_role("heading", name="Check your email").wait_for()
    axe(page, label="the check-your-email page")

    page.goto(f"/my-bookings/{my_bookings.link_token('mina@example.org')}")
    assert "Massage" in page.locator("main").inner_text()
    axe(page, label="the bookings list")
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
    page.get_by_role("link", name=re.compile("View, move or cancel")).first.tap()
    page.get_by_role("heading", name="Your appointment").wait_for()


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
        assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
        page.get_by_role("link", name="About Colette Assor").tap()
        page.get_by_role("heading", name="Colette Assor", exact=True).wait_for()
        assert "twelve years" in page.locator("main").inner_text()
        axe(page, label="the practitioner's page")
        assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
    finally:
        app.instance_path = saved


def test_the_cap_on_online_holds_gives_the_number_on_a_320_pixel_phone(app, phone_page, demo, axe):
    saved = app.config["ONLINE_HOLDS_PER_ADDRESS"]
    app.config["ONLINE_HOLDS_PER_ADDRESS"] = 0  # this connection has used its share already
    try:
        page = phone_page
        page.set_viewport_size(SMALL_PHONE)
        page.goto("/book/massage/times?practitioner=any")
        page.locator("ul.time-list a.time").first.tap()
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
        assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
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
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
