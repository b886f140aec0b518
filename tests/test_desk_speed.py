"""Reception at the speed of a call: attendance in one click from the grid (with arrived),
book again in two clicks, and refusals that name their real reason."""

import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError
from booking.clinic.appointments import (
    book_appointment,
    cancel_appointment,
    move_appointment,
    record_attendance,
)
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    SessionType,
    StaffUser,
)
from tests.factories import make_appointment, make_course, make_patient
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")
# A Tuesday long past whatever day the tests run: its appointments have all started.
PAST_TUESDAY = date(2026, 12, 1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


def coming_tuesday() -> date:
    """A Tuesday at least two days ahead, so its morning is bookable at any hour today."""
    day = datetime.now(LONDON).date() + timedelta(days=2)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return day


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def desk_user() -> StaffUser:
    return get(StaffUser, email="reception@clinic.example")


@pytest.fixture
def desk(app, demo, sign_in):
    client = app.test_client()
    assert sign_in(client, desk_user(), password=demo).status_code == 302
    return client


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


# Attendance ----------------------------------------------------------------------------------


def attendance_form(html: str, appointment_id: int) -> dict:
    """The one-click attendance form of an appointment on the grid: its action and fields."""
    action = f"/diary/appointments/{appointment_id}/attendance"
    found = re.search(rf'<form method="post" action="{action}".*?</form>', html, re.S)
    assert found, f"no attendance buttons for appointment {appointment_id}"
    form = found.group(0)
    return {
        "action": action,
        "token": re.search(r'name="attendance-csrf_token" value="([^"]+)"', form).group(1),
        "back": unescape(re.search(r'name="back" value="([^"]*)"', form).group(1)),
        "buttons": re.findall(r'name="attendance-status" value="([^"]+)"', form),
    }


def click(desk, form: dict, value: str):
    assert value in form["buttons"], form["buttons"]
    return desk.post(
        form["action"],
        data={
            "attendance-csrf_token": form["token"],
            "back": form["back"],
            "attendance-status": value,
        },
    )


def test_attendance_is_one_click_from_the_grid_and_can_be_corrected(desk):
    appointment = make_appointment(at(PAST_TUESDAY, 10), patient="Grid Attender")
    day_url = f"/diary/day/{PAST_TUESDAY.isoformat()}"
    form = attendance_form(text(desk.get(day_url)), appointment.id)
    assert form["buttons"] == ["arrived", "attended", "no_show"]

    marked = click(desk, form, "attended")  # the one click

    assert marked.status_code == 302 and marked.headers["Location"].startswith(day_url)
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.ATTENDED
    page = text(desk.get(day_url))
    assert "Grid Attender at 10:00: marked attended." in page  # who, not just "Marked"
    form = attendance_form(page, appointment.id)
    assert form["buttons"] == ["booked"]  # "Undo": a mistake is one click to correct
    click(desk, form, "booked")
    assert "Grid Attender at 10:00: attendance undone, booked again." in text(desk.get(day_url))
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.BOOKED
    click(desk, attendance_form(text(desk.get(day_url)), appointment.id), "no_show")
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.NO_SHOW


def test_a_patient_is_marked_arrived_on_the_day_and_the_time_stays_theirs(app, demo):
    day = coming_tuesday()
    appointment = book_appointment(
        session_type=get(SessionType, slug="massage"),
        starts_at=at(day, 10),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=make_patient("Early Arriver"),
        staff_user=desk_user(),
    )
    with pytest.raises(DomainError, match="only on the day of their visit"):
        record_attendance(
            appointment,
            AppointmentStatus.ARRIVED,
            staff_user=desk_user(),
            now=at(day, 9) - timedelta(days=1),
        )
    record_attendance(
        appointment, AppointmentStatus.ARRIVED, staff_user=desk_user(), now=at(day, 9, 50)
    )
    db.session.expire_all()
    appointment = db.session.get(Appointment, appointment.id)
    assert appointment.status == AppointmentStatus.ARRIVED  # the database takes the new value

    with pytest.raises(DomainError, match="The patient has arrived"):
        cancel_appointment(appointment, staff_user=desk_user())
    with pytest.raises(DomainError, match="The patient has arrived"):
        move_appointment(appointment, starts_at=at(day, 11), staff_user=desk_user())
    with pytest.raises(DomainError, match="That time is taken: "):
        book_appointment(
            session_type=get(SessionType, slug="massage"),
            starts_at=at(day, 10),
            practitioner=get(Practitioner, slug="colette-assor"),
            patient=make_patient("Second Caller"),
            staff_user=desk_user(),
        )
    record_attendance(
        appointment, AppointmentStatus.ATTENDED, staff_user=desk_user(), now=at(day, 10, 50)
    )
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.ATTENDED


def test_an_arrived_course_session_still_waits_for_its_outcome(app, demo):
    from booking.clinic import courses

    course = make_course(staff_user=desk_user())
    appointment = make_appointment(
        at(PAST_TUESDAY, 10), session="full-combination", patient=course.patient, course=course
    )
    record_attendance(appointment, AppointmentStatus.ARRIVED, staff_user=desk_user())
    progress = courses.progress(db.session.get(type(course), course.id))
    assert [a.id for a in progress.awaiting_outcome] == [appointment.id]


# Book again ----------------------------------------------------------------------------------


def test_same_time_next_week_is_two_clicks_from_the_appointment(desk):
    day = coming_tuesday()
    patient = make_patient("Weekly Patient")
    appointment = make_appointment(at(day, 10), patient=patient)
    page = text(desk.get(f"/diary/appointments/{appointment.id}"))
    link = re.search(r'href="([^"]+)">Same time next week<', page).group(1)

    review = text(desk.get(link))  # click one
    next_week = day + timedelta(weeks=1)
    assert f"{next_week.day} " in review and "at 10:00" in review
    assert "Confirm booking" in review
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    start = re.search(r'name="start" value="([^"]+)"', review).group(1)
    booked = desk.post(link, data={"csrf_token": csrf_token(review), "start": start})  # two

    assert booked.status_code == 302
    again = db.session.scalar(sa.select(Appointment).where(Appointment.id != appointment.id))
    assert again.patient_id == patient.id and again.starts_at == at(next_week, 10)
    assert again.practitioner.slug == "colette-assor" and again.session_type.slug == "massage"
    assert "Booked Weekly Patient again" in text(desk.get(booked.headers["Location"]))


def test_book_again_on_a_taken_time_names_the_clash_and_offers_that_days_free_times(desk):
    day = coming_tuesday()
    appointment = make_appointment(at(day, 10), patient="Fortnightly Patient")
    make_appointment(at(day + timedelta(weeks=2), 10), patient="Already There")

    review = text(desk.get(f"/diary/appointments/{appointment.id}/again?weeks=2"))

    assert "That time is taken: Colette Assor has an appointment from 10:00 to 10:45" in review
    assert "just been taken" not in review
    assert "Confirm booking" not in review
    assert ">10:45<" in review and ">09:00<" in review  # that day's free times to pick


def test_the_next_free_time_is_offered_after_the_appointment(desk):
    day = coming_tuesday()
    appointment = make_appointment(at(day, 9), patient="Next Free")
    make_appointment(at(day, 9, 45), minutes=60, patient="Blocking")
    review = text(desk.get(f"/diary/appointments/{appointment.id}/again"))
    assert "at 10:45" in review and "Confirm booking" in review


@pytest.mark.parametrize("weeks", ["500", "0", "-1", "two", "99999999999999999999", ""])
def test_book_again_for_a_silly_number_of_weeks_says_what_is_allowed(desk, weeks):
    appointment = make_appointment(at(coming_tuesday(), 10))
    page = desk.get(f"/diary/appointments/{appointment.id}/again?weeks={weeks}")
    # Never a proposal of some other time (it offered the next free time for "-1").
    assert page.status_code == 422
    assert "Choose between 1 and 52 weeks." in text(page)
    assert "Confirm booking" not in text(page)


# Refusals name their reason ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "reason"),
    [
        (
            19,
            0,
            "19:00 is outside Colette Assor's working hours on Tuesdays (09:00–13:00 and "
            "14:00–18:00)",
        ),
        (15, 7, "15:07 is not on the booking grid: appointments start every 15 minutes"),
    ],
)
def test_a_refused_phone_booking_names_the_real_reason(app, demo, hour, minute, reason):
    with pytest.raises(DomainError) as refusal:
        book_appointment(
            session_type=get(SessionType, slug="massage"),
            starts_at=at(coming_tuesday(), hour, minute),
            practitioner=get(Practitioner, slug="colette-assor"),
            patient=make_patient(),
            staff_user=desk_user(),
        )
    assert refusal.value.message.startswith(reason)
    assert "taken" not in refusal.value.message


def test_a_move_into_closed_hours_or_the_past_says_so(app, demo):
    day = coming_tuesday()
    appointment = make_appointment(at(day, 10))
    with pytest.raises(DomainError, match="19:00 is outside Colette Assor's working hours"):
        move_appointment(appointment, starts_at=at(day, 19), staff_user=desk_user())
    with pytest.raises(DomainError, match="That time has already passed"):
        move_appointment(appointment, starts_at=at(PAST_TUESDAY, 10), staff_user=desk_user())
    with pytest.raises(DomainError, match="does not work on Sundays"):
        move_appointment(
            appointment, starts_at=at(day + timedelta(days=5), 10), staff_user=desk_user()
        )


# Moving by picking a free time ----------------------------------------------------------------


def test_moving_shows_the_days_free_times_and_a_review_before_saving(desk):
    day = coming_tuesday()
    appointment = make_appointment(at(day, 10), patient="Mover")
    make_appointment(at(day, 11), minutes=120, patient="Late Morning")
    page = text(desk.get(f"/diary/appointments/{appointment.id}/move"))
    times = re.findall(r'class="button button-small" href="[^"]+">(\d\d:\d\d)<', page)
    # Its own time is no move, so not offered; a time overlapping it is; 11:00-13:00 is
    # taken; the afternoon is open.
    assert "10:00" not in times and "10:15" in times and "14:00" in times
    assert "11:00" not in times and "12:00" not in times
    link = unescape(re.search(r'href="([^"]+)">14:00<', page).group(1))

    review = text(desk.get(link))  # the same page a drop on the grid opens
    assert "Check the change" in review and "Move to 14:00" in review
    assert db.session.get(Appointment, appointment.id).starts_at == at(day, 10)  # not yet
    form = dict(re.findall(r'name="(move-[a-z_]+)" (?:type="hidden" )?value="([^"]*)"', review))
    form.update(
        re.findall(r'<input id="(move-[a-z_]+)" name="[^"]+" type="hidden" value="([^"]*)"', review)
    )
    saved = desk.post(f"/diary/appointments/{appointment.id}/move", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).starts_at == at(day, 14)


def test_a_move_to_the_time_it_already_has_is_refused_and_nobody_is_told(desk):
    from booking.clinic.appointments import move_appointment
    from booking.clinic.errors import NOT_A_MOVE
    from booking.models import OutboxMessage

    day = coming_tuesday()
    appointment = make_appointment(at(day, 10), patient="Stays Put")
    start = at(day, 10).strftime("%Y%m%dT%H%MZ")
    colette = get(Practitioner, slug="colette-assor").id
    # A drop back on its own slot, or a hand-made link: no review, the reason instead.
    review = desk.get(
        f"/diary/appointments/{appointment.id}/move?start={start}&practitioner={colette}"
    )
    assert review.status_code == 409
    assert NOT_A_MOVE in unescape(text(review)) and "Check the change" not in text(review)
    messages = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    # The typed form and the domain refuse it too, for staff and patients alike.
    with pytest.raises(DomainError, match="the appointment's time already"):
        move_appointment(appointment, starts_at=at(day, 10), staff_user=desk_user())
    with pytest.raises(DomainError, match="the appointment's time already"):
        move_appointment(appointment, starts_at=at(day, 10))
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).sequence == appointment.sequence
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == messages


def test_a_drop_on_a_taken_time_names_the_reason_and_offers_the_free_times(desk):
    day = coming_tuesday()
    appointment = make_appointment(at(day, 10), patient="Dropper")
    make_appointment(at(day, 15), patient="Afternoon")
    start = at(day, 15).strftime("%Y%m%dT%H%MZ")
    colette = get(Practitioner, slug="colette-assor").id
    review = desk.get(
        f"/diary/appointments/{appointment.id}/move?start={start}&practitioner={colette}"
    )
    assert review.status_code == 409
    assert "Colette Assor has an appointment from 15:00 to 15:45" in text(review)


def test_the_grid_marks_future_appointments_draggable_onto_free_slots(desk):
    day = coming_tuesday()
    appointment = make_appointment(at(day, 10), patient="Draggable")
    html = text(desk.get(f"/diary/day/{day.isoformat()}"))
    assert f'draggable="true" data-move-url="/diary/appointments/{appointment.id}/move"' in html
    assert 'data-start="' in html and "js/diary-drag.js" in html


# Finding a patient from the header ------------------------------------------------------------


def header_search(desk, query: str):
    page = desk.get(f"/diary/day/{PAST_TUESDAY.isoformat()}").get_data(as_text=True)
    assert 'class="header-search"' in page and 'action="/diary/patients"' in page
    return desk.post("/diary/patients", data={"csrf_token": csrf_token(page), "query": query})


@pytest.mark.parametrize(
    "query",
    [
        "zoe oneill",
        "ZOË O'NEILL",
        "  Zoe   O Neill ",
        "07700900555",
        "zoe.o@exam",
        # Surname first, as a caller often gives it; a name and a phone together.
        "O'Neill, Zoë",
        "oneill zoe",
        "zoe 900555",
    ],
)
def test_the_header_search_ignores_accents_case_and_spacing_and_shows_the_next_visit(desk, query):
    zoe = make_patient("Zoë O'Neill", email="zoe.o@example.org", phone="07700 900555")
    make_patient("Zack Other", phone="07700 900556")
    make_appointment(at(PAST_TUESDAY, 10), patient=zoe)
    upcoming = make_appointment(at(coming_tuesday(), 11), patient=zoe)

    found = header_search(desk, query)

    assert found.status_code == 200
    html = text(found)
    assert "Found 1" in html and "Zoë O'Neill" in html and "Zack Other" not in html
    assert f'href="/diary/appointments/{upcoming.id}"' in html
    assert "Massage with Colette Assor" in html


def test_words_in_any_order_must_all_be_found(app, demo):
    from booking.clinic.patients import search_patients

    make_patient("Maria Novak", phone="07700 900103")
    make_patient("Maria Other", phone="07700 900104")
    assert [p.name for p in search_patients("Novak Maria")] == ["Maria Novak"]
    assert [p.name for p in search_patients("maria")] == ["Maria Novak", "Maria Other"]
    assert search_patients("Novak Smith") == []


def test_a_corrected_name_is_found_by_its_new_spelling(app, demo):
    from booking.clinic.patients import ContactDetails, change_contact_details, search_patients

    patient = make_patient("Jose Pena", phone="07700 900777")
    change_contact_details(
        patient,
        ContactDetails(name="José Peña", email=patient.email, phone="07700 900777"),
        staff_user=desk_user(),
    )
    assert [p.id for p in search_patients("pena maria")] == []
    assert [p.id for p in search_patients("josé peña")] == [patient.id]
    assert [p.id for p in search_patients("jose pena")] == [patient.id]


# The grid and the week of everyone -------------------------------------------------------------


def test_the_grid_block_shows_phone_new_patient_course_place_and_a_note_marker(desk):
    day = coming_tuesday()
    newcomer = make_patient("First Timer", phone="07700 900321")
    make_appointment(at(day, 10), patient=newcomer, staff_note="Prefers the ground floor")
    regular = make_patient("Old Hand")
    make_appointment(at(PAST_TUESDAY, 10), patient=regular)
    make_appointment(at(day, 14), patient=regular)
    course = make_course(staff_user=desk_user())
    make_appointment(at(day, 15), session="full-combination", patient=course.patient, course=course)
    html = text(desk.get(f"/diary/day/{day.isoformat()}"))
    block = html[html.index("First Timer") : html.index("First Timer") + 600]
    assert "07700 900321" in block and "New patient" in block and ">Note<" in block
    regular_block = html[html.index("Old Hand") : html.index("Old Hand") + 400]
    assert "New patient" not in regular_block and ">Note<" not in regular_block
    assert "Course 1 of 10" in html
    assert "Prefers the ground floor" not in html  # a marker, never the note itself


def test_the_week_of_everyone_shows_each_practitioner_on_the_days_they_work(desk):
    day = coming_tuesday()
    monday = day - timedelta(days=day.weekday())
    make_appointment(at(day, 10), patient="Colette Patient")
    make_appointment(at(day, 11), practitioner="sam-okafor", patient="Sam Patient")
    html = text(desk.get(f"/diary/week-all/{monday.isoformat()}"))
    assert "Colette Patient" in html and "Sam Patient" in html
    headers = re.findall(r'<span class="column-practitioner">([^<]+)</span>', html)
    # Colette works Monday to Saturday, Sam Tuesday to Thursday.
    assert headers.count("Colette Assor") == 6 and headers.count("Sam Okafor") == 3
    assert desk.get(f"/diary/week-all/{day.isoformat()}").status_code == 302


def _bookable_days(html: str, practitioner: Practitioner) -> set[str]:
    """The local dates (YYYYMMDD of the UTC start; all daytime in London) with a Book link
    for the practitioner."""
    return set(re.findall(rf"practitioner={practitioner.id}&amp;start=(\d{{8}})T", html))


@pytest.mark.parametrize("view", ["week-all", "week"])
def test_the_week_views_show_one_practitioners_time_off_in_their_column_only(desk, view):
    from booking.clinic.time_off import add_time_off, close_clinic

    tuesday = coming_tuesday() + timedelta(weeks=1)
    monday, wednesday, thursday = (tuesday + timedelta(days=n) for n in (-1, 1, 2))
    colette = get(Practitioner, slug="colette-assor")
    sam = get(Practitioner, slug="sam-okafor")
    # Sam away on Tuesday; the clinic closed on Wednesday; both work both days.
    add_time_off(
        sam, at(tuesday, 0), at(wednesday, 0), reason="Sam on holiday", staff_user=desk_user()
    )
    close_clinic(at(wednesday, 0), at(thursday, 0), reason="Bank holiday", staff_user=desk_user())
    url = (
        f"/diary/week-all/{monday.isoformat()}"
        if view == "week-all"
        else f"/diary/week/colette-assor/{monday.isoformat()}"
    )
    response = desk.get(url, follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    day = "%Y%m%d"
    colette_days = _bookable_days(html, colette)
    # Colette's Tuesday stays bookable; nobody's Wednesday is.
    assert tuesday.strftime(day) in colette_days and wednesday.strftime(day) not in colette_days
    assert "Blocked: Bank holiday" in html
    if view == "week-all":
        sam_days = _bookable_days(html, sam)
        assert "Blocked: Sam on holiday" in html
        assert sam_days == {thursday.strftime(day)}
    else:
        # Colette's own week shows none of Sam's time off.
        assert "Sam on holiday" not in html


# Duplicate patients ---------------------------------------------------------------------------


def test_a_phone_booking_for_a_new_patient_with_an_email_on_file_offers_that_patient(desk):
    ada = make_patient("Ada Lovelace", email="ada@example.org", phone="07700 900123")
    day = coming_tuesday()
    colette = get(Practitioner, slug="colette-assor")
    url = f"/diary/book?practitioner={colette.id}&start={at(day, 10).strftime('%Y%m%dT%H%MZ')}"
    page = desk.get(url).get_data(as_text=True)
    typed = {
        "csrf_token": csrf_token(page),
        "patient_id": "new",
        "session_type_id": str(get(SessionType, slug="massage").id),
        "name": "Ada King",
        "email": "ADA@example.org",
        "phone": "",
        "action": "book",
    }

    warned = desk.post(url, data=typed)

    assert warned.status_code == 409
    html = text(warned)
    assert (
        f"Already on file with this email or phone: Ada Lovelace (patient number {ada.id})" in html
    )
    assert f'value="{ada.id}"' in html and 'name="different_person"' in html
    assert 'value="Ada King"' in html  # what was typed is kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0

    chosen = desk.post(url, data={**typed, "patient_id": str(ada.id)})
    assert chosen.status_code == 302
    assert get(Appointment, patient_id=ada.id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(type(ada))) == 1


def test_a_different_person_sharing_a_phone_is_added_when_the_receptionist_says_so(desk):
    make_patient("Parent Shared", phone="07700 900999")
    day = coming_tuesday()
    colette = get(Practitioner, slug="colette-assor")
    url = f"/diary/book?practitioner={colette.id}&start={at(day, 11).strftime('%Y%m%dT%H%MZ')}"
    page = desk.get(url).get_data(as_text=True)
    typed = {
        "csrf_token": csrf_token(page),
        "patient_id": "new",
        "session_type_id": str(get(SessionType, slug="massage").id),
        "name": "Child Shared",
        "phone": "07700900999",
        "action": "book",
    }
    assert desk.post(url, data=typed).status_code == 409
    booked = desk.post(url, data={**typed, "different_person": "1"})
    assert booked.status_code == 302
    assert get(Appointment, starts_at=at(day, 11)).patient.name == "Child Shared"


def test_a_course_sale_for_a_phone_on_file_offers_to_sell_to_that_patient(desk):
    ravi = make_patient("Ravi Menon", phone="07700 900108")
    page = desk.get("/diary/courses").get_data(as_text=True)
    product = re.search(r'<option[^>]*value="(\d+)"', page[page.index('name="product_id"') :])
    sold = desk.post(
        "/diary/courses/sell",
        data={
            "csrf_token": csrf_token(page),
            "product_id": product.group(1),
            "name": "R Menon",
            "phone": "07700 900 108",
            "method": "card",
            "payment_reference": "card 1234",
        },
    )
    assert sold.status_code == 409
    html = text(sold)
    assert f"/diary/patients/{ravi.id}/courses/new" in html and "Sell to Ravi Menon" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(type(ravi))) == 1


def test_an_administrator_merges_a_duplicate_with_everything_it_had(app, demo, admin_client):
    from booking.clinic.patients import search_patients
    from booking.clinic.waiting_list import Wish, add_caller
    from booking.models import AuditEvent, Course, Patient, WaitingListEntry

    survivor = make_patient("Maria Novak", email="maria@example.org")
    duplicate = make_patient("Maria Nowak", email="", phone="07700 900103")
    day = coming_tuesday()
    visit = book_appointment(
        session_type=get(SessionType, slug="massage"),
        starts_at=at(day, 10),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=duplicate,
        staff_user=desk_user(),
    )
    course = make_course(patient=duplicate, staff_user=desk_user())
    add_caller(
        duplicate,
        Wish(get(SessionType, slug="massage"), None, "01234", "m", day),
        staff_user=desk_user(),
    )
    from booking.clinic.communications import patient_log
    from booking.clinic.patients import ContactDetails, change_contact_details

    # An audit event about the duplicate itself, and the messages it was sent.
    change_contact_details(
        duplicate,
        ContactDetails(name="Maria Nowak", email=None, phone="07700 900103", staff_notes="Ring"),
        staff_user=desk_user(),
    )
    their_messages = {line.message.id for line in patient_log(duplicate)}
    assert their_messages  # (no email of its own: what reception was sent about it)
    credits = db.session.get(Course, course.id).credits_remaining
    review = admin_client.get(f"/diary/patients/{survivor.id}/merge?other={duplicate.id}")
    assert review.status_code == 200 and "Maria Nowak" in text(review)

    merged = admin_client.post(
        f"/diary/patients/{survivor.id}/merge",
        data={"csrf_token": csrf_token(review.get_data(as_text=True)), "other": duplicate.id},
    )

    assert merged.status_code == 302
    db.session.expire_all()
    assert db.session.get(Patient, duplicate.id) is None
    kept = db.session.get(Patient, survivor.id)
    assert kept.phone == "07700 900103" and kept.email == "maria@example.org"
    assert db.session.get(Appointment, visit.id).patient_id == survivor.id
    assert db.session.get(Course, course.id).patient_id == survivor.id
    assert get(WaitingListEntry, patient_id=survivor.id) is not None
    merges = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "patient.merged")
    ).all()
    assert len(merges) == 1 and merges[0].subject_id == survivor.id
    assert [p.id for p in search_patients("900103")] == [survivor.id]
    # Credits went with the course; the messages and the audit trail with the patient.
    assert db.session.get(Course, course.id).credits_remaining == credits
    assert their_messages <= {line.message.id for line in patient_log(kept)}
    refiled = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.subject_type == "Patient", AuditEvent.action != "patient.merged"
        )
    ).all()
    assert refiled and all(event.subject_id == survivor.id for event in refiled)


def test_a_merge_that_fails_part_way_moves_nothing(app, demo, monkeypatch):
    from booking.clinic import audit
    from booking.clinic.duplicates import merge_patients
    from booking.models import Patient

    survivor = make_patient("Kept Record", email="kept@example.org")
    duplicate = make_patient("Second Record", email="", phone="07700 900104")
    visit = make_appointment(at(coming_tuesday(), 10), patient=duplicate)

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit, "record", fail)
    with pytest.raises(RuntimeError):
        merge_patients(survivor, duplicate, staff_user=desk_user())
    db.session.rollback()
    assert db.session.get(Patient, duplicate.id) is not None
    assert db.session.get(Appointment, visit.id).patient_id == duplicate.id


def test_a_record_made_online_with_a_phone_on_file_is_flagged_to_the_desk(app, desk, admin_client):
    from booking.clinic.appointments import book_appointment
    from booking.clinic.patients import PatientDetails

    ada = make_patient("Ada Lovelace", email="ada@example.org", phone="07700 900123")
    # The public form cannot say who is on file, so the online booking makes a record.
    online = book_appointment(
        session_type=get(SessionType, slug="massage"),
        starts_at=at(coming_tuesday(), 10),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails("Ada King", "ada.king@example.org", "07700900123"),
    ).patient
    assert online.id != ada.id

    page = unescape(text(desk.get(f"/diary/patients/{online.id}")))
    notice = page.split('id="also-on-file"')[1].split("</div>")[0]
    assert f"Ada Lovelace (patient number {ada.id})" in notice
    assert "ask an administrator to merge the records" in notice
    assert "/merge?" not in notice
    for_admin = unescape(text(admin_client.get(f"/diary/patients/{online.id}")))
    assert f"/diary/patients/{online.id}/merge?other={ada.id}" in for_admin
    # A patient alone on file has no such notice.
    alone = make_patient("Only Once", email="once@example.org", phone="07700 900999")
    assert 'id="also-on-file"' not in text(desk.get(f"/diary/patients/{alone.id}"))


def test_a_receptionist_cannot_merge_patients(desk):
    one, two = make_patient(), make_patient()
    assert desk.get(f"/diary/patients/{one.id}/merge?other={two.id}").status_code == 403


# The communications log ------------------------------------------------------------------------


def test_the_patient_and_appointment_pages_say_in_plain_words_what_was_sent(desk):
    from booking.clinic import outbox
    from booking.models import OutboxMessage

    jane = make_patient("Jane Doe", email="jane.doe@example.com")
    day = coming_tuesday()
    visit = book_appointment(
        session_type=get(SessionType, slug="massage"),
        starts_at=at(day, 10),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=jane,
        staff_user=desk_user(),
    )
    queued = text(desk.get(f"/diary/patients/{jane.id}"))
    assert "Confirmation email to j…@example.com: queued on" in queued
    assert "jane.doe@example.com: queued" not in queued

    message = get(OutboxMessage, appointment_id=visit.id, kind="confirmation")
    message.last_error = "ConnectionRefusedError: [Errno 111] Connection refused"
    message.attempts = 1
    db.session.commit()
    failing = text(desk.get(f"/diary/appointments/{visit.id}"))
    assert "not sent yet: the mail server refused the connection; will try again on" in failing
    assert "Errno 111" not in failing

    message.status, message.sent_at, message.last_error = "sent", at(day, 9, 2), ""
    db.session.commit()
    local = at(day, 9, 2).astimezone(LONDON)
    sent = text(desk.get(f"/diary/patients/{jane.id}"))
    assert (
        f"Confirmation email sent to j…@example.com on {local:%a} {local.day} {local:%b} at 09:02"
        in sent
    )
    # Which confirmation: its subject names the session and the time, on the page itself.
    assert f'<q class="message-subject">{message.subject}</q>' in sent
    assert f"{day.day}" in message.subject and "10:00" in message.subject

    page = desk.get(f"/diary/patients/{jane.id}").get_data(as_text=True)
    resent = desk.post(
        f"/diary/messages/{message.id}/resend",
        data={"csrf_token": csrf_token(page), "back": f"/diary/patients/{jane.id}"},
    )
    assert resent.status_code == 302 and resent.headers["Location"].endswith(
        f"/diary/patients/{jane.id}"
    )
    copies = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"{message.dedupe_key}~resend:%"),
            OutboxMessage.id != message.id,
        )
    ).all()
    assert len(copies) == 1 and copies[0].status == "pending"
    assert copies[0].recipient == "jane.doe@example.com" and copies[0].appointment_id == visit.id
    assert outbox.MAX_ATTEMPTS > 0


def test_the_outbox_shows_sent_mail_and_finds_a_patients_messages_by_post(desk):
    from booking.models import OutboxMessage

    maria = make_patient("María Núñez", email="maria.n@example.com")
    other = make_patient("Other Person", email="other@example.com")
    for patient, hour in ((maria, 10), (other, 11)):
        book_appointment(
            session_type=get(SessionType, slug="massage"),
            starts_at=at(coming_tuesday(), hour),
            practitioner=get(Practitioner, slug="colette-assor"),
            patient=patient,
            staff_user=desk_user(),
        )
    for message in db.session.scalars(sa.select(OutboxMessage)):
        message.status, message.sent_at = "sent", at(PAST_TUESDAY, 12)
    db.session.commit()
    page = desk.get("/diary/outbox")
    html = text(page)
    assert "Sent (2 most recent)" in html and "m…@example.com" in html

    found = desk.post(
        "/diary/outbox",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "query": "maria nunez"},
    )
    results = text(found)
    section = results[results.index("A patient's messages") : results.index("Failed (")]
    assert "María Núñez" in section and "Confirmation email sent to m…@example.com" in section
    assert "Other Person" not in section
