"""The owner's dashboard over a year of a busy clinic: 10,000 appointments.

    python -m bench.dashboard [--runs 20] [--backend sqlite|postgresql|both]

Uses its own temporary database on each backend (SQLite, then a scratch database named
perf_dashboard_* on the PostgreSQL server of bench/postgres.py when one answers),
migrated and loaded with the demo clinic plus 10,000 appointments over the past year
spread across its practitioners (some cancelled, late or not, some no-shows), 2,000
patients, 300 courses, 4,000 ledger entries and a block of time off a fortnight.

Three figures, the year as the range:
- floor: the bare query, one aggregate over the year's appointments (count and minutes);
- the dashboard's figures (booking.clinic.reports.dashboard), every query included;
- the whole page, /diary/reports, rendered for a signed-in administrator.

Target: the page in under 200 ms (median).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import percentile

ROOT = Path(__file__).resolve().parent.parent
PAGE_TARGET_MS = 200.0
APPOINTMENTS = 10_000
PATIENTS = 2_000
COURSES = 300
PAYMENTS = 4_000
CLOCK = time.process_time if os.environ.get("BENCH_CPU") else time.perf_counter
PASSWORD = "bench dashboard password"


def _load(now: datetime) -> tuple[datetime, datetime]:
    """The clinic and its year; returns the first and last instants of the appointments."""
    from sqlalchemy import insert, select

    from booking.cli import seed_demo
    from booking.extensions import db
    from booking.models import (
        Appointment,
        Course,
        CourseProduct,
        LedgerEntry,
        Patient,
        Practitioner,
        SessionType,
        StaffUser,
        TimeOff,
    )

    seed_demo()
    practitioners = list(db.session.scalars(select(Practitioner).order_by(Practitioner.id)))
    session_type = db.session.scalar(select(SessionType).filter_by(slug="massage"))
    product = db.session.scalar(select(CourseProduct))
    admin = StaffUser(email="bench-admin@clinic.example", name="Bench Admin", role="admin")
    admin.set_password(PASSWORD)
    db.session.add(admin)
    db.session.execute(
        insert(Patient),
        [
            {"name": f"Bench Patient {n}", "email": f"bench-{n}@example.org", "created_at": now}
            for n in range(PATIENTS)
        ],
    )
    patient_ids = list(db.session.scalars(select(Patient.id).order_by(Patient.id)))
    first = (now - timedelta(days=365)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows, day = [], 0
    per_day = -(-APPOINTMENTS // 365)
    while len(rows) < APPOINTMENTS:
        for slot in range(per_day):
            if len(rows) == APPOINTMENTS:
                break
            practitioner = practitioners[slot % len(practitioners)]
            starts_at = first + timedelta(days=day, hours=9 + slot // len(practitioners))
            number = len(rows)
            status = ["attended"] * 7 + ["no_show", "cancelled", "booked"]
            chosen = status[number % 10]
            rows.append(
                {
                    "uid": f"bench-{number}",
                    "practitioner_id": practitioner.id,
                    "patient_id": patient_ids[number % PATIENTS],
                    "session_type_id": session_type.id,
                    "starts_at": starts_at,
                    "ends_at": starts_at + timedelta(minutes=45),
                    "status": chosen,
                    "source": ["online", "staff", "course_plan"][number % 3],
                    "price_pence": 6500,
                    "cancelled_at": (
                        starts_at - timedelta(hours=6 if number % 20 == 8 else 72)
                        if chosen == "cancelled"
                        else None
                    ),
                    "cancelled_by": "patient" if chosen == "cancelled" else None,
                }
            )
        day += 1
    db.session.execute(insert(Appointment), rows)
    db.session.execute(
        insert(Course),
        [
            {
                "uid": f"bench-course-{n}",
                "patient_id": patient_ids[n],
                "product_id": product.id,
                "session_type_id": product.session_type_id,
                "status": "active",
                "sessions_total": 10,
                "credits_remaining": n % 11,
                "price_pence": product.price_pence,
                "source": "staff",
                "requested_at": first + timedelta(days=n),
                "paid_at": first + timedelta(days=n),
                "expires_at": first + timedelta(days=n + 183),
            }
            for n in range(COURSES)
        ],
    )
    appointment_ids = list(
        db.session.scalars(select(Appointment.id).order_by(Appointment.id).limit(PAYMENTS))
    )
    db.session.execute(
        insert(LedgerEntry),
        [
            {
                "kind": "payment",
                "patient_id": patient_ids[n % PATIENTS],
                "appointment_id": appointment_id,
                "amount_pence": 6500,
                "method": ["card", "cash", "bank_transfer", "online"][n % 4],
                "recorded_by_name": "Bench",
                "recorded_at": first + timedelta(days=n % 365, hours=12),
                "waive_reason": "",
            }
            for n, appointment_id in enumerate(appointment_ids)
        ],
    )
    for practitioner in practitioners:
        for week in range(0, 52, 2):
            block = first + timedelta(weeks=week, hours=13)
            db.session.add(
                TimeOff(
                    practitioner=practitioner,
                    starts_at=block,
                    ends_at=block + timedelta(hours=3),
                    reason="Training",
                )
            )
    db.session.commit()
    return first, first + timedelta(days=day)


def _statements(function: Callable[[], object]) -> int:
    from sqlalchemy import event

    from booking.extensions import db

    function()
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    function()
    event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def _time(functions: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Samples taken in turn, so that the floor and the figures share the machine's load."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(runs):
        for name, function in functions.items():
            began = CLOCK()
            function()
            samples[name].append(CLOCK() - began)
    return samples


def _line(label: str, samples: list[float], statements: int | None, extra: str = "") -> float:
    median = statistics.median(samples) * 1000
    p95 = percentile(samples, 0.95) * 1000
    said = f"{statements:>2} statements" if statements is not None else " " * 13
    print(f"  {label:<46} median {median:7.2f} ms  p95 {p95:7.2f} ms  {said}{extra}")
    return median


def measure(url: str, backend: str, runs: int) -> bool:
    """Load the clinic into the empty database at `url` and time it; True when the target is met."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from booking import create_app
    from booking.clinic import reports
    from booking.clinic.localtime import local_today
    from booking.clinic.settings import clinic_settings
    from booking.extensions import db
    from booking.models import Appointment
    from tests.forms import csrf_token

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        now = datetime.now(UTC).replace(microsecond=0)
        _load(now)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        settings = clinic_settings()
        today = local_today(now, settings.zone)
        first_day = today - timedelta(days=364)
        span = reports.day_range(first_day, today, settings.zone)

        def floor():
            return db.session.execute(
                select(
                    func.count(),
                    func.sum(reports.minutes_between(Appointment.starts_at, Appointment.ends_at)),
                ).where(
                    Appointment.starts_at >= span.starts_at, Appointment.starts_at < span.ends_at
                )
            ).one()

        def figures():
            return reports.dashboard(first_day, today, settings=settings, now=now)

        client = app.test_client()
        page = client.get("/staff/sign-in")
        client.post(
            "/staff/sign-in",
            data={
                "email": "bench-admin@clinic.example",
                "password": PASSWORD,
                "csrf_token": csrf_token(page.get_data(as_text=True)),
            },
        )
        address = f"/diary/reports?first_day={first_day}&last_day={today}"

        def whole_page():
            response = client.get(address)
            assert response.status_code == 200, response.status_code
            return response

        counted = floor()[0]
        print(
            f"{backend}: {APPOINTMENTS} appointments, {counted} in the year's range; "
            f"{runs} runs each"
        )
        samples = _time({"floor": floor, "figures": figures, "page": whole_page}, runs)
        floor_ms = _line("floor: the bare aggregate over the year", samples["floor"], 1)
        figures_ms = _line(
            "the dashboard's figures (every query)", samples["figures"], _statements(figures)
        )
        page_ms = statistics.median(samples["page"]) * 1000
        met = page_ms < PAGE_TARGET_MS
        _line(
            "the whole page, /diary/reports",
            samples["page"],
            None,
            f"  {page_ms / floor_ms:4.1f}x floor; target < {PAGE_TARGET_MS:g} ms: "
            f"{'MET' if met else 'NOT MET'}",
        )
        print(f"  figures over floor: {figures_ms / floor_ms:4.1f}x")
        db.session.remove()
        db.engine.dispose()
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="PostgreSQL is skipped, with the reason, when no server answers",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    met = True
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as directory:
            url = f"sqlite:///{Path(directory) / 'dashboard.sqlite3'}"
            met &= measure(url, "SQLite", args.runs)
    if args.backend in ("postgresql", "both"):
        from bench.postgres import Unreachable, scratch_database, sqlalchemy_url

        try:
            with scratch_database("perf_dashboard") as conninfo:
                met &= measure(sqlalchemy_url(conninfo), "PostgreSQL", args.runs)
        except Unreachable as error:
            print(f"PostgreSQL: skipped: {error}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
