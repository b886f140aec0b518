"""The recommended session comes first and says so; a move's email names the old time too."""

import sqlalchemy as sa

from booking.clinic.appointments import PatientDetails, book_appointment, move_appointment
from booking.extensions import db
from booking.models import OutboxMessage, Practitioner, SessionType
from tests.test_booking import next_weekday, start_at


def test_the_recommended_session_comes_first_and_is_marked(client, demo):
    page = client.get("/book").get_data(as_text=True)
    cards = page.split('class="choice-card"')[1:]
    assert "Full combination session" in cards[0] and "Recommended" in cards[0]
    assert all("Recommended" not in card for card in cards[1:])
    assert "We recommend the full combination session, shown first" in page

    # The clinic changes its mind: massage is now the one it suggests.
    for session_type in db.session.scalars(sa.select(SessionType)):
        session_type.recommended = session_type.slug == "massage"
    db.session.commit()
    page = client.get("/book").get_data(as_text=True)
    assert "Massage" in page.split('class="choice-card"')[1].split("</a>")[0]


def test_no_recommendation_no_claim(client, demo):
    for session_type in db.session.scalars(sa.select(SessionType)):
        session_type.recommended = False
    db.session.commit()
    page = client.get("/book").get_data(as_text=True)
    assert "Recommended" not in page and "We recommend" not in page


def test_the_move_email_says_the_old_time_and_the_new(app, demo):
    day = next_weekday(1, at_least_days=5)
    appointment = book_appointment(
        session_type=db.session.scalar(sa.select(SessionType).filter_by(slug="massage")),
        starts_at=start_at(day, 10),
        practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
        patient=PatientDetails("Moe Mover", "moe@example.org", "07700900123"),
    )
    move_appointment(appointment, starts_at=start_at(day, 15))
    moved = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "moved"))
    assert "moved from" in moved.text_body and "at 10:00" in moved.text_body
    assert "15:00" in moved.text_body
    assert "moved from" in moved.html_body and "at 10:00" in moved.html_body


def test_a_course_session_inside_the_notice_period_is_not_offered_as_changeable(
    client, demo, make_course
):
    from datetime import timedelta

    from booking.clinic.tokens import course_token
    from booking.database import utcnow
    from booking.models import CourseProduct

    course = make_course(db.session.scalar(sa.select(CourseProduct)))
    soon = book_appointment(
        session_type=course.session_type,
        starts_at=start_at(next_weekday(1, at_least_days=5), 10),
        practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
        course=course,
    )
    page = client.get(f"/course/{course_token(course)}").get_data(as_text=True)
    assert "Change or cancel" in page
    # Inside the clinic's notice period the course page says to call instead.
    soon.starts_at = utcnow() + timedelta(hours=3)
    soon.ends_at = soon.starts_at + timedelta(minutes=90)
    db.session.commit()
    page = client.get(f"/course/{course_token(course)}").get_data(as_text=True)
    assert "Change or cancel" not in page and "to change it now, call us" in page
