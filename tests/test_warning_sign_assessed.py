"""A warning sign a doctor has already assessed: booked, flagged for the practitioner."""

import sqlalchemy as sa

from booking.clinic.tokens import course_token
from booking.extensions import db
from booking.models import Appointment, Course, CourseProduct
from tests.forms import csrf_token
from tests.test_booking import compact, details_url, next_weekday, start_at, submit_details

ASSESSED = "has a doctor already assessed this"


def only_appointment() -> Appointment | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Appointment))


def test_a_history_of_cancer_a_doctor_has_assessed_books_with_a_flag(
    client, demo, sign_in, make_staff
):
    slot = start_at(next_weekday(1), 9)
    page = client.get(details_url(slot)).get_data(as_text=True)
    assert ASSESSED in page
    response = submit_details(client, details_url(slot), other_warning="yes", doctor_assessed="yes")
    assert response.status_code == 302 and response.location.startswith("/book/confirmed/")
    appointment = only_appointment()
    assert appointment.warning_sign_assessed is True

    # The practitioner sees it on the appointment page and on the diary's block.
    desk = client.application.test_client()
    practitioner = make_staff("practitioner", practitioner=appointment.practitioner)
    assert sign_in(desk, practitioner).status_code == 302
    shown = desk.get(f"/diary/appointments/{appointment.id}").get_data(as_text=True)
    assert "Check before treating" in shown
    day = desk.get(f"/diary/day/{slot.date().isoformat()}").get_data(as_text=True)
    assert "Check warning sign" in day

    # Reception is not told: a warning sign the patient reported is health information,
    # as a flagged answer is (the same rule as the record's other markers).
    reception = client.application.test_client()
    assert sign_in(reception, make_staff("receptionist")).status_code == 302
    shown = reception.get(f"/diary/appointments/{appointment.id}").get_data(as_text=True)
    assert "Check before treating" not in shown and "reported a warning sign" not in shown
    day = reception.get(f"/diary/day/{slot.date().isoformat()}").get_data(as_text=True)
    assert "Check warning sign" not in day and appointment.patient.name in day


def test_without_the_doctors_assessment_the_stop_page_stays_and_says_how(client, demo):
    slot = start_at(next_weekday(1), 9)
    for answer in (None, "no"):
        response = submit_details(
            client, details_url(slot), other_warning="yes", doctor_assessed=answer
        )
        page = response.get_data(as_text=True).replace("&#34;", '"').replace("&quot;", '"')
        assert response.status_code == 200
        assert "Please speak to a doctor before booking" in page
        assert "We have not booked anything" in page
        assert "already</strong> assessed this" in page
        assert only_appointment() is None


def test_an_emergency_sign_is_never_overridden_by_an_earlier_assessment(client, demo):
    slot = start_at(next_weekday(1), 9)
    response = submit_details(client, details_url(slot), cauda_equina="yes", doctor_assessed="yes")
    assert "Please get urgent medical help now" in response.get_data(as_text=True)
    assert only_appointment() is None


def test_an_ordinary_booking_carries_no_flag(client, demo):
    slot = start_at(next_weekday(1), 9)
    assert submit_details(client, details_url(slot), doctor_assessed="yes").status_code == 302
    assert only_appointment().warning_sign_assessed is False


def test_a_course_session_with_an_assessed_warning_sign_is_flagged(client, demo, make_course):
    course = make_course(db.session.scalar(sa.select(CourseProduct)))
    slot = start_at(next_weekday(3), 10)
    url = f"/course/{course_token(course)}/book/review?start={compact(slot)}"
    html = client.get(url).get_data(as_text=True)
    response = client.post(
        url,
        data={
            "cauda_equina": "no",
            "other_warning": "yes",
            "doctor_assessed": "yes",
            "consent": "y",
            "csrf_token": csrf_token(html),
        },
    )
    assert response.status_code == 302
    appointment = only_appointment()
    assert appointment.warning_sign_assessed and appointment.course_id == course.id
    assert db.session.get(Course, course.id).credits_remaining == 9
