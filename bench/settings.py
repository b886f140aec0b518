"""The clinic settings: read at most once per request, kept safely between requests.

    python -m bench.settings [--requests 20] [--runs 200] [--backend sqlite|postgresql|both]

Uses its own temporary database on each backend (SQLite, then a scratch database named
perf_settings_* on the PostgreSQL server of bench/postgres.py when one answers), migrated
and loaded with the demo clinic. Through the test client, it counts the statements that
read the clinic_settings table:

- for the first request after the app's copy is forgotten (target: at most 1), then for
  each of the next requests, across the public pages (target: 0 each);
- after a change committed through the session, whether this worker's very next page
  shows it (target: yes, with 1 read), and whether another worker (a second app with its
  own copy, CLINIC_SETTINGS_CACHE_SECONDS=1) shows it once its copy is that old.

Then it times a cached read in a fresh session (as each request has) beside its floor,
the one ORM query it saves (the row by its primary key, a fresh session each time).
Target: the cached read within 1x the floor (bench/harness.py: best samples, medians
beside them, the tolerance).
"""

import argparse
import time

from bench import harness

CACHED_READ_RATIO_TARGET = 1.0
PAGES = (
    "/",
    "/book",
    "/treatments-and-prices",
    "/book/massage/times?practitioner=any",
    "/contact",
)
NEW_ADDRESS = "1 Benchmark Row, London NW0 0AB"


def _settings_reads(client, path: str) -> tuple[int, str]:
    """The statements reading clinic_settings that one request sends, and the page."""
    from sqlalchemy import event

    from booking.extensions import db

    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if "from clinic_settings" in statement.lower():
            reads.append(statement)

    with client.application.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, (path, response.status_code)
    return len(reads), response.get_data(as_text=True)


def measure(url: str, backend: str, args: argparse.Namespace) -> bool:
    from flask import g

    from booking import create_app
    from booking.cli import seed_demo
    from booking.clinic.settings import clinic_settings, forget_clinic_settings
    from booking.clinic.transaction import unit_of_work
    from booking.extensions import db
    from booking.models import ClinicSettings

    # This worker keeps its copy for longer than the run takes, so that every read counted
    # is one the code chose to make; the other worker's copy is kept for a second.
    with harness.migrated_app(url, CLINIC_SETTINGS_CACHE_SECONDS=3600) as app:
        seed_demo()
    # Requests from here on run outside any app context of ours, each in its own, as served.
    client = app.test_client()
    for path in PAGES:  # templates compiled, statements cached
        client.get(path)
    print(f"{backend}: the demo clinic; {args.requests} requests, {args.runs} timed reads")

    with app.app_context():
        forget_clinic_settings()
    first, _page = _settings_reads(client, PAGES[-2])
    later = [_settings_reads(client, PAGES[n % len(PAGES)])[0] for n in range(args.requests)]
    once = harness.exactly(first <= 1)
    warm = harness.exactly(sum(later) == 0)
    print(
        f"  reads of clinic_settings, first request after forgetting: {first}; "
        f"target <= 1: {once.word}"
    )
    print(
        f"  reads in the next {len(later)} requests: {sum(later)} (at most {max(later)} in one); "
        f"target 0: {warm.word}"
    )

    other_app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, CLINIC_SETTINGS_CACHE_SECONDS=1)
    other_client = other_app.test_client()
    _, before = _settings_reads(other_client, "/contact")  # its own copy, now warm
    with app.app_context():
        with unit_of_work():
            clinic_settings().address = NEW_ADDRESS
    reads, page = _settings_reads(client, "/contact")
    seen = harness.exactly(NEW_ADDRESS in page and reads == 1)
    print(
        f"  after a committed change, this worker's next page shows it: "
        f"{'yes' if NEW_ADDRESS in page else 'no'}, with {reads} read; target yes, 1: {seen.word}"
    )
    time.sleep(1.1)
    _, other_page = _settings_reads(other_client, "/contact")
    elsewhere = harness.exactly(NEW_ADDRESS not in before and NEW_ADDRESS in other_page)
    print(
        f"  another worker shows it once its copy is 1 s old: "
        f"{'yes' if NEW_ADDRESS in other_page else 'no'}; target yes: {elsewhere.word}"
    )

    with app.app_context():

        def cached_read():
            # A fresh session and a fresh `g`, as each request has: the app's copy only.
            db.session.remove()
            g.pop("clinic_settings", None)
            return clinic_settings().name

        def floor():
            db.session.remove()
            return db.session.get_one(ClinicSettings, 1).name

        samples = harness.interleaved({"floor": floor, "cached": cached_read}, args.runs)
        harness.floor_line("floor: the row by its key, one ORM query", samples["floor"])
        timed = harness.ratio_to_floor(
            "a cached read in a fresh session",
            samples["cached"],
            samples["floor"],
            CACHED_READ_RATIO_TARGET,
        )
        db.session.remove()
    for each in (app, other_app):
        with each.app_context():
            db.engine.dispose()
    return not any(verdict.fails for verdict in (once, warm, seen, elsewhere, timed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--runs", type=int, default=200)
    harness.backend_arguments(parser)
    args = parser.parse_args(argv)
    met = harness.on_each_backend(
        args.backend, "settings", lambda url, backend: measure(url, backend, args)
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
