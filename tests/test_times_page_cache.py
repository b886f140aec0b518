"""The times page is kept between requests until what it shows may have changed.

Every change that can move a free time bumps a revision in the same transaction
(booking.clinic.feed_revisions), and the page is kept under those revisions, the minute
and the clinic's settings: so a time booked, blocked, taken off the hours or made busy in
the practitioner's own calendar is gone from the very next page of this worker (the one
that made the change; any other within FREE_TIMES_VERSION_SECONDS, a second).
"""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, update

from booking.clinic.transaction import unit_of_work
from booking.extensions import db
from booking.models import (
    Appointment,
    BusyTime,
    Patient,
    Practitioner,
    SessionType,
    TimeOff,
    WorkingHours,
)
from booking.models.own_calendars import CalendarConnection
from booking.presentation import parse_start
from tests.queries import counting_queries

PATH = "/book/cache-check/times?practitioner=any"
TIME_LINK = re.compile(r'class="time" href="[^"]*start=(\d{8}T\d{4}Z)"')


def clinic() -> tuple[int, int]:
    """A session type given by one practitioner who works every day; their ids."""
    session_type = SessionType(
        slug="cache-check", name="Massage", duration_minutes=45, price_pence=6000
    )
    practitioner = Practitioner(
        slug="cache-checker",
        name="Casey Checker",
        position=1,
        session_types=[session_type],
        working_hours=[
            WorkingHours(weekday=weekday, starts_at=time(9), ends_at=time(17))
            for weekday in range(7)
        ],
    )
    db.session.add(practitioner)
    db.session.commit()
    return practitioner.id, session_type.id


def first_time(client) -> tuple[datetime, int]:
    """The first time the page offers, and how many statements the page sent."""
    db.session.remove()
    with counting_queries() as statements:
        response = client.get(PATH)
    assert response.status_code == 200
    starts = TIME_LINK.findall(response.get_data(as_text=True))
    assert starts, "the page offers no time"
    first = parse_start(starts[0])
    assert first is not None
    return first, len([sql for sql in statements if not sql.lstrip().startswith("BEGIN")])


def cached_first_time(client) -> datetime:
    first_time(client)
    offered, statements = first_time(client)
    assert statements <= 2  # from the cache: the revisions (and maybe the settings row)
    return offered


def test_a_time_booked_is_gone_from_the_next_page(app, client):
    practitioner_id, session_type_id = clinic()
    offered = cached_first_time(client)
    with unit_of_work():
        db.session.add(
            Appointment(
                practitioner_id=practitioner_id,
                patient=Patient(name="Pat Example", email="pat@example.org"),
                session_type_id=session_type_id,
                starts_at=offered,
                ends_at=offered + timedelta(minutes=45),
                status="booked",
                price_pence=0,
            )
        )
    assert first_time(client)[0] > offered


def test_blocked_time_and_a_bulk_change_of_hours_are_seen_at_once(app, client):
    practitioner_id, session_type_id = clinic()
    offered = cached_first_time(client)
    with unit_of_work():
        db.session.add(
            TimeOff(
                practitioner_id=practitioner_id,
                starts_at=offered,
                ends_at=offered + timedelta(hours=1),
                reason="Training",
            )
        )
    later = first_time(client)[0]
    assert later >= offered + timedelta(hours=1)
    first_time(client)  # cached again
    # Hours changed by a statement rather than through objects count as well. The new
    # hours leave out `later`'s time of day, whatever the hour the test runs at, so the
    # first time must move (a fixed cut to 15:00-17:00 kept a 15:45 first time when run
    # from about 12:00 to 13:15 London time, and 09:00-09:45 kept a first time of 09:00
    # the next morning when run in the afternoon).
    london = ZoneInfo("Europe/London")
    morning = later.astimezone(london).hour < 12
    hours = (time(13), time(16)) if morning else (time(9), time(12))
    with unit_of_work():
        db.session.execute(
            update(WorkingHours)
            .where(WorkingHours.practitioner_id == practitioner_id)
            .values(starts_at=hours[0], ends_at=hours[1])
        )
    now_first = first_time(client)[0]
    assert now_first != later
    assert hours[0] <= now_first.astimezone(london).time() < hours[1]


def test_busy_time_fetched_from_the_practitioners_own_calendar_is_seen_at_once(app, client):
    practitioner_id, session_type_id = clinic()
    offered = cached_first_time(client)
    # What a fetch does (booking.clinic.busy_time): replace the busy times, note the fetch.
    with unit_of_work():
        connection = CalendarConnection(
            practitioner_id=practitioner_id,
            kind="ical",
            secret="https://calendar.example/casey.ics",
            host="calendar.example",
            last_fetched_at=datetime.now(UTC),
        )
        db.session.add(connection)
        db.session.flush()
        db.session.execute(delete(BusyTime).where(BusyTime.connection_id == connection.id))
        db.session.add(
            BusyTime(
                connection_id=connection.id,
                practitioner_id=practitioner_id,
                starts_at=offered,
                ends_at=offered + timedelta(hours=2),
            )
        )
    assert first_time(client)[0] >= offered + timedelta(hours=2)


def test_a_new_price_shows_on_the_next_page(app, client):
    clinic()
    cached_first_time(client)
    with unit_of_work():
        db.session.execute(
            update(SessionType).where(SessionType.slug == "cache-check").values(price_pence=7100)
        )
    assert "£71" in client.get(PATH).get_data(as_text=True)
