"""Requests a person can send that used to end in a server error: each gets an answer now.

Found by sending every route empty, huge, out-of-range and malformed values as each
kind of visitor. Each test sends one such request, checks the answer a person would
see, and that nothing was written that should not have been.
"""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.clinic.localtime import OUT_OF_REACH
from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    ClinicSettings,
    Practitioner,
    SessionType,
    StaffUser,
    TimeOff,
)
from tests.forms import csrf_token
from tests.ical_parser import parse_calendar
from tests.test_admin import page_token, post_settings
from tests.test_diary import book_massage_with_colette, next_weekday
from tests.test_team import post_form, practitioner_form

HUGE = "99999999999999999999"  # past 2**63: more than any database integer holds


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def desk(app, demo, sign_in):
    client = app.test_client()
    assert sign_in(client, get(StaffUser, email="reception@clinic.example"), password=demo)
    return client


@pytest.fixture
def colette(demo) -> Practitioner:
    return get(Practitioner, slug="colette-assor")


# Dates a long way off ---------------------------------------------------------------


def test_a_leave_to_the_end_of_the_century_keeps_the_feed_small_and_right(desk, client, colette):
    start = next_weekday(0)
    response = desk.post(
        "/diary/time-off",
        data={
            "csrf_token": page_token(desk, "/diary/time-off"),
            "practitioner_id": colette.id,
            "first_day": start.isoformat(),
            "last_day": "2099-12-30",
            "reason": "Leaving",
        },
    )
    assert response.status_code == 302
    feed = client.get(f"/feeds/{colette.feed_token}.ics")
    assert feed.status_code == 200
    # The time-zone block covers the feed's own year or two, not the whole century.
    assert len(feed.get_data()) < 10_000
    calendar = parse_calendar(feed.get_data())
    [zone] = calendar.components_named("VTIMEZONE")
    assert len(zone.components) <= 6
    [leave] = calendar.components_named("VEVENT")
    # Past the years the block covers, the end is written in UTC: still the right instant.
    assert leave.value("DTEND") == "20991231T000000Z"
    assert leave.instant("DTEND") == datetime(2099, 12, 31, tzinfo=UTC)


@pytest.mark.parametrize("day", ["9999-12-30", "0001-01-01", "1999-12-31", "2100-01-01"])
def test_time_off_out_of_reach_is_refused_with_a_message(desk, colette, day):
    response = desk.post(
        "/diary/time-off",
        data={
            "csrf_token": page_token(desk, "/diary/time-off"),
            "practitioner_id": colette.id,
            "first_day": "2026-12-01",
            "last_day": day,
        },
    )
    assert response.status_code == 422
    assert OUT_OF_REACH in response.get_data(as_text=True)
    assert count(TimeOff) == 0


@pytest.mark.parametrize("start", ["99991231T2359Z", "00010101T0000Z", "21000101T1000Z"])
def test_a_booking_link_with_a_start_out_of_reach_goes_back_to_the_times(client, demo, start):
    url = f"/book/massage/details?practitioner=colette-assor&start={start}"
    response = client.get(url)
    assert response.status_code == 302
    assert "/book/massage/times" in response.headers["Location"]
    assert client.post(url, data={}).status_code in (302, 400)
    assert count(Appointment) == 0


def test_rescheduling_to_a_start_out_of_reach_changes_nothing(client, demo):
    from booking.clinic.tokens import manage_token

    booked = book_massage_with_colette(
        datetime.combine(next_weekday(1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=10),
        "Ruth Bell",
        "ruth@example.org",
    )
    before = booked.starts_at
    url = f"/manage/{manage_token(booked)}/reschedule"
    response = client.post(
        url, data={"csrf_token": page_token(client, url), "start": "99991231T2359Z"}
    )
    assert response.status_code < 500
    db.session.expire_all()
    assert db.session.get(Appointment, booked.id).starts_at == before


@pytest.mark.parametrize(
    "url",
    [
        "/diary/day/9999-12-31",
        "/diary/day/0001-01-01/print",
        "/diary/week/colette-assor/9999-12-27",
        "/diary/week/colette-assor/0001-01-01",
        "/diary/book?practitioner=1&start=00010101T0000Z",
    ],
)
def test_diary_addresses_out_of_reach_are_not_found(desk, url):
    assert desk.get(url).status_code == 404


def test_going_to_a_date_out_of_reach_says_so(desk):
    response = desk.get("/diary/?date=9999-12-31", follow_redirects=True)
    assert response.status_code == 200
    assert OUT_OF_REACH in response.get_data(as_text=True)


def test_a_download_out_of_reach_says_so(desk):
    response = desk.get(
        "/diary/feeds/colette-assor/download?from=9999-12-31&to=9999-12-31",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert OUT_OF_REACH in response.get_data(as_text=True)


# Numbers bigger than the database holds ------------------------------------------------


def test_huge_ids_in_addresses_are_not_found(client, desk, demo):
    assert client.get(f"/courses/{HUGE}/request").status_code == 404
    assert desk.get(f"/diary/appointments/{HUGE}").status_code == 404
    assert desk.get(f"/diary/time-off/{HUGE}").status_code == 404
    start = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y%m%dT1000Z")
    assert desk.get(f"/diary/book?practitioner={HUGE}&start={start}").status_code == 404


def test_a_huge_page_number_shows_an_empty_page(admin_client, demo):
    response = admin_client.get("/diary/audit-log?page=9223372036854775807")
    assert response.status_code == 200


def test_a_course_price_beyond_reason_is_refused_with_a_message(admin_client, demo):
    desk = admin_client
    url = "/diary/course-products/new"
    for price, message in ((HUGE, "more than £10,000"), ("²", "not a price we can read")):
        response = desk.post(
            url,
            data={
                "csrf_token": page_token(desk, url),
                "name": "Big course",
                "session_type_id": get(SessionType, slug="massage").id,
                "sessions_count": "10",
                "price": price,
                "validity_days": "365",
                "active": "y",
            },
        )
        assert response.status_code == 422, price
        assert message in response.get_data(as_text=True)


def test_a_patient_number_that_is_not_plain_digits_is_a_bad_request(desk, colette):
    start = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y%m%dT1000Z")
    url = f"/diary/book?practitioner={colette.id}&start={start}"
    for patient_id in ("²", HUGE):
        response = desk.post(
            url,
            data={
                "csrf_token": page_token(desk, url),
                "action": "book",
                "patient_id": patient_id,
                "session_type_id": get(SessionType, slug="massage").id,
            },
        )
        assert response.status_code == 400, patient_id
    assert count(Appointment) == 0


def test_a_search_longer_than_any_name_finds_nobody_and_does_not_fail(desk, colette):
    from tests.test_diary import add_appointment

    add_appointment(datetime.now(UTC) - timedelta(days=3), name="Ruth Bell")
    start = (datetime.now(UTC) + timedelta(days=8)).strftime("%Y%m%dT1000Z")
    url = f"/diary/book?practitioner={colette.id}&start={start}"
    response = desk.post(
        url,
        data={"csrf_token": page_token(desk, url), "action": "search", "query": "ruth" * 15000},
    )
    assert response.status_code < 500
    assert "No patient matches that search" in response.get_data(as_text=True)


# Return addresses --------------------------------------------------------------------


@pytest.mark.parametrize("next_url", ["/%0d%0aX", "/diary/%0aX", "/%09/%5B"])
def test_a_return_address_with_control_characters_is_ignored(app, demo, next_url):
    client = app.test_client()
    page = client.get(f"/staff/sign-in?next={next_url}")
    assert page.status_code == 200
    response = client.post(
        f"/staff/sign-in?next={next_url}",
        data={
            "email": "reception@clinic.example",
            "password": demo,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/diary/")


def test_attendance_with_a_broken_way_back_returns_to_the_appointment(desk, demo):
    from tests.test_diary import add_appointment

    past = add_appointment(datetime.now(UTC) - timedelta(days=1))
    url = f"/diary/appointments/{past.id}"
    response = desk.post(
        f"{url}/attendance",
        data={
            "csrf_token": page_token(desk, url),
            "attendance-status": "attended",
            "back": "/diary/\r\nX",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url)


# Administrators' forms ----------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe", "A" * 300, "../../etc/passwd"])
def test_a_time_zone_that_is_a_folder_or_too_long_is_refused_politely(admin_client, demo, zone):
    response = post_settings(admin_client, timezone=zone)
    assert response.status_code == 422
    assert "not a time zone we know" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ClinicSettings, 1).timezone == "Europe/London"


def test_a_session_type_ticked_twice_counts_once(admin_client, demo):
    sam = get(Practitioner, slug="sam-okafor")
    massage = get(SessionType, slug="massage")
    response = post_form(
        admin_client,
        f"/diary/practitioners/{sam.id}",
        practitioner_form(sam, session_type_ids=[massage.id, massage.id]),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert [t.slug for t in get(Practitioner, slug="sam-okafor").session_types] == ["massage"]
    assert get(AuditEvent, action="practitioner.changed") is not None
