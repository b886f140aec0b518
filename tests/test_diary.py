"""The receptionist's diary: day and week views, phone bookings, moves, blocks, attendance."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic.appointments import PatientDetails, book_appointment
from booking.clinic.localtime import local_to_utc
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Course,
    CourseProduct,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
    TimeOff,
    WorkingHours,
)
from tests.factories import make_appointment, make_patient
from tests.forms import csrf_token
from tests.test_booking import day_label

LONDON = ZoneInfo("Europe/London")


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def next_weekday(weekday: int, *, at_least_days: int = 3) -> date:
    day = datetime.now(LONDON).date() + timedelta(days=at_least_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_to_utc(day, time(hour, minute), LONDON)


def compact(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def page_token(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return csrf_token(response.get_data(as_text=True))


def cancel_from_the_page(client, url: str, reason: str | None, requested_by: str | None, **options):
    """The cancel form of the appointment page at `url`, sent as staff send it (None leaves
    a field out)."""
    data = {"csrf_token": page_token(client, url)}
    if reason is not None:
        data["cancel-reason"] = reason
    if requested_by is not None:
        data["cancel-requested_by"] = requested_by
    return client.post(f"{url}/cancel", data=data, **options)


def book_massage_with_colette(starts_at: datetime, name: str, email: str) -> Appointment:
    """An appointment booked the way a patient books one online."""
    return book_appointment(
        session_type=get(SessionType, slug="massage"),
        starts_at=starts_at,
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails(name, email, None),
    )


def book_by_phone(desk, url: str, **details):
    """Post the desk's booking form for a new caller, as the receptionist fills it in."""
    return desk.post(
        url,
        data={
            "csrf_token": page_token(desk, url),
            "action": "book",
            "patient_id": "new",
            **details,
        },
    )


def refreshed(instance):
    db.session.expire_all()
    return db.session.get(type(instance), instance.id)


@pytest.fixture
def receptionist(demo):
    return get(StaffUser, email="reception@clinic.example")


@pytest.fixture
def desk(app, demo, receptionist, sign_in):
    """The demo receptionist, signed in with the password seed-demo printed."""
    client = app.test_client()
    assert sign_in(client, receptionist, password=demo).status_code == 302
    return client


def test_the_receptionist_takes_a_phone_booking_moves_it_blocks_an_afternoon_and_marks_attendance(
    desk, receptionist
):
    tuesday = next_weekday(1)
    day_page = desk.get(f"/diary/day/{tuesday}").get_data(as_text=True)
    colette = get(Practitioner, slug="colette-assor")
    book_url = f"/diary/book?practitioner={colette.id}&start={compact(at(tuesday, 10))}"
    assert book_url.replace("&", "&amp;") in day_page

    # A phone booking for a new caller.
    response = book_by_phone(
        desk,
        book_url,
        name="Tomasz Nowak",
        phone="07700 900777",
        session_type_id=get(SessionType, slug="massage").id,
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    appointment = get(Appointment)
    assert response.location == f"/diary/appointments/{appointment.id}"
    assert appointment.starts_at == at(tuesday, 10)
    assert appointment.source == "staff"
    assert appointment.patient.phone == "07700 900777"
    assert "Tomasz Nowak" in desk.get(f"/diary/day/{tuesday}").get_data(as_text=True)

    # The caller rings back: move it to 14:00 the same day.
    appointment_url = f"/diary/appointments/{appointment.id}"
    token = page_token(desk, appointment_url)
    response = desk.post(
        f"{appointment_url}/move",
        data={
            "csrf_token": token,
            "move-day": tuesday.isoformat(),
            "move-at": "14:00",
            "move-practitioner_id": colette.id,
        },
    )
    assert response.status_code == 302
    moved = refreshed(appointment)
    assert moved.starts_at == at(tuesday, 14)
    assert moved.sequence == 1

    # Colette needs the afternoon off: the block is saved, and the appointment inside it listed.
    token = page_token(desk, "/diary/time-off")
    response = desk.post(
        "/diary/time-off",
        data={
            "csrf_token": token,
            "practitioner_id": colette.id,
            "first_day": tuesday.isoformat(),
            "starts_at": "13:00",
            "ends_at": "18:00",
            "reason": "Training",
        },
    )
    assert response.status_code == 302
    block = get(TimeOff)
    assert (block.starts_at, block.ends_at) == (at(tuesday, 13), at(tuesday, 18))
    block_page = desk.get(response.location).get_data(as_text=True)
    assert "These appointments fall inside the blocked time" in block_page
    assert f'href="{appointment_url}"' in block_page
    assert "Blocked: Training" in desk.get(f"/diary/day/{tuesday}").get_data(as_text=True)

    # Yesterday's appointments are marked attended and no-show.
    yesterday = datetime.now(LONDON).date() - timedelta(days=1)
    first = make_appointment(at(yesterday, 9), patient="Came In")
    second = make_appointment(at(yesterday, 11), patient="Stayed Away")
    yesterday_page = desk.get(f"/diary/day/{yesterday}").get_data(as_text=True)
    assert "Came In" in yesterday_page and "Stayed Away" in yesterday_page
    for visit, status in ((first, "attended"), (second, "no_show")):
        url = f"/diary/appointments/{visit.id}"
        token = page_token(desk, url)
        response = desk.post(
            f"{url}/attendance", data={"csrf_token": token, "attendance-status": status}
        )
        assert response.status_code == 302
        assert refreshed(visit).status == status

    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {
        "appointment.booked",
        "appointment.moved",
        "time_off.added",
        "appointment.attendance",
    } <= actions
    # Every event of the call is the receptionist's (the demo's own staff.added has none).
    assert all(
        event.staff_user_id == receptionist.id
        for event in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action != "staff.added")
        )
    )


def test_a_phone_booking_finds_an_existing_patient_by_phone(desk):
    known = Patient(name="Ada Returning", email="ada@example.org", phone="07700 900123")
    db.session.add(known)
    db.session.commit()
    wednesday = next_weekday(2)
    sam = get(Practitioner, slug="sam-okafor")
    url = f"/diary/book?practitioner={sam.id}&start={compact(at(wednesday, 11))}"
    found = desk.post(
        url, data={"csrf_token": page_token(desk, url), "action": "search", "query": "900123"}
    ).get_data(as_text=True)
    assert f'value="{known.id}"' in found and "Ada Returning" in found
    # Sam does not offer acupuncture: only his session types are offered.
    assert "Acupuncture" not in found
    response = desk.post(
        url,
        data={
            "csrf_token": csrf_token(found),
            "action": "book",
            "patient_id": str(known.id),
            "session_type_id": get(SessionType, slug="stretching").id,
        },
    )
    assert response.status_code == 302
    assert get(Appointment).patient_id == known.id
    assert count(Patient) == 1


def test_a_phone_booking_on_a_taken_time_says_so_and_keeps_what_was_typed(desk):
    tuesday = next_weekday(1)
    colette = get(Practitioner, slug="colette-assor")
    book_appointment(
        session_type=get(SessionType, slug="acupuncture"),
        starts_at=at(tuesday, 9),
        practitioner=colette,
        patient=PatientDetails("First Caller", "first@example.org", None),
    )
    url = f"/diary/book?practitioner={colette.id}&start={compact(at(tuesday, 9, 15))}"
    response = book_by_phone(
        desk,
        url,
        name="Second Caller",
        email="second@example.org",
        session_type_id=get(SessionType, slug="acupuncture").id,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "That time is taken: Colette Assor has an appointment from" in html
    assert "just been taken" not in html
    assert 'value="Second Caller"' in html
    assert count(Appointment) == 1


def test_a_new_patient_needs_an_email_or_a_phone(desk):
    tuesday = next_weekday(1)
    colette = get(Practitioner, slug="colette-assor")
    url = f"/diary/book?practitioner={colette.id}&start={compact(at(tuesday, 9))}"
    response = book_by_phone(
        desk, url, name="No Contact", session_type_id=get(SessionType, slug="massage").id
    )
    assert response.status_code == 422
    assert "Enter an email address or a phone number" in response.get_data(as_text=True)
    assert count(Appointment) == 0


def test_staff_may_book_inside_the_online_notice_period(desk):
    now = datetime.now(LONDON)
    colette = get(Practitioner, slug="colette-assor")
    colette.working_hours = [
        WorkingHours(weekday=weekday, starts_at=time(0), ends_at=time(23, 45))
        for weekday in range(7)
    ]
    db.session.commit()
    soon = (now + timedelta(minutes=45)).replace(second=0, microsecond=0)
    soon = soon.replace(minute=soon.minute - soon.minute % 15)
    stretching = get(SessionType, slug="stretching")
    if soon + timedelta(minutes=stretching.duration_minutes) > datetime.combine(
        soon.date(), time(23, 45), tzinfo=LONDON
    ):
        # Late in the evening the session would run past her hours (a 23:30 start ends at
        # midnight, whose time of day is not past 23:45): take the first slot of the next
        # day, still well inside the two hours' online notice.
        soon = datetime.combine(soon.date() + timedelta(days=1), time(0), tzinfo=LONDON)
    starts_at = soon.astimezone(UTC)
    url = f"/diary/book?practitioner={colette.id}&start={compact(starts_at)}"
    response = book_by_phone(
        desk,
        url,
        name="Walk In",
        phone="07700 900888",
        session_type_id=get(SessionType, slug="stretching").id,
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert get(Appointment).starts_at == starts_at


def test_cancelling_needs_a_reason_and_tells_the_patient(desk):
    tuesday = next_weekday(1)
    appointment = book_massage_with_colette(at(tuesday, 11), "Cancel Me", "cancel@example.org")
    url = f"/diary/appointments/{appointment.id}"
    refused = cancel_from_the_page(desk, url, None, None)
    assert refused.status_code == 422
    assert refreshed(appointment).status == AppointmentStatus.BOOKED
    response = cancel_from_the_page(desk, url, "Practitioner unwell", "clinic")
    assert response.status_code == 302
    cancelled = refreshed(appointment)
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancelled_by == "clinic"
    assert cancelled.cancel_requested_by == "clinic"
    assert cancelled.cancellation_reason == "Practitioner unwell"
    day_page = desk.get(f"/diary/day/{tuesday}").get_data(as_text=True)
    assert "Cancelled" in day_page


def test_staff_must_say_who_asked_to_cancel_and_a_patients_request_is_theirs(desk):
    from booking.models import OutboxMessage

    tuesday = next_weekday(1)
    appointment = book_massage_with_colette(at(tuesday, 11), "Rang Us", "rang@example.org")
    url = f"/diary/appointments/{appointment.id}"
    page = desk.get(url).get_data(as_text=True)
    assert "Who asked to cancel?" in page
    assert 'type="radio" value="patient"' in page and 'type="radio" value="clinic"' in page
    refused = cancel_from_the_page(desk, url, "Rang to say she is away", None)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Choose who asked to cancel: the patient or the clinic." in html
    assert 'value="Rang to say she is away"' in html  # what was typed is kept
    assert refreshed(appointment).status == AppointmentStatus.BOOKED
    strange = cancel_from_the_page(desk, url, "Rang", "the-cat")
    assert strange.status_code == 422
    assert refreshed(appointment).status == AppointmentStatus.BOOKED

    done = cancel_from_the_page(
        desk, url, "Rang to say she is away", "patient", follow_redirects=True
    )
    assert "The appointment has been cancelled." in done.get_data(as_text=True)
    cancelled = refreshed(appointment)
    # Staff did it (no undo online, no "cancelled online" notice); the patient asked.
    assert (cancelled.cancelled_by, cancelled.cancel_requested_by) == ("clinic", "patient")
    assert "by clinic, at the patient's request" in desk.get(url).get_data(as_text=True)
    kinds = db.session.scalars(
        sa.select(OutboxMessage.kind).where(OutboxMessage.appointment_id == appointment.id)
    ).all()
    assert "cancelled" in kinds and "reception_cancelled" not in kinds


def test_attendance_cannot_be_recorded_before_the_appointment(desk):
    tuesday = next_weekday(1)
    appointment = book_massage_with_colette(at(tuesday, 11), "Future Visit", "future@example.org")
    url = f"/diary/appointments/{appointment.id}"
    desk.post(
        f"{url}/attendance",
        data={"csrf_token": page_token(desk, url), "attendance-status": "attended"},
    )
    assert "only be recorded once the appointment has started" in desk.get(url).get_data(
        as_text=True
    )
    assert refreshed(appointment).status == AppointmentStatus.BOOKED


def test_the_staff_note_is_saved_and_audited_without_its_text(desk):
    yesterday = datetime.now(LONDON).date() - timedelta(days=1)
    appointment = make_appointment(at(yesterday, 10))
    url = f"/diary/appointments/{appointment.id}"
    desk.post(
        f"{url}/note",
        data={"csrf_token": page_token(desk, url), "note-note": "Prefers the ground floor room"},
    )
    assert refreshed(appointment).staff_note == "Prefers the ground floor room"
    event = get(AuditEvent, action="appointment.note")
    assert "ground floor" not in str(event.details)


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_the_day_view_puts_a_nine_oclock_appointment_in_the_nine_oclock_row_when_clocks_change(
    desk, day
):
    colette = get(Practitioner, slug="colette-assor")
    colette.working_hours.append(WorkingHours(weekday=6, starts_at=time(8), ends_at=time(12)))
    db.session.commit()
    make_appointment(at(day, 9), patient="Sunday Patient")
    html = desk.get(f"/diary/day/{day}").get_data(as_text=True)
    rows = re.findall(r'<th scope="row" class="row-time">(\d\d:\d\d)</th>(.*?)</tr>', html, re.S)
    assert [label for label, _ in rows][:5] == ["08:00", "08:15", "08:30", "08:45", "09:00"]
    row_of_patient = next(label for label, cells in rows if "Sunday Patient" in cells)
    assert row_of_patient == "09:00"
    assert "09:00–09:45" in html
    # The 45-minute massage fills three 15-minute rows.
    assert 'rowspan="3"' in html


def test_an_appointment_across_the_repeated_hour_fills_every_row_it_takes(desk):
    # The night the clocks go back, 00:30 BST + 90 minutes is 01:00 GMT: on the wall it
    # "ends" at 01:00, yet it fills 00:30 to the end of the first 01:00-02:00 as well.
    from booking.diary import grid

    colette = get(Practitioner, slug="colette-assor")
    colette.working_hours.append(WorkingHours(weekday=6, starts_at=time(0), ends_at=time(4)))
    db.session.commit()
    night = make_appointment(datetime(2026, 10, 24, 23, 30, tzinfo=UTC), session="full-combination")
    rows = [time(hour, minute) for hour in range(3) for minute in (0, 15, 30, 45)]
    cells = grid.build_column(
        colette, date(2026, 10, 25), rows, step=15, zone=LONDON, appointments=[night], blocks=[]
    )
    kinds = {f"{at:%H:%M}": (cell.kind, cell.rowspan) for at, cell in zip(rows, cells, strict=True)}
    assert kinds["00:15"] == ("free", 1)
    assert kinds["00:30"] == ("appointment", 6)
    assert [kinds[t][0] for t in ("00:45", "01:00", "01:15", "01:30", "01:45")] == ["covered"] * 5
    assert kinds["02:00"] == ("free", 1)


def test_course_sessions_show_their_place_in_the_course(desk):
    patient = Patient(name="Course Patient", email="course@example.org")
    product = get(CourseProduct)
    course = Course(
        patient=patient,
        product=product,
        session_type=product.session_type,
        status="active",
        sessions_total=10,
        credits_remaining=7,
        price_pence=product.price_pence,
    )
    db.session.add(course)
    db.session.commit()
    monday = next_weekday(0)
    visits = [
        make_appointment(
            at(monday + timedelta(days=offset), 9),
            session="full-combination",
            patient=patient,
            course=course,
        )
        for offset in (0, 1, 2)
    ]
    html = desk.get(f"/diary/day/{monday + timedelta(days=2)}").get_data(as_text=True)
    assert "Course 3 of 10" in html
    patient_page = desk.get(f"/diary/patients/{patient.id}").get_data(as_text=True)
    assert "7 of 10" in patient_page
    assert "Course of 10 full combination sessions" in patient_page
    assert all(f"/diary/appointments/{visit.id}" in patient_page for visit in visits)


def test_the_date_picker_and_day_navigation(desk):
    response = desk.get("/diary/?date=2026-12-01")
    assert response.status_code == 302 and response.location == "/diary/day/2026-12-01"
    html = desk.get("/diary/day/2026-12-01").get_data(as_text=True)
    assert 'href="/diary/day/2026-11-30"' in html and 'href="/diary/day/2026-12-02"' in html
    assert desk.get("/diary/day/not-a-date").status_code == 404


def test_the_printable_day_list_shows_each_practitioners_appointments(desk):
    yesterday = datetime.now(LONDON).date() - timedelta(days=1)
    make_appointment(
        at(yesterday, 9), patient=make_patient("Printed Patient", phone="07700 900555")
    )
    html = desk.get(f"/diary/day/{yesterday}/print").get_data(as_text=True)
    assert "Printed Patient" in html and "07700 900555" in html
    assert "Colette Assor" in html and "Sam Okafor" in html


def test_the_week_view_starts_on_monday(desk):
    wednesday = next_weekday(2)
    monday = wednesday - timedelta(days=2)
    response = desk.get(f"/diary/week/sam-okafor/{wednesday}")
    assert response.location == f"/diary/week/sam-okafor/{monday}"
    make_appointment(at(wednesday, 10), practitioner="sam-okafor", patient="Week Patient")
    html = desk.get(response.location).get_data(as_text=True)
    assert "Week Patient" in html
    assert html.count('scope="col"><a href="/diary/day/') == 7


def test_patients_are_found_by_name_email_or_phone_without_putting_them_in_the_url(desk):
    db.session.add_all(
        [
            Patient(name="Grace Hopper", email="grace@example.org", phone="07700 900321"),
            Patient(name="Alan Turing", email="alan@example.org", phone="07700 900654"),
        ]
    )
    db.session.commit()
    for query in ("hopper", "GRACE@example", "900 321"):
        html = desk.post(
            "/diary/patients",
            data={"csrf_token": page_token(desk, "/diary/patients"), "query": query},
        ).get_data(as_text=True)
        assert "Grace Hopper" in html and "Alan Turing" not in html


def test_working_hours_are_edited_with_several_intervals_a_day(desk):
    sam = get(Practitioner, slug="sam-okafor")
    url = "/diary/working-hours/sam-okafor"
    form = {f"day_{weekday}": "" for weekday in range(7)}
    form.update(day_0="09:00-12:00, 13:00-17:30", day_4="10:00-14:00")
    response = desk.post(url, data={**form, "csrf_token": page_token(desk, url)})
    assert response.status_code == 302
    db.session.expire_all()
    hours = [
        (h.weekday, h.starts_at, h.ends_at) for h in get(Practitioner, id=sam.id).working_hours
    ]
    assert hours == [
        (0, time(9), time(12)),
        (0, time(13), time(17, 30)),
        (4, time(10), time(14)),
    ]
    assert get(AuditEvent, action="working_hours.changed").details["after"]["Monday"] == (
        "09:00-12:00, 13:00-17:30"
    )


@pytest.mark.parametrize(
    ("monday", "message"),
    [
        ("09:00-12:00, 11:00-15:00", "overlaps"),
        ("17:00-09:00", "must end after it starts"),
        ("nine till five", "Could not read"),
    ],
)
def test_bad_working_hours_are_refused_and_nothing_changes(desk, monday, message):
    url = "/diary/working-hours/colette-assor"
    before = len(get(Practitioner, slug="colette-assor").working_hours)
    response = desk.post(url, data={"day_0": monday, "csrf_token": page_token(desk, url)})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(get(Practitioner, slug="colette-assor").working_hours) == before


def test_whole_days_off_are_blocked_midnight_to_midnight_and_can_be_removed(desk):
    friday = next_weekday(4)
    colette = get(Practitioner, slug="colette-assor")
    token = page_token(desk, "/diary/time-off")
    desk.post(
        "/diary/time-off",
        data={
            "csrf_token": token,
            "practitioner_id": colette.id,
            "first_day": friday.isoformat(),
            "last_day": (friday + timedelta(days=1)).isoformat(),
            "reason": "Holiday",
        },
    )
    block = get(TimeOff)
    assert block.starts_at == at(friday, 0)
    assert block.ends_at == at(friday + timedelta(days=2), 0)
    url = f"/diary/time-off/{block.id}"
    response = desk.post(f"{url}/remove", data={"csrf_token": page_token(desk, url)})
    assert response.status_code == 302
    assert count(TimeOff) == 0
    assert get(AuditEvent, action="time_off.removed") is not None


def test_closing_the_clinic_blocks_everyone_and_names_whose_patients_to_move(desk, client):
    # A bank holiday Monday; Colette already has a patient booked that morning.
    monday = next_weekday(0)
    booked = book_massage_with_colette(at(monday, 10), "Ruth Bell", "ruth@example.org")
    token = page_token(desk, "/diary/time-off")
    response = desk.post(
        "/diary/time-off",
        data={
            "csrf_token": token,
            "practitioner_id": "0",
            "first_day": monday.isoformat(),
            "reason": "Bank holiday",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    active = db.session.scalars(sa.select(Practitioner).filter_by(active=True)).all()
    blocks = db.session.scalars(sa.select(TimeOff)).all()
    assert sorted(b.practitioner_id for b in blocks) == sorted(p.id for p in active)
    assert all(
        (b.starts_at, b.ends_at) == (at(monday, 0), at(monday, 0) + timedelta(days=1))
        for b in blocks
    )
    assert f"Time blocked for all {len(active)} practitioners, but 1 appointment falls" in page
    assert "(Colette Assor)" in page
    # The booking is kept for the receptionist to move; patients can book nothing that day.
    assert refreshed(booked).status == AppointmentStatus.BOOKED.value
    times = client.get(f"/book/massage/times?practitioner=any&first={monday}")
    assert day_label(times.get_data(as_text=True), monday) == "Full"
    added = db.session.scalars(sa.select(AuditEvent).filter_by(action="time_off.added")).all()
    assert len(added) == len(active)


def test_closing_the_clinic_is_all_or_nothing(desk, monkeypatch):
    from booking.clinic import audit

    calls = []
    record = audit.record

    def fail_on_the_second(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", fail_on_the_second)
    token = page_token(desk, "/diary/time-off")
    desk.application.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = desk.post(
            "/diary/time-off",
            data={
                "csrf_token": token,
                "practitioner_id": "0",
                "first_day": next_weekday(0).isoformat(),
                "reason": "Bank holiday",
            },
        )
    finally:
        desk.application.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    db.session.rollback()
    assert count(TimeOff) == 0


def test_a_block_with_only_one_time_is_refused(desk):
    token = page_token(desk, "/diary/time-off")
    response = desk.post(
        "/diary/time-off",
        data={
            "csrf_token": token,
            "practitioner_id": get(Practitioner, slug="colette-assor").id,
            "first_day": next_weekday(4).isoformat(),
            "starts_at": "13:00",
        },
    )
    assert response.status_code == 422
    assert count(TimeOff) == 0


def test_the_audit_log_is_newest_first_and_paginated(admin_client, demo):
    from booking.clinic import audit

    staff = admin_client.user
    for number in range(55):
        audit.record(staff, f"test.event{number}", staff)
    db.session.commit()
    first = admin_client.get("/diary/audit-log").get_data(as_text=True)
    assert "test.event54" in first and "test.event4<" not in first
    assert 'href="/diary/audit-log?page=2"' in first
    second = admin_client.get("/diary/audit-log?page=2").get_data(as_text=True)
    assert "test.event4<" in second and "test.event54" not in second


def test_a_practitioner_sees_only_their_own_column(practitioner_client):
    own = practitioner_client.user.practitioner
    other = get(Practitioner, slug="sam-okafor")
    assert own.slug == "colette-assor"
    tuesday = next_weekday(1)
    html = practitioner_client.get(f"/diary/day/{tuesday}").get_data(as_text=True)
    assert "Colette Assor" in html and "Sam Okafor" not in html
    # A practitioner does not take phone bookings, so no booking links.
    assert "/diary/book?" not in html
    assert practitioner_client.get(f"/diary/week/{own.slug}/{tuesday}").status_code == 302
    assert practitioner_client.get(f"/diary/week/{other.slug}/{tuesday}").status_code == 403
    theirs = make_appointment(at(tuesday, 11), practitioner="sam-okafor", patient="Not Yours")
    mine = make_appointment(at(tuesday, 11), practitioner="colette-assor", patient="Yours")
    assert practitioner_client.get(f"/diary/appointments/{theirs.id}").status_code == 403
    assert practitioner_client.get(f"/diary/appointments/{mine.id}").status_code == 200
    url = f"/diary/appointments/{mine.id}"
    token = page_token(practitioner_client, url)
    refused = practitioner_client.post(
        f"/diary/appointments/{theirs.id}/note", data={"csrf_token": token, "note-note": "x"}
    )
    assert refused.status_code == 403


def test_one_practitioners_time_off_blocks_only_their_own_column(desk):
    # Sam's holiday on a Tuesday, when both work: Colette's column stays bookable.
    tuesday = next_weekday(1)
    sam = get(Practitioner, slug="sam-okafor")
    desk.post(
        "/diary/time-off",
        data={
            "csrf_token": page_token(desk, "/diary/time-off"),
            "practitioner_id": sam.id,
            "first_day": tuesday.isoformat(),
            "reason": "Sam on holiday",
        },
    )
    assert get(TimeOff, practitioner_id=sam.id) is not None
    page = desk.get(f"/diary/day/{tuesday}").get_data(as_text=True)
    assert "Blocked: Sam on holiday" in page
    assert "with Sam Okafor at" not in page
    # Colette's working rows are still offered (10:00 is inside her morning).
    assert "with Colette Assor at 10:00" in page


def test_staff_are_told_truly_whether_the_patient_is_emailed(desk):
    from booking.models import OutboxMessage

    tuesday = next_weekday(1)
    emailed = book_massage_with_colette(at(tuesday, 11), "Has Email", "has@example.org")
    url = f"/diary/appointments/{emailed.id}"
    done = cancel_from_the_page(
        desk, url, "Practitioner unwell", "clinic", follow_redirects=True
    ).get_data(as_text=True)
    assert "An email to has@example.org is queued for sending." in done
    assert count(OutboxMessage) > 0

    # A caller with only a phone number: nothing can be sent, and the message says so.
    before = count(OutboxMessage)
    phoned = make_appointment(
        at(tuesday, 15), patient=make_patient("Phone Only", email="", phone="07700 900555")
    )
    url = f"/diary/appointments/{phoned.id}"
    done = cancel_from_the_page(
        desk, url, "Practitioner unwell", "clinic", follow_redirects=True
    ).get_data(as_text=True)
    assert "No email is sent: we hold no address. Please phone them on 07700 900555." in done
    assert "told" not in done
    assert count(OutboxMessage) == before
