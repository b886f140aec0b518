"""Patients book online: the flow, bad input, the manage link, and no double booking."""

import re
import threading
import time as clock
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError
from booking.clinic.appointments import (
    PatientDetails,
    TooLateToChange,
    book_appointment,
    cancel_appointment,
    move_appointment,
)
from booking.clinic.localtime import local_to_utc
from booking.clinic.tokens import appointment_uid_from_token, manage_token
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Patient,
    Practitioner,
    SessionType,
    TimeOff,
)
from tests.at_once import race
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")


def next_weekday(weekday: int, *, at_least_days: int = 3):
    """A local date at least a few days ahead, on the given weekday (Monday is 0)."""
    day = datetime.now(LONDON).date() + timedelta(days=at_least_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def start_at(day, hour, minute=0):
    return local_to_utc(day, time(hour, minute), LONDON)


def compact(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def details_url(slot: datetime, slug="full-combination", practitioner="colette-assor"):
    return f"/book/{slug}/details?practitioner={practitioner}&start={compact(slot)}"


GOOD_ANSWERS = {
    "name": "Priya Shah",
    "email": "Priya.Shah@Example.org",
    "phone": "07700 900123",
    "note": "Pain down the left leg for three weeks.",
    "cauda_equina": "no",
    "other_warning": "no",
    "consent": "y",
}


def submit_details(client, url, **changes):
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    data = {**GOOD_ANSWERS, **changes, "csrf_token": csrf_token(page.get_data(as_text=True))}
    return client.post(url, data={k: v for k, v in data.items() if v is not None})


def test_a_patient_books_a_combination_session_and_cancels_it_from_the_manage_link(client, demo):
    listing = client.get("/book").get_data(as_text=True)
    assert "Full combination session" in listing and "1 h 30 min" in listing

    # Only Colette offers the full combination, so the practitioner step is skipped.
    step = client.get("/book/full-combination")
    assert step.status_code == 302 and "practitioner=colette-assor" in step.location

    day = next_weekday(1)  # a Tuesday
    times = client.get(
        f"/book/full-combination/times?practitioner=colette-assor&first={day}&day={day}"
    ).get_data(as_text=True)
    assert ">09:00<" in times
    assert details_url(start_at(day, 9)).replace("&", "&amp;") in times

    response = submit_details(client, details_url(start_at(day, 9)))
    assert response.status_code == 302
    assert response.location.startswith("/book/confirmed/")

    appointment = get(Appointment)
    assert appointment.starts_at == start_at(day, 9)
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=90)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.patient.email == "priya.shah@example.org"
    assert appointment.patient.health_consent_at is not None
    assert appointment.source == "online"

    confirmed = client.get(response.location).get_data(as_text=True)
    assert "You are booked" in confirmed
    assert "at 09:00" in confirmed
    manage_link = re.search(r'href="(/manage/[^"/]+)"', confirmed).group(1)
    # The link names the appointment only through a signed random uid, never the patient.
    token = manage_link.split("/manage/")[1]
    assert appointment_uid_from_token(token) == appointment.uid
    assert "priya" not in manage_link.lower() and "shah" not in manage_link.lower()

    assert "Cancel this appointment" in client.get(manage_link).get_data(as_text=True)
    # "Cancel this appointment" leads to a review; its button cancels.
    review = client.get(f"{manage_link}/cancel").get_data(as_text=True)
    cancel = client.post(f"{manage_link}/cancel", data={"csrf_token": csrf_token(review)})
    assert cancel.status_code == 302
    db.session.expire_all()
    assert get(Appointment).status == AppointmentStatus.CANCELLED
    assert get(Appointment).cancelled_by == "patient"
    assert "was cancelled" in client.get(manage_link).get_data(as_text=True)


def day_label(page: str, day) -> str:
    """What the day picker says under a date that has no times: "Full" or "Closed"."""
    cell = re.search(
        rf'<span class="date">{day.day} {day:%b}</span>\s*<span class="slots">([^<]+)</span>',
        page,
    )
    assert cell, f"{day} is not shown without times"
    return cell.group(1)


def test_the_times_page_tells_a_closed_day_from_a_full_one(client, demo):
    sunday = next_weekday(6)  # nobody works on Sundays in the demo clinic
    monday = sunday + timedelta(days=1)
    colette = get(Practitioner, slug="colette-assor")
    db.session.add(
        TimeOff(
            practitioner=colette,
            starts_at=start_at(monday, 0),
            ends_at=start_at(monday + timedelta(days=1), 0),
            reason="Course",
        )
    )
    db.session.commit()
    page = client.get(
        f"/book/full-combination/times?practitioner=colette-assor&first={sunday}"
    ).get_data(as_text=True)
    assert day_label(page, sunday) == "Closed"
    # Colette works on Mondays, so a Monday with no times is full, not closed.
    assert day_label(page, monday) == "Full"


def test_first_available_books_whoever_is_free(app, demo):
    massage = get(SessionType, slug="massage")
    colette = get(Practitioner, slug="colette-assor")
    day = next_weekday(2)  # Wednesday: both work at 10:00
    slot = start_at(day, 10)
    book_appointment(
        session_type=massage,
        starts_at=slot,
        practitioner=colette,
        patient=PatientDetails("First Patient", "first@example.org", "07700900001"),
    )
    second = book_appointment(
        session_type=massage,
        starts_at=slot,
        practitioner=None,
        patient=PatientDetails("Second Patient", "second@example.org", "07700900002"),
    )
    assert second.practitioner.slug == "sam-okafor"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"email": "not-an-email"}, "Enter an email address"),
        ({"phone": "call me"}, "Enter a phone number"),
        ({"name": ""}, "Enter your name"),
        ({"name": "x" * 121}, "120 characters or fewer"),
        ({"note": "y" * 501}, "500 characters or fewer"),
        ({"consent": None}, "We need your agreement"),
        ({"cauda_equina": None}, "Please answer this safety question"),
        ({"other_warning": "maybe"}, "Not a valid choice"),
    ],
)
def test_bad_details_write_nothing_and_say_what_to_fix(client, demo, answers, message):
    day = next_weekday(1)
    response = submit_details(client, details_url(start_at(day, 9)), **answers)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert count(Appointment) == 0 and count(Patient) == 0
    if answers.get("name") != "":
        # What the person typed is still there.
        assert "07700 900123" in html or answers.get("phone") in html


def test_a_cauda_equina_warning_sign_stops_online_booking(client, demo):
    day = next_weekday(1)
    response = submit_details(client, details_url(start_at(day, 9)), cauda_equina="yes")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<a href="tel:999">Call 999</a> or go to A&amp;E now' in html
    assert count(Appointment) == 0 and count(Patient) == 0


def test_other_warning_signs_send_the_patient_to_their_gp_first(client, demo):
    day = next_weekday(1)
    response = submit_details(client, details_url(start_at(day, 9)), other_warning="yes")
    assert '<a href="tel:111">call NHS 111</a>' in response.get_data(as_text=True)
    assert count(Appointment) == 0


@pytest.mark.parametrize("path", ["/", "/when-not-to-book"])
def test_emergency_numbers_on_the_information_pages_are_tap_to_call(client, demo, path):
    html = client.get(path).get_data(as_text=True)
    assert 'href="tel:999"' in html
    if path != "/":
        assert 'href="tel:111"' in html


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(client, demo):
    day = next_weekday(1)
    response = client.post(details_url(start_at(day, 9)), data=GOOD_ANSWERS)
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert count(Appointment) == 0


@pytest.mark.parametrize(
    "bad_start",
    [
        "yesterday",
        "20200101T0900Z",  # in the past
        "OFFGRID",  # replaced below: a start off the 15-minute grid
        "OUTOFHOURS",  # replaced below: 20:00, after hours
    ],
)
def test_times_we_never_offered_are_refused(client, demo, bad_start):
    day = next_weekday(1)
    bad_start = {
        "OFFGRID": compact(start_at(day, 9, 7)),
        "OUTOFHOURS": compact(start_at(day, 20)),
    }.get(bad_start, bad_start)
    url = f"/book/full-combination/details?practitioner=colette-assor&start={bad_start}"
    response = client.get(url)
    assert response.status_code == 302
    assert "/times" in response.location
    assert count(Appointment) == 0


def test_a_forged_start_in_the_post_is_refused(client, demo):
    day = next_weekday(1)
    good = details_url(start_at(day, 9))
    token = csrf_token(client.get(good).get_data(as_text=True))
    forged = details_url(start_at(day, 9, 7))
    response = client.post(forged, data={**GOOD_ANSWERS, "csrf_token": token})
    assert response.status_code == 409
    assert count(Appointment) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/book/no-such-treatment",
        "/book/no-such-treatment/times",
        "/book/full-combination/times?practitioner=nobody",
        "/book/full-combination/times?practitioner=sam-okafor",  # Sam does not offer it
    ],
)
def test_unknown_session_types_and_practitioners_get_a_404(client, demo, url):
    assert client.get(url).status_code == 404


def test_a_slot_taken_meanwhile_gets_a_clear_message(client, demo):
    day = next_weekday(1)
    url = details_url(start_at(day, 9))
    page = client.get(url)
    book_appointment(
        session_type=get(SessionType, slug="full-combination"),
        starts_at=start_at(day, 9),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails("Quick Patient", "quick@example.org", "07700900003"),
    )
    response = client.post(
        url, data={**GOOD_ANSWERS, "csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 409
    assert "That time has just been taken, please choose another." in response.get_data(
        as_text=True
    )
    assert count(Appointment) == 1


@pytest.fixture
def booked(app, demo):
    day = next_weekday(1, at_least_days=5)
    return book_appointment(
        session_type=get(SessionType, slug="full-combination"),
        starts_at=start_at(day, 10),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails("Manage Me", "manage@example.org", "07700900004"),
    )


def test_tampered_unknown_and_expired_manage_links_get_a_404(app, client, booked):
    token = manage_token(booked)
    assert client.get(f"/manage/{token}").status_code == 200
    assert client.get(f"/manage/{token[:-2]}xx").status_code == 404
    assert client.get("/manage/not-a-token").status_code == 404
    app.config["MANAGE_TOKEN_MAX_AGE_DAYS"] = -1
    try:
        assert client.get(f"/manage/{token}").status_code == 404
    finally:
        app.config["MANAGE_TOKEN_MAX_AGE_DAYS"] = 400


def test_a_patient_reschedules_to_another_free_time(client, booked):
    token = manage_token(booked)
    new_day = booked.starts_at.astimezone(LONDON).date() + timedelta(days=1)
    page = client.get(f"/manage/{token}/reschedule?first={new_day}&day={new_day}")
    html = page.get_data(as_text=True)
    assert ">14:00<" in html
    review = client.get(f"/manage/{token}/reschedule/review?start={compact(start_at(new_day, 14))}")
    response = client.post(
        f"/manage/{token}/reschedule",
        data={
            "csrf_token": csrf_token(review.get_data(as_text=True)),
            "start": compact(start_at(new_day, 14)),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    moved = get(Appointment)
    assert moved.starts_at == start_at(new_day, 14)
    assert moved.sequence == 1
    assert moved.uid == booked.uid


def test_patients_cannot_cancel_or_move_inside_the_notice_period(app, booked):
    just_inside = booked.starts_at - timedelta(hours=23)
    with pytest.raises(TooLateToChange, match="call us on 020 7946 0000"):
        cancel_appointment(booked, now=just_inside)
    with pytest.raises(TooLateToChange):
        move_appointment(booked, starts_at=booked.starts_at + timedelta(days=1), now=just_inside)
    db.session.expire_all()
    assert get(Appointment).status == AppointmentStatus.BOOKED


def test_the_manage_page_says_to_phone_inside_the_notice_period(client, demo):
    soon = datetime.now(UTC) + timedelta(hours=5)
    patient = Patient(name="Soon Patient", email="soon@example.org")
    appointment = Appointment(
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=patient,
        session_type=get(SessionType, slug="acupuncture"),
        starts_at=soon,
        ends_at=soon + timedelta(minutes=45),
    )
    db.session.add(appointment)
    db.session.commit()
    token = manage_token(appointment)
    html = client.get(f"/manage/{token}").get_data(as_text=True)
    assert "can no longer be\n      changed online" in html or "no longer be" in html
    assert "Cancel this appointment" not in html
    # The page offers no form; a hand-made POST (with a valid CSRF token) is still refused.
    token_source = client.get("/staff/sign-in").get_data(as_text=True)
    cancel = client.post(f"/manage/{token}/cancel", data={"csrf_token": csrf_token(token_source)})
    assert cancel.status_code == 302
    db.session.expire_all()
    assert get(Appointment).status == AppointmentStatus.BOOKED


def test_a_cancelled_appointment_frees_its_time(app, booked):
    cancel_appointment(booked)
    again = book_appointment(
        session_type=booked.session_type,
        starts_at=booked.starts_at,
        practitioner=booked.practitioner,
        patient=PatientDetails("Next Patient", "next@example.org", "07700900005"),
    )
    assert again.status == AppointmentStatus.BOOKED


def test_the_database_itself_refuses_overlapping_live_appointments(app, booked, backend):
    if backend != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL; SQLite relies on the lock")
    overlapping = Appointment(
        practitioner_id=booked.practitioner_id,
        patient_id=booked.patient_id,
        session_type_id=booked.session_type_id,
        starts_at=booked.starts_at + timedelta(minutes=30),
        ends_at=booked.ends_at + timedelta(minutes=30),
    )
    db.session.add(overlapping)
    with pytest.raises(sa.exc.IntegrityError, match="appointments_no_overlap"):
        db.session.commit()
    db.session.rollback()


def test_twenty_patients_racing_for_one_slot_get_exactly_one_booking(app, demo):
    day = next_weekday(3, at_least_days=4)
    slot = start_at(day, 14)
    session_type_id = get(SessionType, slug="full-combination").id
    practitioner_id = get(Practitioner, slug="colette-assor").id
    db.session.remove()

    def attempt(number: int) -> str:
        book_appointment(
            session_type=db.session.get(SessionType, session_type_id),
            starts_at=slot,
            practitioner=db.session.get(Practitioner, practitioner_id),
            patient=PatientDetails(f"Racer {number}", f"racer{number}@example.org", "07700900006"),
        )
        return "booked"

    outcomes = race(app, 20, attempt)

    assert len(outcomes) == 20
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("That time has just been taken, please choose another.") == 19
    live = db.session.scalars(
        sa.select(Appointment).where(Appointment.status != AppointmentStatus.CANCELLED)
    ).all()
    assert len(live) == 1


def test_booking_posts_are_rate_limited_per_address(rate_limited_client, demo):
    client = rate_limited_client
    url = "/book/full-combination/details?practitioner=colette-assor&start=20991231T1000Z"
    token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
    answers = [client.post(url, data={"csrf_token": token}).status_code for _ in range(21)]
    assert answers[:20] == [422] * 20
    assert answers[20] == 429
    assert count(Appointment) == 0


def test_a_booking_racing_a_practitioners_deactivation_is_refused(app, demo, backend):
    """The admin's check ("no future bookings") and the booking must not both pass."""
    colette = get(Practitioner, slug="colette-assor")
    massage = get(SessionType, slug="massage")
    day = next_weekday(2, at_least_days=4)
    colette_id = colette.id
    engine = db.engine
    counted = threading.Event()

    def deactivate_slowly():
        # What deactivation does: lock the row, count future bookings, then switch off.
        with engine.connect() as connection:
            if backend == "sqlite":
                connection.exec_driver_sql("COMMIT")  # leave the driver's implicit state
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            connection.execute(
                sa.select(Practitioner.id).where(Practitioner.id == colette_id).with_for_update()
            )
            connection.execute(
                sa.select(sa.func.count(Appointment.id)).where(
                    Appointment.practitioner_id == colette_id
                )
            )
            counted.set()
            clock.sleep(1)
            connection.execute(
                sa.update(Practitioner).where(Practitioner.id == colette_id).values(active=False)
            )
            connection.commit()

    admin = threading.Thread(target=deactivate_slowly)
    admin.start()
    assert counted.wait(10)
    with pytest.raises(DomainError):
        book_appointment(
            session_type=massage,
            starts_at=start_at(day, 10),
            practitioner=colette,
            patient=PatientDetails("Late Booker", "late@example.org", "07700900007"),
        )
    admin.join(10)
    assert count(Appointment) == 0


def test_choosing_a_different_time_keeps_the_day_and_what_was_typed(client, demo):
    day = next_weekday(1)
    first_url = details_url(start_at(day, 9))
    page = client.get(first_url).get_data(as_text=True)
    change = re.search(r'formaction="([^"]+)"', page).group(1).replace("&amp;", "&")
    typed = {
        "csrf_token": csrf_token(page),
        "name": "Priya Shah",
        "email": "priya@example.org",
        "phone": "07700 900123",
        "note": "Pain down the left leg.",
        "cauda_equina": "no",
    }
    response = client.post(change, data=typed)
    assert response.status_code == 302
    # Back to the same day's times, scrolled to them, not to the first fortnight.
    assert f"day={day.isoformat()}" in response.location
    assert f"first={day.isoformat()}" in response.location
    assert response.location.endswith("#times")
    # A new time: the details are filled in again; the safety answers are asked afresh.
    later = client.get(details_url(start_at(day, 11))).get_data(as_text=True)
    assert 'value="Priya Shah"' in later
    assert 'value="priya@example.org"' in later
    assert "Pain down the left leg." in later
    assert 'value="no" checked' not in later and "checked" not in later
    assert count(Appointment) == 0
    # Once booked, the kept details are gone.
    submit_details(client, details_url(start_at(day, 11)))
    assert count(Appointment) == 1
    again = client.get(details_url(start_at(day, 14))).get_data(as_text=True)
    assert 'value="Priya Shah"' not in again


def _outbox_subjects(address: str) -> list[str]:
    from booking.models import OutboxMessage

    db.session.expire_all()
    rows = db.session.scalars(sa.select(OutboxMessage).filter_by(recipient=address)).all()
    return [row.subject.split(":")[0] for row in rows]


def test_cancelling_online_is_reviewed_first_and_a_second_tap_is_not_a_failure(client, booked):
    token = manage_token(booked)
    manage = client.get(f"/manage/{token}").get_data(as_text=True)
    # The manage page only leads to the review; the review changes nothing by itself.
    assert f'href="/manage/{token}/cancel"' in manage
    review = client.get(f"/manage/{token}/cancel").get_data(as_text=True)
    assert "Cancel this appointment?" in review and "No, keep my appointment" in review
    db.session.expire_all()
    assert get(Appointment).status == AppointmentStatus.BOOKED

    data = {"csrf_token": csrf_token(review)}
    first = client.post(f"/manage/{token}/cancel", data=data, follow_redirects=True)
    second = client.post(f"/manage/{token}/cancel", data=data, follow_redirects=True)
    for response in (first, second):
        html = response.get_data(as_text=True)
        assert "Your appointment is cancelled." in html
        assert "already been cancelled" not in html
    assert _outbox_subjects("manage@example.org").count("Cancelled") == 1


def test_moving_online_is_reviewed_first_and_a_second_tap_moves_nothing_twice(client, booked):
    token = manage_token(booked)
    new_day = booked.starts_at.astimezone(LONDON).date() + timedelta(days=1)
    picker = client.get(f"/manage/{token}/reschedule?first={new_day}&day={new_day}")
    new_start = compact(start_at(new_day, 14))
    review_url = f"/manage/{token}/reschedule/review?start={new_start}"
    assert review_url in picker.get_data(as_text=True)
    review = client.get(review_url).get_data(as_text=True)
    assert "Move your appointment?" in review
    assert "From" in review and "To" in review and "14:00" in review
    db.session.expire_all()
    assert get(Appointment).starts_at == booked.starts_at

    data = {"csrf_token": csrf_token(review), "start": new_start}
    for _ in range(2):
        response = client.post(f"/manage/{token}/reschedule", data=data, follow_redirects=True)
        assert "Your appointment has been moved." in response.get_data(as_text=True)
    db.session.expire_all()
    moved = get(Appointment)
    assert moved.starts_at == start_at(new_day, 14)
    assert moved.sequence == 1
    assert _outbox_subjects("manage@example.org").count("Moved") == 1


def test_two_taps_on_move_sent_at_the_same_moment_both_say_moved(app, booked):
    """The page sends the version it showed: the second tap, which read the old time before
    the first moved it, found it changed and said so, under a move that had worked."""
    token = manage_token(booked)
    new_day = booked.starts_at.astimezone(LONDON).date() + timedelta(days=1)
    new_start = compact(start_at(new_day, 14))
    tabs = [app.test_client() for _ in range(2)]
    review_url = f"/manage/{token}/reschedule/review?start={new_start}"
    data = [
        {"csrf_token": csrf_token(tab.get(review_url).get_data(as_text=True)), "start": new_start}
        | {"sequence": str(booked.sequence)}
        for tab in tabs
    ]

    def send(number: int) -> str:
        tabs[number].post(f"/manage/{token}/reschedule", data=data[number])
        return tabs[number].get(f"/manage/{token}").get_data(as_text=True)

    pages = race(app, 2, send)

    for page in pages:
        assert "Your appointment has been moved." in page
        assert "flash-error" not in page
    db.session.rollback()  # end the test's own read, begun before the moves
    assert get(Appointment).starts_at == start_at(new_day, 14)
    assert _outbox_subjects("manage@example.org").count("Moved") == 1
