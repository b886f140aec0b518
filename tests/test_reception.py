"""The receptionist's diary at the speed of a phone call (issue 18)."""

import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic.localtime import local_to_utc
from booking.extensions import db
from booking.models import (
    Appointment,
    Course,
    Patient,
    Practitioner,
    StaffUser,
    WaitingListEntry,
)
from tests.factories import make_appointment, make_patient
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 12, 8)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_to_utc(day, time(hour, minute), LONDON)


def title_of(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    found = re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S)
    assert found is not None
    return unescape(" ".join(found.group(1).split()))


@pytest.fixture
def desk(app, demo, sign_in):
    """The demo receptionist, signed in with the password seed-demo printed."""
    receptionist = db.session.scalar(
        sa.select(StaffUser).filter_by(email="reception@clinic.example")
    )
    client = app.test_client()
    assert sign_in(client, receptionist, password=demo).status_code == 302
    return client


def test_staff_page_titles_name_the_patient_and_the_date(desk):
    priya = make_patient("Priya Shah")
    appointment = make_appointment(at(TUESDAY, 10), patient=priya)

    assert title_of(desk.get(f"/diary/appointments/{appointment.id}")).startswith(
        "Priya Shah, Tue 8 Dec 10:00 – Appointment"
    )
    assert title_of(desk.get(f"/diary/patients/{priya.id}")).startswith("Priya Shah – Patient")
    assert title_of(desk.get("/diary/day/2026-12-08")).startswith("Diary Tuesday 8 December 2026")
    assert title_of(desk.get(f"/diary/appointments/{appointment.id}/move")).startswith(
        "Priya Shah, Tue 8 Dec 10:00 – Move"
    )
    assert title_of(desk.get(f"/diary/appointments/{appointment.id}/again?weeks=1")).startswith(
        "Priya Shah, Tue 8 Dec 10:00 – Book again"
    )
    # A phone booking's tab names the time and who it is with.
    assert title_of(desk.get(_phone_booking_url())).startswith(
        "Phone booking, Tue 8 Dec 11:00 with Sam Okafor"
    )


def test_an_empty_patient_search_says_so_and_what_to_do(desk):
    page = desk.get("/diary/patients").get_data(as_text=True)
    html = desk.post(
        "/diary/patients", data={"csrf_token": csrf_token(page), "query": "Nobodyknown"}
    ).get_data(as_text=True)
    assert (
        "No patient matches \u201cNobodyknown\u201d: check the spelling, "
        "or add them as a new patient." in unescape(html)
    )


def _phone_booking_url() -> str:
    sam = db.session.scalar(sa.select(Practitioner).filter_by(slug="sam-okafor"))
    start = at(TUESDAY, 11).astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    return f"/diary/book?practitioner={sam.id}&start={start}"


def _search_on_the_phone_booking_form(desk, query: str) -> str:
    url = _phone_booking_url()
    page = desk.get(url).get_data(as_text=True)
    return desk.post(
        url, data={"csrf_token": csrf_token(page), "action": "search", "query": query}
    ).get_data(as_text=True)


def test_a_single_patient_found_on_the_phone_booking_form_is_chosen(desk):
    ada = make_patient("Ada Returning", phone="07700 900123")
    make_patient("Grace Other", phone="07700 900456")
    html = _search_on_the_phone_booking_form(desk, "900123")
    assert re.search(rf'value="{ada.id}"\s+checked', html)
    assert not re.search(r'value="new"\s+checked', html)


def test_several_patients_found_leave_the_choice_to_the_receptionist(desk):
    ada = make_patient("Ada Returning", phone="07700 900123")
    make_patient("Ada Second", phone="07700 900456")
    html = _search_on_the_phone_booking_form(desk, "Ada")
    assert f'value="{ada.id}"' in html and not re.search(rf'value="{ada.id}"\s+checked', html)


def test_an_empty_search_on_the_phone_booking_form_says_so(desk):
    html = unescape(_search_on_the_phone_booking_form(desk, "Nobodyknown"))
    assert "No patient matches \u201cNobodyknown\u201d: check the spelling" in html


def test_a_course_is_sold_from_the_patients_page_in_one_step(desk):
    priya = make_patient("Priya Shah")
    page = desk.get(f"/diary/patients/{priya.id}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*"sell-course"', page)
    assert form is not None, "no Sell a course form on the patient's page"
    product = re.search(r'name="product_id">\s*<option value="(\d+)"', page)
    response = desk.post(
        form.group(1),
        data={
            "csrf_token": csrf_token(page),
            "product_id": product.group(1),
            "payment_reference": "card 4242",
        },
    )
    assert response.status_code == 302
    course = db.session.scalar(sa.select(Course).filter_by(patient_id=priya.id))
    assert course is not None and course.credits_remaining == course.sessions_total > 0
    assert response.headers["Location"].endswith(f"/diary/courses/{course.id}")


def test_a_sale_from_the_patients_page_needs_a_payment_reference(desk):
    priya = make_patient("Priya Shah")
    page = desk.get(f"/diary/patients/{priya.id}").get_data(as_text=True)
    product = re.search(r'name="product_id">\s*<option value="(\d+)"', page)
    response = desk.post(
        f"/diary/patients/{priya.id}/courses/new",
        data={"csrf_token": csrf_token(page), "product_id": product.group(1)},
    )
    assert response.status_code == 422
    assert db.session.scalar(sa.select(Course).filter_by(patient_id=priya.id)) is None


def test_the_courses_page_sends_returning_patients_to_their_page(desk):
    html = unescape(desk.get("/diary/courses").get_data(as_text=True))
    assert '<a href="/diary/patients">Patients</a> and use "Sell a course" on their page' in html


def test_the_demo_fortnight_fills_the_next_weekday_and_a_second_run_adds_nothing(desk):
    from booking.demo_diary import fill_demo_diary

    monday_morning = at(date(2026, 12, 7), 7)
    booked = fill_demo_diary(now=monday_morning)
    assert booked > 0
    counts = [
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Appointment, Patient, Course)
    ]
    assert fill_demo_diary(now=monday_morning) == 0
    db.session.expire_all()
    assert counts == [
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Appointment, Patient, Course)
    ]
    assert counts[2] == 1
    [waiting] = db.session.scalars(sa.select(WaitingListEntry)).all()
    assert waiting.patient.name == "Maria Novak" and waiting.status == "waiting"
    assert "Maria Novak" in desk.get("/diary/waiting-list").get_data(as_text=True)
    course = db.session.scalar(sa.select(Course))
    sessions = db.session.scalars(sa.select(Appointment).filter_by(course_id=course.id)).all()
    assert len(sessions) == 2 and course.credits_remaining == course.sessions_total - 2
    assert desk.get(f"/diary/courses/{course.id}").status_code == 200
    for appointment in db.session.scalars(sa.select(Appointment)):
        assert appointment.starts_at > monday_morning
        assert appointment.patient.email.endswith("@example.org")
        assert appointment.patient.phone.startswith("07700 900")
    html = desk.get("/diary/day/2026-12-08").get_data(as_text=True)
    assert "Priya Shah" in html or "Tom Hartley" in html


def test_the_demo_leaves_same_time_next_week_free_for_some_of_this_weeks_visits(desk):
    """A newcomer tries "Book again, same time next week" on the demo: the second week
    is not a copy of the first, so some of this week's times are free a week on."""
    from booking.clinic.availability import is_free_start
    from booking.clinic.settings import clinic_settings
    from booking.demo_diary import fill_demo_diary

    monday_morning = at(date(2026, 12, 7), 7)
    fill_demo_diary(now=monday_morning)
    first_week = db.session.scalars(
        sa.select(Appointment).where(Appointment.starts_at < monday_morning + timedelta(days=7))
    ).all()
    free_next_week = [
        a
        for a in first_week
        if is_free_start(
            a.practitioner,
            a.session_type,
            a.starts_at + timedelta(weeks=1),
            now=monday_morning,
            settings=clinic_settings(),
        )
    ]
    assert first_week and 0 < len(free_next_week) < len(first_week)


def test_demo_appointments_never_overlap_and_skip_times_already_past(desk):
    from booking.demo_diary import fill_demo_diary

    tuesday_noon = at(TUESDAY, 12)
    fill_demo_diary(now=tuesday_noon)
    appointments = list(db.session.scalars(sa.select(Appointment)))
    assert appointments and all(a.starts_at > tuesday_noon for a in appointments)
    for a in appointments:
        for b in appointments:
            if a.id != b.id and a.practitioner_id == b.practitioner_id:
                assert a.ends_at <= b.starts_at or b.ends_at <= a.starts_at


def test_flask_seed_demo_fills_the_diary_once(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    booked = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment))
    assert booked > 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == booked
