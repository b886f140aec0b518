"""Many patients racing for few slots on PostgreSQL: exactly one booking per slot, no overlap.

    python -m bench.concurrent_booking_pg [--attempts 200] [--slots 20]

Creates a scratch database on the PostgreSQL server of BENCH_DATABASE_URL, TEST_DATABASE_URL
or postgresql://postgres@127.0.0.1:5432/postgres, builds it with the real migrations, loads
the demo clinic, then lets `--attempts` threads call book_appointment at the same moment,
spread evenly over `--slots` free 90-minute slots (half naming the practitioner, half asking
for the first available). Afterwards exactly one appointment must hold each slot and no two
live appointments of a practitioner may overlap. Prints the figures, drops the scratch
database, and exits 1 if the invariant broke.
"""

import argparse
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import psycopg

from bench import percentile
from bench.postgres import Unreachable, scratch_database, sqlalchemy_url

LONDON = ZoneInfo("Europe/London")
# Colette's demo hours fit four 90-minute sessions a weekday.
STARTS = (clock(9), clock(11), clock(14), clock(16))


def free_slots(count: int) -> list[datetime]:
    """`count` slot starts inside Colette's hours on weekdays from three days ahead (UTC)."""
    day = datetime.now(LONDON).date() + timedelta(days=3)
    slots = []
    while len(slots) < count:
        if day.weekday() < 5:
            slots.extend(datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC) for at in STARTS)
        day += timedelta(days=1)
    return slots[:count]


def race(app, attempts: int, slots: list[datetime]) -> tuple[Counter, list[float], float]:
    """All attempts start together; returns outcomes, per-attempt seconds and wall time."""
    import sqlalchemy as sa

    from booking.clinic import DomainError
    from booking.clinic.appointments import PatientDetails, SlotTaken, book_appointment
    from booking.extensions import db
    from booking.models import Practitioner, SessionType

    outcomes, latencies = Counter(), []
    lock = threading.Lock()
    start_line = threading.Barrier(attempts + 1)

    def attempt(index: int):
        outcome = "not run"
        with app.app_context():
            start_line.wait()
            started = time.perf_counter()
            try:
                session_type = db.session.scalar(
                    sa.select(SessionType).filter_by(slug="full-combination")
                )
                practitioner = None
                if index % 2 == 0:
                    practitioner = db.session.scalar(
                        sa.select(Practitioner).filter_by(slug="colette-assor")
                    )
                book_appointment(
                    session_type=session_type,
                    starts_at=slots[index % len(slots)],
                    practitioner=practitioner,
                    patient=PatientDetails(
                        name=f"Racing Patient {index}",
                        email=f"racer.{index}@example.org",
                        phone="07700 900123",
                    ),
                    health_consent=True,
                )
                outcome = "booked"
            except SlotTaken:
                outcome = "slot taken"
            except DomainError as error:
                outcome = f"refused: {error.message}"
            except Exception as error:  # noqa: BLE001 - counted and reported, never hidden
                outcome = f"error: {type(error).__name__}: {error}"
            finally:
                elapsed = time.perf_counter() - started
                db.session.remove()
        with lock:
            outcomes[outcome] += 1
            latencies.append(elapsed)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    start_line.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes, latencies, time.perf_counter() - started


OVERLAPS = """
select count(*) from appointments a
join appointments b
  on a.id < b.id and a.practitioner_id = b.practitioner_id
 and a.status <> 'cancelled' and b.status <> 'cancelled'
 and a.starts_at < b.ends_at and b.starts_at < a.ends_at
"""


def check(conninfo: str, slots: list[datetime]) -> dict[str, int]:
    with psycopg.connect(conninfo) as connection:
        live = connection.execute(
            "select starts_at from appointments where status <> 'cancelled'"
        ).fetchall()
        overlaps = connection.execute(OVERLAPS).fetchone()[0]
    per_slot = Counter(row[0] for row in live)
    return {
        "live appointments": len(live),
        "overlapping pairs": overlaps,
        "slots with exactly one booking": sum(1 for s in slots if per_slot[s] == 1),
        "appointments outside the slots": sum(n for s, n in per_slot.items() if s not in slots),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--slots", type=int, default=20)
    parser.add_argument("--pool", type=int, default=40, help="database connections at most")
    options = parser.parse_args()

    try:
        with scratch_database("bench_booking") as conninfo:
            return run(conninfo, options)
    except Unreachable as error:
        # Not a broken invariant: there is nothing to measure on this machine.
        print(f"skipped: {error}")
        return 0


def run(conninfo: str, options: argparse.Namespace) -> int:
    from flask_migrate import upgrade

    from booking import create_app
    from booking.cli import seed_demo
    from booking.extensions import db

    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=sqlalchemy_url(conninfo),
        # Fewer connections than attempts: the race is decided by the database's
        # constraint, not by how many sockets we open (the server allows ~100).
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_size": options.pool,
            "max_overflow": 0,
            "pool_timeout": 120,
        },
    )
    try:
        with app.app_context():
            upgrade()
            seed_demo()
            db.session.remove()

        slots = free_slots(options.slots)
        outcomes, latencies, seconds = race(app, options.attempts, slots)
        figures = check(conninfo, slots)

        print(
            f"{options.attempts} concurrent booking attempts on {len(slots)} slots "
            f"({options.attempts // len(slots)} per slot), {options.pool} database connections"
        )
        for outcome, number in sorted(outcomes.items()):
            print(f"  {outcome:<40} {number:>5}")
        print(
            f"  wall time {seconds:.2f} s, {options.attempts / seconds:.0f} attempts/s, "
            f"attempt p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms"
        )
        for name, value in figures.items():
            print(f"  {name:<40} {value:>5}")

        holds = (
            outcomes["booked"] == len(slots)
            and outcomes["slot taken"] == options.attempts - len(slots)
            and figures["live appointments"] == len(slots)
            and figures["overlapping pairs"] == 0
            and figures["slots with exactly one booking"] == len(slots)
            and figures["appointments outside the slots"] == 0
        )
        print("invariant holds: exactly one booking per slot, no overlap" if holds else "BROKEN")
        return 0 if holds else 1
    finally:
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
