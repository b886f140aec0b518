"""A busy practitioner's calendar feed: time to build it, and time to answer "not modified".

    python -m bench.feeds [--events 2000] [--runs 20] [--backend sqlite|postgresql|both]

Uses its own temporary database on each backend (SQLite, then a scratch database on
the PostgreSQL server of bench/postgres.py when one answers), migrated and loaded with
the demo clinic, then a year of appointments for one practitioner (2,000 by default,
30 days back to a year ahead, with a tenth cancelled and some blocked time). Prints
the median and 95th percentile of:

- building the feed in the domain (queries and iCalendar text),
- a full GET of the feed through app.test_client(),
- a GET with If-None-Match answered 304 through app.test_client().

Targets: building under 100 ms, the 304 under 5 ms.
"""

import argparse
import gc
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import percentile

ROOT = Path(__file__).resolve().parent.parent
BUILD_TARGET_MS = 100
NOT_MODIFIED_TARGET_MS = 5
# A 304 is quick and noisy: more of them give a steadier median.
NOT_MODIFIED_RUNS_PER_BUILD = 10


def _report(label: str, samples: list[float], target: float | None) -> None:
    median = statistics.median(samples) * 1000
    p95 = percentile(samples, 0.95) * 1000
    verdict = ""
    if target is not None:
        verdict = f"  target < {target} ms: {'met' if median < target else 'MISSED'}"
    print(f"{label:<34} median {median:7.2f} ms   p95 {p95:7.2f} ms{verdict}")


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


def measure(url: str, backend: str, args: argparse.Namespace) -> None:
    """Load the year into the empty database at `url`, then time the three paths."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from booking import create_app
    from booking.clinic.feeds import build_feed, practitioner_by_feed_token
    from booking.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        token, count = _load(args.events)
        # A live database has statistics for its planner (autovacuum keeps them on
        # PostgreSQL); one loaded a moment ago has none until it is analysed.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
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
        db.session.remove()
        build = []
        for _ in range(args.runs):
            db.session.remove()
            began = time.perf_counter()
            build_feed(practitioner_by_feed_token(token))
            build.append(time.perf_counter() - began)
        db.session.remove()

    client = app.test_client()
    path = f"/feeds/{token}.ics"
    first = client.get(path)
    assert first.status_code == 200, first.status_code
    etag = first.headers["ETag"]
    full, not_modified = [], []
    for _ in range(args.runs):
        began = time.perf_counter()
        response = client.get(path)
        full.append(time.perf_counter() - began)
        assert response.status_code == 200
    # Measured apart from the full GETs, whose garbage would otherwise be collected
    # during the short 304s and charged to them.
    gc.collect()
    for _ in range(args.runs * NOT_MODIFIED_RUNS_PER_BUILD):
        began = time.perf_counter()
        response = client.get(path, headers={"If-None-Match": etag})
        not_modified.append(time.perf_counter() - began)
        assert response.status_code == 304, response.status_code

    _report("build the feed (domain)", build, BUILD_TARGET_MS)
    _report("GET the feed (test client)", full, None)
    _report("GET answered 304 (test client)", not_modified, NOT_MODIFIED_TARGET_MS)
    with app.app_context():
        db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="PostgreSQL is skipped, with the reason, when no server answers",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-feeds-") as directory:
            measure(f"sqlite:///{Path(directory) / 'feeds.sqlite3'}", "SQLite", args)
    if args.backend in ("postgresql", "both"):
        from bench.postgres import Unreachable, scratch_database, sqlalchemy_url

        try:
            with scratch_database("bench_feeds") as conninfo:
                measure(sqlalchemy_url(conninfo), "PostgreSQL", args)
        except Unreachable as error:
            print(f"PostgreSQL: skipped: {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
