"""Red flags re-checked before every visit: the reminder's link, "no" noted, "yes" cancels."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.clinic import credits
from booking.clinic.notifications import appointment_reminder
from booking.clinic.records import red_flags
from booking.clinic.tokens import check_token
from booking.clinic.transaction import unit_of_work
from booking.extensions import db
from booking.models import Appointment, OutboxMessage, RedFlagCheck
from tests.forms import csrf_token


@pytest.fixture
def tomorrow():
    # Inside the 24 hours' notice: a patient could not cancel this online themselves.
    return datetime.now(UTC).replace(microsecond=0) + timedelta(hours=20)


def _check_link(appointment: Appointment) -> str:
    with unit_of_work():
        appointment_reminder(appointment)
    reminder = db.session.scalar(
        sa.select(OutboxMessage).filter_by(appointment_id=appointment.id, kind="reminder")
    )
    assert "warning sign" in reminder.text_body
    (path,) = [
        word.split("127.0.0.1:5000", 1)[-1]
        for word in reminder.text_body.split()
        if "/check/" in word
    ]
    return path


def _answer(client, path, cauda_equina="no", other_warning="no"):
    page = client.get(path)
    assert page.status_code == 200 and "<legend>" in page.text
    return client.post(
        path,
        data={
            "cauda_equina": cauda_equina,
            "other_warning": other_warning,
            "csrf_token": csrf_token(page.text),
        },
    )


def test_no_warning_sign_records_the_check_and_keeps_the_visit(
    app, demo, make_appointment, tomorrow
):
    appointment = make_appointment(tomorrow)
    response = _answer(app.test_client(), _check_link(appointment))
    assert response.status_code == 200 and "see you soon" in response.text
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "booked"
    check = red_flags.latest_recheck(appointment.id)
    assert check is not None and check.warning_sign is False


def test_a_warning_sign_cancels_without_charge_returns_the_credit_and_alerts_the_practitioner(
    app, demo, make_course, make_appointment, make_staff, tomorrow
):
    course = make_course()
    appointment = make_appointment(tomorrow, patient=course.patient, course_id=course.id)
    with unit_of_work():
        credits.spend_credit(course, appointment)
    db.session.refresh(course)
    left = course.credits_remaining

    response = _answer(app.test_client(), _check_link(appointment), cauda_equina="yes")
    assert response.status_code == 200
    assert "Call 999" in response.text and "cancelled your appointment" in response.text

    db.session.expire_all()
    cancelled = db.session.get(Appointment, appointment.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_by == "patient"
    assert course.credits_remaining == left + 1
    check = db.session.scalar(sa.select(RedFlagCheck).filter_by(appointment_id=appointment.id))
    assert check.warning_sign and check.answers == {"cauda_equina": "yes", "other_warning": "no"}

    alert = db.session.scalar(
        sa.select(OutboxMessage).filter_by(appointment_id=appointment.id, kind="red_flag_alert")
    )
    assert alert.recipient in {cancelled.practitioner.email, "reception@clinic.example"}
    # Which sign it was stays in the record: not in the subject, not in the body.
    for text in (alert.subject, alert.text_body):
        assert "bladder" not in text and "cauda" not in text.lower() and "urine" not in text
    assert f"/diary/appointments/{appointment.id}" in alert.text_body


def test_the_doctor_group_gives_the_gp_advice(app, demo, make_appointment, tomorrow):
    appointment = make_appointment(tomorrow)
    response = _answer(app.test_client(), _check_link(appointment), other_warning="yes")
    assert "NHS 111" in response.text and "cancelled your appointment" in response.text


def test_a_cancelled_or_past_visit_has_nothing_to_check(app, demo, make_appointment, tomorrow):
    past = make_appointment(tomorrow - timedelta(days=3))
    page = app.test_client().get(f"/check/{check_token(past)}")
    assert page.status_code == 200 and "Nothing to check" in page.text
    with pytest.raises(red_flags.DomainError):
        red_flags.record_recheck(past, {"cauda_equina": "no", "other_warning": "no"})


def test_an_unanswered_check_shows_the_error_summary(app, demo, make_appointment, tomorrow):
    client = app.test_client()
    path = f"/check/{check_token(make_appointment(tomorrow))}"
    page = client.get(path)
    response = client.post(path, data={"cauda_equina": "no", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422 and 'href="#other_warning"' in response.text
