"""A busy practitioner's calendar feed: time to build it, and time to answer "not modified".

    python -m bench.feeds [--events 2000] [--runs 20] [--backend sqlite|postgresql|both]

Uses its own temporary database on each backend (SQLite, then a scratch database named
perf_feeds_* on the PostgreSQL server of bench/postgres.py when one answers), migrated and
loaded with the demo clinic, then a year of appointments for one practitioner (2,000 by
default, 30 days back to a year ahead, with a tenth cancelled and some blocked time).
Prints the median, best and 95th percentile of:

- building the feed in the domain (queries and iCalendar text), beside its floor: the
  bare SQL (text, no ORM, no row objects) that fetches the same rows;
- a full GET of the feed through app.test_client();
- a GET with If-None-Match answered 304 through app.test_client(), beside its floor: a
  bare Flask hello-world (bench/hello.py) through its own test client.

Each figure and its floor are timed in turn, so that they share the machine's load.
Targets, as ratios to the floor: the build within 10x, the 304 within 5x (by the best
samples, the medians beside them; bench/harness.py has the timing and the tolerance).
"""

import argparse
import gc
from datetime import UTC, datetime, timedelta

from bench import harness

BUILD_RATIO_TARGET = 10.0
NOT_MODIFIED_RATIO_TARGET = 5.0
# A 304 is quick and noisy: more of them give a steadier median.
NOT_MODIFIED_RUNS_PER_BUILD = 10


# The rows a feed is built from, in plain SQL: what the database must send at the least.
BARE_APPOINTMENTS = """
    SELECT a.uid, a.sequence, a.starts_at, a.ends_at, a.status, a.created_at, a.updated_at,
           a.session_type_id, p.name
    FROM appointments a JOIN patients p ON p.id = a.patient_id
    WHERE a.practitioner_id = :practitioner AND a.starts_at >= :starts AND a.starts_at < :ends
      AND (a.status != 'cancelled' OR a.cancelled_at >= :cancelled_since)
    ORDER BY a.starts_at
"""
BARE_TIME_OFF = """
    SELECT id, starts_at, ends_at, reason FROM time_off
    WHERE practitioner_id = :practitioner AND ends_at > :starts AND starts_at < :ends
    ORDER BY starts_at
"""


def _bare_rows(connection, practitioner_id: int, window) -> int:
    from sqlalchemy import bindparam, text

    from booking.database import UTCDateTime

    params = {
        "practitioner": practitioner_id,
        "starts": window.starts_at,
        "ends": window.ends_at,
        "cancelled_since": window.cancelled_since,
    }
    typed = [bindparam(name, type_=UTCDateTime) for name in ("starts", "ends")]
    appointments = text(BARE_APPOINTMENTS).bindparams(
        *typed, bindparam("cancelled_since", type_=UTCDateTime)
    )
    rows = connection.execute(appointments, params).fetchall()
    blocks = connection.execute(
        text(BARE_TIME_OFF).bindparams(*typed),
        {k: params[k] for k in ("practitioner", "starts", "ends")},
    ).fetchall()
    return len(rows) + len(blocks)


def _load(events: int) -> tuple[str, int]:
    """A year of appointments for the first demo practitioner; returns (token, count)."""
    from sqlalchemy import insert, select

    from booking.cli import seed_demo
    from booking.extensions import db
    from booking.models import (
        Appointment,
        AppointmentStatus,
        Patient,
        Practitioner,
        SessionType,
        TimeOff,
    )

    seed_demo()
    practitioner = db.session.scalar(select(Practitioner).filter_by(slug="colette-assor"))
    session_type = db.session.scalar(select(SessionType).filter_by(slug="massage"))
    patients = [
        Patient(name=f"Patient Number{n} Surname", email=f"patient{n}@example.org")
        for n in range(300)
    ]
    db.session.add_all(patients)
    db.session.flush()
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=29)
    span_hours = (395 - 1) * 24
    step = span_hours / events
    rows = []
    for n in range(events):
        starts_at = start + timedelta(hours=round(n * step, 2))
        starts_at = starts_at.replace(second=0, microsecond=0)
        cancelled = n % 10 == 0
        rows.append(
            {
                "uid": f"bench{n:06d}",
                "sequence": 1 if cancelled else 0,
                "practitioner_id": practitioner.id,
                "patient_id": patients[n % len(patients)].id,
                "session_type_id": session_type.id,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(minutes=45),
                "status": (
                    AppointmentStatus.CANCELLED.value
                    if cancelled
                    else AppointmentStatus.BOOKED.value
                ),
                "cancelled_at": now - timedelta(days=1) if cancelled else None,
                "patient_note": "never in the feed",
                "created_at": now - timedelta(days=40),
                "updated_at": now - timedelta(days=1),
            }
        )
    db.session.execute(insert(Appointment), rows)
    for week in range(0, 52, 4):
        block = now + timedelta(weeks=week)
        db.session.add(
            TimeOff(
                practitioner=practitioner,
                starts_at=block,
                ends_at=block + timedelta(hours=3),
                reason="Training",
            )
        )
    db.session.commit()
    return practitioner.feed_token, events


def measure(url: str, backend: str, args: argparse.Namespace) -> bool:
    """Load the year into the empty database at `url`, time the three paths; True if met."""
    from flask_migrate import upgrade

    from booking import create_app
    from booking.clinic.feeds import build_feed, practitioner_by_feed_token
    from booking.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        token, count = _load(args.events)
        harness.analyse()
        practitioner = practitioner_by_feed_token(token)
        body = build_feed(practitioner)
        in_feed = body.count(b"BEGIN:VEVENT")
        print(
            f"{backend}: feed of {count} appointments ({in_feed} events with blocked time), "
            f"{len(body) / 1024:.0f} KiB; {args.runs} builds and full GETs, "
            f"{args.runs * NOT_MODIFIED_RUNS_PER_BUILD} 304s"
        )

        # Each run gets a fresh session, as each request does: the session that loaded
        # the data still holds thousands of objects, which would slow every query.
        from booking.clinic.feeds import feed_window
        from booking.database import utcnow

        window = feed_window(utcnow())
        bare_count = _bare_rows(db.session.connection(), practitioner.id, window)
        db.session.remove()
        build, bare = [], []
        for _ in range(args.runs):
            db.session.remove()
            began = harness.CLOCK()
            build_feed(practitioner_by_feed_token(token))
            build.append(harness.CLOCK() - began)
            db.session.remove()
            began = harness.CLOCK()
            with db.engine.connect() as connection:
                _bare_rows(connection, practitioner.id, window)
            bare.append(harness.CLOCK() - began)
        db.session.remove()

    from bench.hello import app as hello_app

    hello_client = hello_app.test_client()
    client = app.test_client()
    path = f"/feeds/{token}.ics"
    first = client.get(path)
    assert first.status_code == 200, first.status_code
    etag = first.headers["ETag"]
    full, not_modified, hello = [], [], []
    for _ in range(args.runs):
        began = harness.CLOCK()
        response = client.get(path)
        full.append(harness.CLOCK() - began)
        assert response.status_code == 200
    # Measured apart from the full GETs, whose garbage would otherwise be collected
    # during the short 304s and charged to them.
    gc.collect()
    hello_client.get("/")
    for _ in range(args.runs * NOT_MODIFIED_RUNS_PER_BUILD):
        began = harness.CLOCK()
        response = client.get(path, headers={"If-None-Match": etag})
        not_modified.append(harness.CLOCK() - began)
        assert response.status_code == 304, response.status_code
        began = harness.CLOCK()
        assert hello_client.get("/").status_code == 200
        hello.append(harness.CLOCK() - began)

    met = True
    harness.floor_line(f"floor: bare SQL for its {bare_count} rows", bare, width=40)
    met &= not harness.ratio_to_floor(
        "build the feed (domain)", build, bare, BUILD_RATIO_TARGET, width=40
    ).fails
    harness.floor_line("GET the feed (test client)", full, width=40)
    harness.floor_line("floor: bare Flask hello (test client)", hello, width=40)
    met &= not harness.ratio_to_floor(
        "GET answered 304 (test client)", not_modified, hello, NOT_MODIFIED_RATIO_TARGET, width=40
    ).fails
    with app.app_context():
        db.engine.dispose()
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    harness.backend_arguments(parser)
    args = parser.parse_args(argv)
    met = harness.on_each_backend(
        args.backend, "feeds", lambda url, backend: measure(url, backend, args)
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
