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
from tests.factories import make_appointment
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
    # Whole days: an all-day event, whose dates need no time-zone block however far off
    # (DTEND is the day after the last day, RFC 5545 3.6.1).
    assert leave.get("DTEND").param("VALUE") == "DATE"
    assert leave.value("DTSTART") == f"{start:%Y%m%d}"
    assert leave.value("DTEND") == "20991231"


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
        url,
        data={
            "csrf_token": page_token(client, url.replace("/reschedule", "/cancel")),
            "start": "99991231T2359Z",
        },
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
    make_appointment(datetime.now(UTC) - timedelta(days=3), patient="Ruth Bell")
    start = (datetime.now(UTC) + timedelta(days=8)).strftime("%Y%m%dT1000Z")
    url = f"/diary/book?practitioner={colette.id}&start={start}"
    response = desk.post(
        url,
        data={"csrf_token": page_token(desk, url), "action": "search", "query": "ruth" * 15000},
    )
    assert response.status_code < 500
    assert "No patient matches that search: check the spelling" in response.get_data(as_text=True)


# Return addresses --------------------------------------------------------------------


@pytest.mark.parametrize("next_url", ["/%0d%0aX", "/diary/%0aX", "/%09/%5B", "/%00"])
def test_a_return_address_with_control_characters_is_a_styled_bad_request(app, demo, next_url):
    from booking.validators import ControlCharacterInAddress

    client = app.test_client()
    page = client.get(f"/staff/sign-in?next={next_url}")
    assert page.status_code == 400
    assert ControlCharacterInAddress.description in page.get_data(as_text=True)
    response = client.post(
        f"/staff/sign-in?next={next_url}",
        data={
            "email": "reception@clinic.example",
            "password": demo,
            "csrf_token": csrf_token(client.get("/staff/sign-in").get_data(as_text=True)),
        },
    )
    assert response.status_code == 400
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    "next_url", ["/%5Cevil.example", "//evil.example/", "https://evil.example/"]
)
def test_a_return_address_to_another_site_is_ignored(app, demo, next_url):
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
    past = make_appointment(datetime.now(UTC) - timedelta(days=1))
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


# Characters nobody types: control characters, invisible names, undeliverable addresses -----
#
# Each page below is fetched as the person who uses it, and each form on it is posted as
# the page fills it in, with one answer spoiled. Every spoiled answer must be refused with
# its message (status 4xx, what was typed kept) and nothing in the database may change.


def _in_days(days: int, hour: int) -> datetime:
    day = next_weekday(1, at_least_days=days)
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)


@pytest.fixture
def scene(demo, make_staff):
    """One of everything a form can change: an appointment, a course, a staff account."""
    from booking.clinic import courses
    from booking.clinic.appointments import PatientDetails
    from booking.clinic.tokens import course_token, intake_token, manage_token
    from booking.models import CourseProduct, TimeOff

    booked = book_massage_with_colette(_in_days(6, 10), "Ruth Bell", "ruth@example.org")
    course = courses.activate_course(
        courses.request_course(
            get(CourseProduct), PatientDetails("Course Patient", "course@example.org", None)
        ),
        "card 1234",
        make_staff("receptionist"),
    )
    colette = get(Practitioner, slug="colette-assor")
    block = TimeOff(
        practitioner=colette,
        starts_at=_in_days(20, 9),
        ends_at=_in_days(20, 12),
        reason="Training",
    )
    db.session.add(block)
    db.session.commit()
    return {
        "appointment": booked.id,
        "patient": booked.patient_id,
        "manage": manage_token(booked),
        "intake": intake_token(booked),
        "course": course.id,
        "course_token": course_token(course),
        "product": course.product_id,
        "colette": colette.id,
        "staff": make_staff("receptionist").id,
        "session_type": get(SessionType, slug="massage").id,
        # At least 13 days ahead: never the Tuesday of the booking above (6 to 12 days).
        "start": _in_days(13, 10).strftime("%Y%m%dT%H%MZ"),
    }


PUBLIC_PAGES = [
    "/book/massage/details?practitioner=colette-assor&start={start}",
    "/sciatica",
    "/courses/{product}/request",
    "/staff/sign-in",
    "/intake/{intake}",
]
STAFF_PAGES = [
    "/staff/password",
    "/diary/exports",
    "/diary/import",
    "/diary/book?practitioner={colette}&start={start}",
    "/diary/appointments/{appointment}",
    "/diary/patients",
    "/diary/patients/{patient}",
    "/diary/courses/{course}",
    "/diary/course-products/new",
    "/diary/course-products/{product}",
    "/diary/practitioners/new",
    "/diary/practitioners/{colette}",
    "/diary/session-types/new",
    "/diary/session-types/{session_type}",
    "/diary/staff/new",
    "/diary/staff/{staff}",
    "/diary/settings",
    "/diary/time-off",
    "/diary/working-hours/colette-assor",
]


def _snapshot() -> dict[str, list[str]]:
    db.session.rollback()
    return {
        table.name: sorted(repr(tuple(row)) for row in db.session.execute(sa.select(table)))
        for table in db.metadata.sorted_tables
    }


def _changed(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


@pytest.fixture
def visitor(app, client, admin_client):
    """The client that uses a page: anyone for public pages, an administrator for the rest."""

    def pick(page: str):
        return admin_client if page in STAFF_PAGES else client

    return pick


def _spoil_each(visitor, scene, page: str, wanted, spoil):
    """Post every form on `page` with each field `wanted(name, form)` picks spoiled by `spoil`.

    Returns the (form action, field) pairs tried; each answer is checked by the caller's
    `expect(response, typed)` through the `spoil` tuple (value, message).
    """
    from tests.forms import post_forms

    client = visitor(page)
    url = page.format(**scene)
    html = client.get(url).get_data(as_text=True)
    tried = []
    for form in post_forms(html):
        for name in form.typed:
            # The reply form's honeypot is hidden from people; robots get no help.
            if not wanted(name, form) or name in {"csrf_token", "website"}:
                continue
            value, message = spoil(name, form)
            data = form.answers()
            data[name] = [value]
            before = _snapshot()
            # Tables a plain page view changes (sessions, sign-in bookkeeping) are not data.
            client.get(url)
            moving = _changed(before, _snapshot())
            response = client.post(form.action or url, data=data)
            body = response.get_data(as_text=True)
            where = f"{form.action} {name}"
            assert 400 <= response.status_code < 500, (where, response.status_code)
            messages = message if isinstance(message, tuple) else (message,)
            assert any(m in body.replace("&#39;", "'") for m in messages), where
            assert _changed(before, _snapshot()) <= moving, where
            tried.append((form.action, name))
    return tried


# NUL (a server error on PostgreSQL), escape, a C1 control, a line break in one line.
CONTROL_CHARACTERS = ["\x00", "\x1b", "\x85", "\r\n", "\x00"]


@pytest.mark.parametrize("page", PUBLIC_PAGES + STAFF_PAGES)
def test_a_control_character_in_any_field_is_refused_and_stores_nothing(visitor, scene, page):
    from booking.validators import CONTROL_CHARACTER

    tried = []

    def spoil(name, form):
        # Each field gets the next character; multi-line text may hold a line break.
        characters = [
            c for c in CONTROL_CHARACTERS if not (c == "\r\n" and name in form.multi_line)
        ]
        character = characters[len(tried) % len(characters)]
        tried.append(name)
        return f"Ruth{character}Bell", CONTROL_CHARACTER

    assert _spoil_each(visitor, scene, page, lambda name, form: True, spoil), (
        f"no form with a field to type in on {page}"
    )


def test_a_line_break_in_multi_line_text_is_kept(desk, demo, make_appointment):
    past = make_appointment(datetime.now(UTC) - timedelta(days=1))
    url = f"/diary/appointments/{past.id}"
    response = desk.post(
        f"{url}/note",
        data={"csrf_token": page_token(desk, url), "note-note": "First line\r\n\tSecond"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Appointment, past.id).staff_note.split() == ["First", "line", "Second"]


ADDRESSES = [
    "/book/mass%00age/times",
    "/book/massage/times?practitioner=colette%00",
    "/book/massage/times?first=2026-12-01%00",
    "/book/massage/details?practitioner=colette-assor&start=%00",
    "/manage/%00abc",
    "/course/%00abc/plan",
    "/feeds/%00.ics",
    "/sciatica?%00=1",
    "/staff/sign-in?next=/diary/%1b",
]
STAFF_ADDRESSES = [
    "/diary/?date=2026-12-01%00",
    "/diary/week/colette%00/2026-11-30",
    "/diary/working-hours/colette%00assor",
    "/diary/courses?status=paid%00",
    "/diary/feeds/colette-assor/download?from=%00&to=%c2%85",
]


@pytest.mark.parametrize("url", ADDRESSES + STAFF_ADDRESSES)
def test_a_control_character_in_an_address_is_a_styled_bad_request(client, admin_client, url):
    from booking.validators import ControlCharacterInAddress

    visitor = admin_client if url in STAFF_ADDRESSES else client
    before = _snapshot()
    response = visitor.get(url)
    assert response.status_code == 400
    assert ControlCharacterInAddress.description in response.get_data(as_text=True)
    # A POST to a page that takes none is refused by the router first (405).
    assert visitor.post(url).status_code in (400, 405)
    assert not _changed(before, _snapshot())


INVISIBLE_NAMES = [
    "\u200b\u200b",  # zero-width spaces
    "\u3000\u2003\u00a0",  # ideographic, em and no-break spaces
    "\u3164",  # Hangul filler, a "letter" that draws nothing
    "\ufeff\u2060\u180e",  # format characters
]
DIRECTION_TRICKS = ["Ruth \u202eLLEB", "Ruth \u2067Bell\u2069"]
NAMED_PAGES = [
    "/book/massage/details?practitioner=colette-assor&start={start}",
    "/sciatica",
    "/courses/{product}/request",
    "/diary/book?practitioner={colette}&start={start}",
    "/diary/patients/{patient}",
    "/diary/course-products/new",
    "/diary/practitioners/new",
    "/diary/session-types/new",
    "/diary/staff/new",
    "/diary/settings",
]


@pytest.mark.parametrize("name", INVISIBLE_NAMES + DIRECTION_TRICKS)
@pytest.mark.parametrize("page", NAMED_PAGES)
def test_a_name_of_invisible_characters_or_with_a_direction_override_is_refused(
    visitor, scene, page, name
):
    from booking.validators import DIRECTION_CONTROL, NO_VISIBLE_LETTER

    message = DIRECTION_CONTROL if name in DIRECTION_TRICKS else NO_VISIBLE_LETTER
    if not name.strip():
        # Spaces of every kind are "nothing typed" to a required field: its own message.
        message = ("Enter your name", "Enter the", "Give the course a name", "cannot be empty")
    tried = _spoil_each(
        visitor, scene, page, lambda field, form: field == "name", lambda *_: (name, message)
    )
    assert tried, f"no name field on {page}"


EMAIL_PAGES = [
    "/book/massage/details?practitioner=colette-assor&start={start}",
    "/sciatica",
    "/courses/{product}/request",
    "/diary/book?practitioner={colette}&start={start}",
    "/diary/patients/{patient}",
    "/diary/practitioners/new",
    "/diary/staff/new",
    "/diary/settings",
]


@pytest.mark.parametrize("page", EMAIL_PAGES)
def test_an_address_with_accents_before_the_at_is_refused_where_it_is_typed(visitor, scene, page):
    from booking.clinic.email_addresses import EMAIL_NOT_DELIVERABLE

    tried = _spoil_each(
        visitor,
        scene,
        page,
        lambda field, form: field.endswith("email"),
        lambda *_: ("rüth@example.org", EMAIL_NOT_DELIVERABLE),
    )
    assert tried, f"no email field on {page}"
