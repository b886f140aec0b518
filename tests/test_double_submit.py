"""A form sent twice (a double tap, a retry after a timeout) acts once and answers alike.

Each booking form carries a random key (booking.clinic.submissions). The second send of
the same form lands on the first's result: never a second booking (not even another
practitioner for "first available"), never a false "That time has just been taken".
The racing tests release both sends behind one barrier (tests.at_once.race), on
whichever backend the run uses.
"""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.clinic import submissions
from booking.clinic.tokens import course_token, course_uid_from_token
from booking.extensions import db
from booking.models import Appointment, Course, CourseProduct, FormSubmission, OutboxMessage
from tests.at_once import race
from tests.forms import csrf_token
from tests.signed_links import appointment_opened_by as opened
from tests.test_booking import GOOD_ANSWERS, compact, details_url, next_weekday, start_at
from tests.test_courses import SAFE_ANSWERS

KEY_PATTERN = re.compile(r'name="submission" type="hidden" value="([^"]+)"')


@pytest.fixture
def paid_course(demo, make_course) -> Course:
    return make_course(db.session.scalar(sa.select(CourseProduct)))


def form_key(html: str) -> str:
    match = KEY_PATTERN.search(html)
    assert match, "no submission key in the form"
    return match.group(1)


def live_at(slot) -> list[Appointment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Appointment).where(Appointment.starts_at == slot, Appointment.is_live)
        )
    )


def confirmations() -> list[OutboxMessage]:
    return list(
        db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    )


def twin_client(app, client):
    """A second browser tab of the same patient: the same session cookie, so the same CSRF."""
    twin = app.test_client()
    cookie = client.get_cookie("session")
    twin.set_cookie("session", cookie.value)
    return twin


def shown_form(client, url: str) -> dict:
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    html = page.get_data(as_text=True)
    return {**GOOD_ANSWERS, "csrf_token": csrf_token(html), "submission": form_key(html)}


def test_every_showing_of_the_details_form_has_its_own_key(client, demo):
    url = details_url(start_at(next_weekday(1), 9))
    first, second = form_key(client.get(url).get_data(as_text=True)), None
    second = form_key(client.get(url).get_data(as_text=True))
    assert first != second and submissions.usable_key(first) == first


def test_a_second_send_after_the_first_lands_on_the_same_confirmation(client, demo):
    slot = start_at(next_weekday(1), 9)
    url = details_url(slot)
    data = shown_form(client, url)
    first = client.post(url, data=data)
    # The answer was lost (a timeout) and the patient, or the browser, sends it again.
    again = client.post(url, data=data)
    assert first.status_code == again.status_code == 302
    # Same page, compared by what the link opens: a signed link carries the second it
    # was made, so the two strings differ whenever the clock ticks between the sends.
    assert opened(again.location) == opened(first.location) is not None
    assert "You are booked" in client.get(again.location).get_data(as_text=True)
    assert len(live_at(slot)) == 1
    assert len(confirmations()) == 1


@pytest.mark.parametrize(
    ("slug", "practitioner"),
    [("full-combination", "colette-assor"), ("massage", "any")],
)
def test_two_sends_of_one_form_at_the_same_moment_book_once(app, client, demo, slug, practitioner):
    # Wednesday at ten: for a massage both Colette and Sam are free, so a second booking
    # for "first available" would quietly take the other practitioner.
    slot = start_at(next_weekday(2), 10)
    url = details_url(slot, slug=slug, practitioner=practitioner)
    data = shown_form(client, url)
    tabs = [client, twin_client(app, client)]
    db.session.remove()

    def send(number: int) -> str:
        response = tabs[number].post(url, data=data)
        return (
            f"{response.status_code} {opened(response.location) or response.get_data(as_text=True)}"
        )

    outcomes = race(app, 2, send)

    assert len(set(outcomes)) == 1, outcomes
    assert outcomes[0] == f"302 {live_at(slot)[0].uid}", outcomes
    assert len(live_at(slot)) == 1
    assert len(confirmations()) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FormSubmission)) == 1


def test_a_refused_first_send_leaves_the_key_free_for_the_corrected_form(client, demo):
    slot = start_at(next_weekday(1), 9)
    url = details_url(slot)
    data = shown_form(client, url)
    wrong = client.post(url, data={**data, "email": "not-an-email"})
    assert wrong.status_code == 422
    # The page sent back keeps the same key: nothing was booked with it.
    assert form_key(wrong.get_data(as_text=True)) == data["submission"]
    assert client.post(url, data=data).status_code == 302
    assert len(live_at(slot)) == 1


def test_a_key_used_for_one_time_books_nothing_at_another(client, demo):
    day = next_weekday(1)
    data = shown_form(client, details_url(start_at(day, 9)))
    assert client.post(details_url(start_at(day, 9)), data=data).status_code == 302
    other = client.post(details_url(start_at(day, 14)), data=data)
    assert other.status_code == 409
    assert "already used to book an appointment" in other.get_data(as_text=True)
    assert live_at(start_at(day, 14)) == []


@pytest.mark.parametrize("key", ["", "short", "x" * 65, "<script>", "' OR 1=1 --" * 3])
def test_a_missing_or_foreign_key_still_books_once_without_one(client, demo, key):
    slot = start_at(next_weekday(1), 9)
    url = details_url(slot)
    data = {**shown_form(client, url), "submission": key}
    response = client.post(url, data=data)
    assert response.status_code == 302
    assert len(live_at(slot)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FormSubmission)) == 0


def test_two_sends_of_one_course_request_reserve_one_course(app, client, demo):
    product = db.session.scalar(sa.select(CourseProduct))
    url = f"/courses/{product.id}/request"
    html = client.get(url).get_data(as_text=True)
    data = {
        "name": "Ada Course",
        "email": "ada@example.org",
        "phone": "07700 900200",
        **SAFE_ANSWERS,
        "csrf_token": csrf_token(html),
        "submission": form_key(html),
    }
    tabs = [client, twin_client(app, client)]
    db.session.remove()

    def send(number: int) -> str:
        response = tabs[number].post(url, data=data)
        return f"{response.status_code} {response.location}"

    outcomes = race(app, 2, send)

    # Both land on the one course's page (each link signed at its own second).
    assert all(outcome.startswith("302 /course/") for outcome in outcomes), outcomes
    uids = {course_uid_from_token(outcome.rsplit("/", 1)[1]) for outcome in outcomes}
    assert uids == {db.session.scalar(sa.select(Course.uid))}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 1
    requested = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "course_requested")
    ).all()
    assert len(requested) == 1
    # The course patient gave the same consent as a single booking records.
    assert db.session.scalar(sa.select(Course)).patient.health_consent_at is not None


def test_two_sends_of_one_course_session_review_book_one_session(app, client, paid_course):
    token = course_token(paid_course)
    slot = start_at(next_weekday(3), 10)
    url = f"/course/{token}/book/review?practitioner=any&start={compact(slot)}"
    html = client.get(url).get_data(as_text=True)
    data = {**SAFE_ANSWERS, "csrf_token": csrf_token(html), "submission": form_key(html)}
    tabs = [client, twin_client(app, client)]
    course_id = paid_course.id
    db.session.remove()

    def send(number: int) -> str:
        response = tabs[number].post(url, data=data)
        return f"{response.status_code} {response.location}"

    outcomes = race(app, 2, send)

    assert outcomes == [f"302 /course/{token}"] * 2, outcomes
    assert len(live_at(slot)) == 1
    course = db.session.get(Course, course_id)
    assert course.credits_remaining == 9
    assert course.patient.health_consent_at is not None
    assert len(confirmations()) == 1


def test_a_course_plan_sent_twice_books_its_sessions_once(client, paid_course):
    token = course_token(paid_course)
    tuesday = next_weekday(1)
    url = (
        f"/course/{token}/plan?weekday=1&second_weekday=&at=10:00"
        f"&first_day={tuesday}&practitioner=colette-assor"
    )
    html = client.get(url).get_data(as_text=True)
    chosen = {f"session-{n}": "skip" for n in range(10)}
    chosen["session-0"] = compact(start_at(tuesday, 10))
    chosen["session-1"] = compact(start_at(tuesday + timedelta(weeks=1), 10))
    data = {**chosen, **SAFE_ANSWERS, "csrf_token": csrf_token(html), "submission": form_key(html)}
    first = client.post(url, data=data)
    again = client.post(url, data=data)
    assert first.status_code == again.status_code == 302, again.get_data(as_text=True)[:300]
    db.session.expire_all()
    assert len([a for a in paid_course.appointments if a.is_live]) == 2
    assert paid_course.credits_remaining == 8


@pytest.mark.parametrize("question", ["cauda_equina", "other_warning"])
def test_a_warning_sign_stops_a_course_request_and_a_course_session(
    client, demo, paid_course, question
):
    product = db.session.scalar(sa.select(CourseProduct))
    url = f"/courses/{product.id}/request"
    html = client.get(url).get_data(as_text=True)
    stopped = client.post(
        url,
        data={
            "name": "Bea Flag",
            "email": "bea@example.org",
            "phone": "07700 900201",
            **SAFE_ANSWERS,
            question: "yes",
            "csrf_token": csrf_token(html),
        },
    )
    assert stopped.status_code == 200
    assert "We have not booked anything" in stopped.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 1  # the paid one

    slot = start_at(next_weekday(3), 10)
    review = f"/course/{course_token(paid_course)}/book/review?start={compact(slot)}"
    html = client.get(review).get_data(as_text=True)
    stopped = client.post(
        review, data={**SAFE_ANSWERS, question: "yes", "csrf_token": csrf_token(html)}
    )
    assert "We have not booked anything" in stopped.get_data(as_text=True)
    assert live_at(slot) == []


def test_old_keys_are_forgotten_by_the_worker_after_two_days(client, demo):
    slot = start_at(next_weekday(1), 9)
    url = details_url(slot)
    assert client.post(url, data=shown_form(client, url)).status_code == 302
    row = db.session.scalar(sa.select(FormSubmission))
    assert submissions.forget_old(row.created_at + submissions.KEPT_FOR / 2) == 0
    assert submissions.forget_old(row.created_at + submissions.KEPT_FOR * 1.1) == 1
    assert len(live_at(slot)) == 1  # the booking itself stays
