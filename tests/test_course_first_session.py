"""A course a new patient can start: the first session booked before paying (a clinic setting).

Off (the default) an unpaid course books nothing. On, the patient books one session,
the first, through the normal course-session path; a second is refused with how to
pay; the payment (at the desk or online) activates the course once, and the first
session then holds one of its credits: ten sessions, nine left, never eleven.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError, courses, credits
from booking.clinic.appointments import (
    book_appointment,
    cancel_appointment,
    record_attendance,
    undo_cancellation,
)
from booking.clinic.outbox import send_due
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import course_token
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseStatus,
    CreditEntry,
    OutboxMessage,
    Practitioner,
)
from tests.at_once import race
from tests.fixtures_mail import plain_text
from tests.forms import csrf_token
from tests.test_admin import post_settings
from tests.test_courses import SAFE_ANSWERS, colette, compact, local, next_weekday

FIRST_NOW = "You can book your first session now, before paying"
COUNTS = "counts as one of the course's 10 sessions"
PHONE = "020 7946 0000"


def flat(text: str) -> str:
    return " ".join(text.split())


def count(model, *conditions) -> int:
    db.session.rollback()  # a fresh read: the webhook may have used another connection
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


def the_course() -> Course:
    db.session.rollback()
    course = db.session.scalar(sa.select(Course).order_by(Course.id.desc()))
    assert course is not None
    return course


def ledger_total(course: Course) -> int:
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.change), 0)).where(
            CreditEntry.course_id == course.id
        )
    )


def allow_first_session(on: bool = True) -> None:
    clinic_settings().first_course_session_before_payment = on
    db.session.commit()


def request_course(client, *, pay: str | None = None, email: str = "ada@example.org"):
    """The patient fills in the course request form; returns (page html, response)."""
    from tests.test_online_payment import product

    url = f"/courses/{product().id}/request"
    page = client.get(url).get_data(as_text=True)
    data = {
        "name": "Ada Start",
        "email": email,
        "phone": "07700 900300",
        **SAFE_ANSWERS,
        "csrf_token": csrf_token(page),
    }
    if pay:
        data["pay"] = pay
    return page, client.post(url, data=data)


def book_first_online(client, course: Course, day_offset: int = 0):
    """Through the course's own pages: times, review, safety answers, one button."""
    token = course_token(course)
    day = next_weekday(2, at_least_days=3 + day_offset)
    times = client.get(f"/course/{token}/book?first={day}&day={day}")
    assert times.status_code == 200, times.get_data(as_text=True)
    start = compact(local(day, 10))
    review_url = f"/course/{token}/book/review?practitioner=colette-assor&start={start}"
    review = client.get(review_url)
    html = review.get_data(as_text=True)
    assert review.status_code == 200, html
    data = {**SAFE_ANSWERS, "csrf_token": csrf_token(html)}
    response = client.post(review_url, data=data)
    return review_url, data, html, response


def test_the_setting_is_off_by_default_and_set_on_the_settings_page(admin_client, demo):
    assert clinic_settings().first_course_session_before_payment is False
    page = admin_client.get("/diary/settings").get_data(as_text=True)
    assert 'name="first_course_session_before_payment"' in page
    assert "book the first session of a course before paying" in page
    response = post_settings(admin_client, first_course_session_before_payment="y")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert clinic_settings().first_course_session_before_payment is True
    # Unticked (not sent), it goes off again.
    post_settings(admin_client, first_course_session_before_payment=None)
    db.session.expire_all()
    assert clinic_settings().first_course_session_before_payment is False


def test_with_the_setting_off_an_unpaid_course_books_nothing_as_before(client, demo):
    page, response = request_course(client)
    assert response.status_code == 302
    assert FIRST_NOW not in flat(page)
    course = the_course()
    course_page = flat(client.get(response.location).get_data(as_text=True))
    assert FIRST_NOW not in course_page and "Book my first session" not in course_page
    refused = flat(
        client.get(f"/course/{course_token(course)}/book", follow_redirects=True).get_data(
            as_text=True
        )
    )
    assert "This course is waiting for payment" in refused and PHONE in refused
    with pytest.raises(DomainError, match="waiting for payment"):
        book_appointment(
            session_type=course.session_type,
            starts_at=local(next_weekday(1), 10),
            practitioner=colette(),
            course=course,
        )
    assert count(Appointment) == 0


def test_first_session_before_payment_then_the_desk_payment_counts_it(
    client, demo, receptionist_client
):
    allow_first_session()
    page, response = request_course(client)
    assert FIRST_NOW in flat(page)
    course = the_course()
    link = response.location
    course_page = flat(client.get(link).get_data(as_text=True))
    assert FIRST_NOW in course_page and "Book my first session" in course_page

    review_url, data, review_html, booked = book_first_online(client, course)
    assert "booked before paying" in flat(review_html)
    assert booked.status_code == 302, booked.get_data(as_text=True)
    # The same form sent again books nothing more.
    again = client.post(review_url, data=data)
    assert again.status_code == 302
    assert count(Appointment) == 1
    course = the_course()
    first = db.session.scalar(sa.select(Appointment))
    assert first.course_id == course.id and first.price_pence == 0
    assert course.status == CourseStatus.AWAITING_PAYMENT
    assert course.credits_remaining == 0 and ledger_total(course) == 0
    assert credits.credits_held(first) == 0

    # A second session before payment is refused, saying how to pay.
    after = flat(client.get(link).get_data(as_text=True))
    assert "Your first session is booked" in after and "Book my first session" not in after
    refused = flat(
        client.get(f"/course/{course_token(course)}/book", follow_redirects=True).get_data(
            as_text=True
        )
    )
    assert "The other sessions of this course can be booked once it is paid" in refused
    assert f"call us on {PHONE}" in refused
    with pytest.raises(DomainError, match="once it is paid"):
        book_appointment(
            session_type=course.session_type,
            starts_at=local(next_weekday(4), 11),
            practitioner=colette(),
            course=course,
        )
    planned = flat(
        client.get(f"/course/{course_token(course)}/plan", follow_redirects=True).get_data(
            as_text=True
        )
    )
    assert "once it is paid" in planned
    assert count(Appointment) == 1

    # The diary says the course is not yet paid: course page, appointment page, grid.
    diary_course = flat(
        receptionist_client.get(f"/diary/courses/{course.id}").get_data(as_text=True)
    )
    assert "Course not yet paid" in diary_course and "first session was booked before payment" in (
        diary_course
    )
    appointment_page = flat(
        receptionist_client.get(f"/diary/appointments/{first.id}").get_data(as_text=True)
    )
    assert "Course not yet paid" in appointment_page and COUNTS in appointment_page
    day = local_day(first)
    grid = receptionist_client.get(f"/diary/day/{day}").get_data(as_text=True)
    assert "Course not yet paid" in grid

    # Paid at the desk: active once, ten sessions of which the first holds one.
    desk = receptionist_client.get(f"/diary/courses/{course.id}").get_data(as_text=True)
    paid = receptionist_client.post(
        f"/diary/courses/{course.id}/paid",
        data={"payment_reference": "card 4242", "csrf_token": csrf_token(desk)},
    )
    assert paid.status_code == 302
    course = the_course()
    first = db.session.get(Appointment, first.id)
    assert course.status == CourseStatus.ACTIVE
    assert course.credits_remaining == 9 and ledger_total(course) == 9
    assert credits.credits_held(first) == 1
    changes = sorted(entry.change for entry in course.credit_entries)
    assert changes == [-1, 10]
    activated = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "course_activated")
    )
    assert "9 of 10" in flat(activated.text_body)
    assert "The session you booked before paying counts as one of them" in flat(activated.text_body)
    assert count(OutboxMessage, OutboxMessage.kind == "course_activated") == 1
    # Marking it paid again changes nothing.
    courses.activate_course(course, "again")
    assert the_course().credits_remaining == 9
    assert "Course not yet paid" not in receptionist_client.get(f"/diary/day/{day}").get_data(
        as_text=True
    )

    # Now the rest can be booked, against credits as usual.
    second = book_appointment(
        session_type=course.session_type,
        starts_at=local(next_weekday(4), 11),
        practitioner=colette(),
        course=course,
    )
    assert the_course().credits_remaining == 8
    assert "8 of 10" in client.get(link).get_data(as_text=True)
    # Cancelling the first with notice gives its credit back, as for any session.
    cancel_appointment(db.session.get(Appointment, first.id), staff_user=None)
    course = the_course()
    assert course.credits_remaining == 9 and ledger_total(course) == 9
    assert db.session.get(Appointment, second.id).status == AppointmentStatus.BOOKED


def local_day(appointment: Appointment) -> str:
    from booking.clinic.localtime import to_local

    return to_local(appointment.starts_at, clinic_settings().zone).date().isoformat()


def test_a_first_session_cancelled_before_payment_frees_the_place_for_another(client, demo):
    allow_first_session()
    _page, _response = request_course(client)
    course = the_course()
    first = book_appointment(
        session_type=course.session_type,
        starts_at=local(next_weekday(1), 10),
        practitioner=colette(),
        course=course,
    )
    cancel_appointment(first, staff_user=None)
    course = the_course()
    assert course.credits_remaining == 0 and ledger_total(course) == 0
    # The cancelled one no longer counts: the patient may book a first session again.
    again = book_appointment(
        session_type=course.session_type,
        starts_at=local(next_weekday(3), 10),
        practitioner=colette(),
        course=course,
    )
    courses.activate_course(the_course(), "cash")
    course = the_course()
    assert course.credits_remaining == 9
    assert credits.credits_held(db.session.get(Appointment, again.id)) == 1
    assert credits.credits_held(db.session.get(Appointment, first.id)) == 0


def test_a_webhook_payment_activates_the_course_once_and_counts_the_first_session(
    client, demo, stripe_webhooks
):
    from tests.test_online_payment import _signed, started_checkout

    allow_first_session()
    course, session = started_checkout(client, stripe_webhooks)
    first = book_appointment(
        session_type=course.session_type,
        starts_at=local(next_weekday(1), 10),
        practitioner=colette(),
        course=course,
    )
    # Unpaid with online payment set up, a second session's refusal says to pay online.
    with pytest.raises(DomainError, match="Pay online on your course page"):
        book_appointment(
            session_type=course.session_type,
            starts_at=local(next_weekday(3), 10),
            practitioner=colette(),
            course=the_course(),
        )
    paid = stripe_webhooks.pay(session["id"])
    payload, header = _signed(stripe_webhooks, "checkout.session.completed", paid)
    assert stripe_webhooks.deliver(payload, header).status == 200
    assert stripe_webhooks.deliver(payload, header).status == 200  # Stripe retries
    course = the_course()
    assert course.status == CourseStatus.ACTIVE
    assert course.credits_remaining == course.sessions_total - 1
    assert ledger_total(course) == course.credits_remaining
    assert count(CreditEntry, CreditEntry.course_id == course.id) == 2
    assert count(OutboxMessage, OutboxMessage.kind == "course_activated") == 1
    assert credits.credits_held(db.session.get(Appointment, first.id)) == 1


@pytest.mark.parametrize("on", [False, True], ids=["setting off", "setting on"])
def test_the_page_the_email_and_the_diary_agree(
    client, demo, mail_app, smtp_server, receptionist_client, on
):
    allow_first_session(on)
    page, response = request_course(client, email="agree@example.org")
    course = the_course()
    course_page = client.get(response.location).get_data(as_text=True)
    diary = receptionist_client.get(f"/diary/courses/{course.id}").get_data(as_text=True)
    assert send_due().sent >= 1
    [email] = [
        m for m in smtp_server.to("agree@example.org") if "Your request" in str(m["Subject"])
    ]
    said = {
        "request page": page,
        "course page": course_page,
        "email": plain_text(email),
    }
    for where, text in said.items():
        text = flat(text)
        assert (FIRST_NOW in text) is on, where
        assert "The other sessions can be booked once the course is paid" in text or not on, where
        assert PHONE in text, where
    assert ("Course not yet paid" in flat(diary)) is on
    reception = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "reception_course_requested")
    )
    assert ("Course not yet paid" in flat(reception.text_body)) is on
    assert ("first session before paying" in flat(reception.text_body)) is on
    if not on:
        return
    first = book_first_online(client, course)[-1]
    assert first.status_code == 302
    appointment = db.session.scalar(sa.select(Appointment))
    assert send_due().sent >= 1
    [confirmation] = [
        m for m in smtp_server.to("agree@example.org") if "Booked" in str(m["Subject"])
    ]
    booked_texts = {
        "confirmation email": plain_text(confirmation),
        "course page": client.get(response.location).get_data(as_text=True),
        "diary appointment": receptionist_client.get(
            f"/diary/appointments/{appointment.id}"
        ).get_data(as_text=True),
    }
    for where, text in booked_texts.items():
        text = flat(text)
        assert COUNTS in text or "counts as one of the course's" in text, where
        assert "not yet paid" in text.lower() or "once the course is paid" in text, where


def test_an_undone_cancellation_cannot_make_a_second_unpaid_session(client, demo):
    allow_first_session()
    request_course(client)
    course = the_course()
    first = book_appointment(
        session_type=course.session_type,
        starts_at=local(next_weekday(1), 10),
        practitioner=colette(),
        course=course,
    )
    cancel_appointment(first, staff_user=None)  # the patient, online: undoable for a while
    book_appointment(
        session_type=course.session_type,
        starts_at=local(next_weekday(3), 10),
        practitioner=colette(),
        course=the_course(),
    )
    with pytest.raises(DomainError, match="once it is paid"):
        undo_cancellation(db.session.get(Appointment, first.id))
    assert db.session.get(Appointment, first.id).status == AppointmentStatus.CANCELLED
    assert count(Appointment, Appointment.status == AppointmentStatus.BOOKED.value) == 1


def test_two_first_sessions_at_the_same_moment_book_one(app, client, demo):
    allow_first_session()
    request_course(client)
    course = the_course()
    course_id, colette_id = course.id, colette().id
    starts = [local(next_weekday(1), 10), local(next_weekday(3), 10), local(next_weekday(4), 10)]
    db.session.remove()

    def attempt(number: int) -> str:
        book_appointment(
            session_type=db.session.get(Course, course_id).session_type,
            starts_at=starts[number],
            practitioner=db.session.get(Practitioner, colette_id),
            course=db.session.get(Course, course_id),
        )
        return "booked"

    outcomes = race(app, 3, attempt)
    assert outcomes.count("booked") == 1, outcomes
    assert all("once it is paid" in o for o in outcomes if o != "booked"), outcomes
    assert count(Appointment, Appointment.course_id == course_id) == 1


@pytest.mark.parametrize(
    ("status", "no_show_uses_credit", "left"),
    [
        (AppointmentStatus.ATTENDED, True, 9),
        (AppointmentStatus.NO_SHOW, True, 9),
        (AppointmentStatus.NO_SHOW, False, 10),
    ],
    ids=["attended", "missed, the clinic counts it", "missed, the clinic forgives it"],
)
def test_a_first_session_already_held_when_the_course_is_paid_counts_as_the_clinic_says(
    client, demo, make_staff, status, no_show_uses_credit, left
):
    allow_first_session()
    clinic_settings().no_show_uses_credit = no_show_uses_credit
    db.session.commit()
    receptionist = make_staff("receptionist")
    request_course(client)
    course = the_course()
    first = book_appointment(
        session_type=course.session_type,
        starts_at=local(next_weekday(1), 10),
        practitioner=colette(),
        course=course,
    )
    after = first.starts_at + timedelta(hours=2)
    record_attendance(first, status, staff_user=receptionist, now=after)
    course = the_course()
    assert course.credits_remaining == 0 and ledger_total(course) == 0  # unpaid: no credits
    courses.activate_course(course, "card 99", receptionist, now=after)
    course = the_course()
    assert course.status == CourseStatus.ACTIVE
    assert course.credits_remaining == left and ledger_total(course) == left
    # Marking it again after payment keeps one credit at most.
    record_attendance(
        db.session.get(Appointment, first.id), status, staff_user=receptionist, now=after
    )
    assert the_course().credits_remaining == left
