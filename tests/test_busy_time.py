"""Busy time from a practitioner's own calendar: a real CalDAV server (Radicale) and a
local HTTP server serving an .ics, read by the real fetch, shown on the real pages."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic.busy_time import connect_calendar, fetch_busy_times
from booking.database import utcnow
from booking.extensions import db
from booking.models import BusyTime, CalendarConnection, Practitioner

LONDON = ZoneInfo("Europe/London")


def colette() -> Practitioner:
    return db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))


def coming_tuesday() -> date:
    day = utcnow().astimezone(LONDON).date() + timedelta(days=7)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return day


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event(uid: str, starts: datetime, ends: datetime, summary: str, *extra: str) -> str:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261101T090000Z",
        f"DTSTART:{stamp(starts)}",
        f"DTEND:{stamp(ends)}",
        f"SUMMARY:{summary}",
        *extra,
        "END:VEVENT",
    ]
    return "\r\n".join(lines) + "\r\n"


def calendar(*events: str) -> bytes:
    body = "".join(events)
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n".encode()
    )


def times_page(client, day: date) -> str:
    return client.get(
        f"/book/full-combination/times?practitioner=colette-assor&first={day}&day={day}"
    ).get_data(as_text=True)


@pytest.fixture
def loopback_allowed(app):
    app.config["CALENDAR_FETCH_ALLOW_PRIVATE"] = True
    yield
    app.config["CALENDAR_FETCH_ALLOW_PRIVATE"] = False


class IcsServer:
    """A local HTTP server serving one .ics file at /calendar.ics."""

    def __init__(self):
        self.body = calendar()
        self.requests = 0
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                served.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(served.body)))
                self.end_headers()
                self.wfile.write(served.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Polled for shutdown every 50 ms (the default 0.5 s made stop() wait that long).
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/calendar.ics"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ics_server():
    server = IcsServer()
    yield server
    server.stop()


def test_a_busy_evening_in_a_caldav_calendar_leaves_the_times_page_within_one_fetch(
    client, demo, caldav_server, loopback_allowed, receptionist_client
):
    day = coming_tuesday()
    collection = caldav_server.make_calendar("work")
    busy = event(
        "school-run@elsewhere", local(day, 16), local(day, 18), "Parents' evening at school"
    )
    assert caldav_server.put(f"{collection}school-run.ics", calendar(busy)) == 201
    connect_calendar(
        colette(),
        kind="caldav",
        url=f"{caldav_server.base_url}{collection}",
        username=caldav_server.user,
        password=caldav_server.password,
        staff_user=None,
    )
    before = times_page(client, day)
    assert ">16:00<" in before and ">15:00<" in before

    report = fetch_busy_times()
    assert (report.fetched, report.failed) == (1, 0)

    after = times_page(client, day)
    # A 90-minute session may not reach into 16:00-18:00; 14:30 still ends in time.
    assert ">16:00<" not in after and ">15:00<" not in after and ">14:45<" not in after
    assert ">14:30<" in after
    # The diary shows the time as busy, never the event's title.
    diary = receptionist_client.get(f"/diary/day/{day.isoformat()}").get_data(as_text=True)
    assert "Busy (own calendar)" in diary
    assert "Parents" not in diary


def test_an_ics_address_gives_busy_times_but_not_free_cancelled_or_all_day_events(
    app, demo, ics_server, loopback_allowed
):
    day = coming_tuesday()
    ics_server.body = calendar(
        event("busy@x", local(day, 9), local(day, 10), "Other clinic"),
        event("free@x", local(day, 11), local(day, 12), "Maybe lunch", "TRANSP:TRANSPARENT"),
        event("off@x", local(day, 13), local(day, 14), "Called off", "STATUS:CANCELLED"),
        "BEGIN:VEVENT\r\nUID:birthday@x\r\nDTSTAMP:20261101T090000Z\r\n"
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}\r\nSUMMARY:Birthday\r\nEND:VEVENT\r\n",
        # Every Tuesday for three weeks: repeats are expanded.
        event("weekly@x", local(day, 17), local(day, 18), "Choir", "RRULE:FREQ=WEEKLY;COUNT=3"),
    )
    connect_calendar(colette(), kind="ical", url=ics_server.url, staff_user=None)
    assert fetch_busy_times().fetched == 1
    spans = [
        (row.starts_at, row.ends_at)
        for row in db.session.scalars(sa.select(BusyTime).order_by(BusyTime.starts_at))
    ]
    expected = [(local(day, 9), local(day, 10))] + [
        (local(day + timedelta(weeks=n), 17), local(day + timedelta(weeks=n), 18)) for n in range(3)
    ]
    assert spans == [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in expected]

    # The next fetch replaces what the last one read.
    ics_server.body = calendar(event("busy@x", local(day, 9), local(day, 10), "Other clinic"))
    fetch_busy_times()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusyTime)) == 1


def test_the_address_and_password_are_stored_encrypted(app, demo):
    connect_calendar(
        colette(),
        kind="caldav",
        url="https://dav.example.org/calendars/colette/secret-path/",
        username="colette",
        password="correct horse battery staple",
        staff_user=None,
    )
    stored = db.session.scalar(sa.select(CalendarConnection))
    assert stored.host == "dav.example.org"
    for secret in ("secret-path", "correct horse", "colette/"):
        assert secret not in stored.secret


def test_loopback_addresses_are_refused_unless_configured_and_staff_see_why(
    app, demo, ics_server, receptionist_client
):
    connect_calendar(colette(), kind="ical", url=ics_server.url, staff_user=None)
    report = fetch_busy_times()
    assert (report.fetched, report.failed) == (0, 1)
    assert ics_server.requests == 0  # refused before connecting
    connection = db.session.scalar(sa.select(CalendarConnection))
    db.session.refresh(connection)
    assert connection.failing_since is not None
    assert "private or local network" in connection.last_error
    feeds = receptionist_client.get("/diary/feeds").get_data(as_text=True)
    assert "could not be read" in feeds and "private or local network" in feeds
    diary = receptionist_client.get(f"/diary/day/{coming_tuesday().isoformat()}")
    assert "own calendar could not be read" in diary.get_data(as_text=True)


def test_a_calendar_larger_than_the_cap_is_not_read(app, demo, ics_server, loopback_allowed):
    day = coming_tuesday()
    ics_server.body = calendar(event("busy@x", local(day, 9), local(day, 10), "x" * 5000))
    app.config["CALENDAR_FETCH_MAX_BYTES"] = 1000
    try:
        connect_calendar(colette(), kind="ical", url=ics_server.url, staff_user=None)
        assert fetch_busy_times().failed == 1
    finally:
        app.config["CALENDAR_FETCH_MAX_BYTES"] = 5 * 2**20
    connection = db.session.scalar(sa.select(CalendarConnection))
    db.session.refresh(connection)
    assert "larger than" in connection.last_error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusyTime)) == 0


def test_staff_connect_a_calendar_from_the_feed_page(receptionist_client, demo):
    page = receptionist_client.get("/diary/feeds").get_data(as_text=True)
    assert "Busy time from Colette Assor" in page
    from tests.forms import csrf_token

    response = receptionist_client.post(
        "/diary/feeds/colette-assor/own-calendar",
        data={
            "kind": "ical",
            "url": "webcal://p01-caldav.example.com/published/2/secret",
            "csrf_token": csrf_token(page),
        },
        follow_redirects=True,
    )
    assert "is connected" in response.get_data(as_text=True)
    stored = db.session.scalar(sa.select(CalendarConnection))
    assert stored.kind == "ical" and stored.host == "p01-caldav.example.com"


def test_a_calendar_server_that_never_answers_times_out(app, demo, loopback_allowed):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never says a word
    app.config["CALENDAR_FETCH_TIMEOUT"] = 0.5
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/calendar.ics"
        connect_calendar(colette(), kind="ical", url=url, staff_user=None)
        assert fetch_busy_times().failed == 1
    finally:
        app.config["CALENDAR_FETCH_TIMEOUT"] = 10
        silent.close()
    connection = db.session.scalar(sa.select(CalendarConnection))
    db.session.refresh(connection)
    assert "could not be reached" in connection.last_error
