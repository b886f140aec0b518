"""Free slots for one practitioner: one day and a 30-day month, with 0, 1,000 and 10,000 bookings.

    python -m bench.availability [--runs 30]

Uses its own temporary SQLite database, migrated and loaded with the demo clinic.
The appointments are spread over the year around the measured month, as in a busy
clinic's history; the month itself gets its share. Prints the median and 95th
percentile of `availability.practitioner_free_starts` for each case.

Target: the month with 10,000 existing appointments under 20 ms.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import percentile

ROOT = Path(__file__).resolve().parent.parent
MONTH_TARGET_MS = 20


def _add_appointments(count: int, practitioner, session_type, around: datetime) -> None:
    """`count` 45-minute appointments, eight a day, from six months before `around` on."""
    from sqlalchemy import insert

    from booking.extensions import db
    from booking.models import Appointment, Patient

    if count == 0:
        return
    patient = Patient(name="Bench Patient", email="bench@example.org")
    db.session.add(patient)
    db.session.flush()
    first_day = around - timedelta(days=182)
    rows, day_index = [], 0
    per_day = 8  # 09:00 to 17:00, one an hour, never overlapping
    while len(rows) < count:
        day = first_day + timedelta(days=day_index)
        for hour in range(per_day):
            if len(rows) == count:
                break
            starts_at = day.replace(hour=9 + hour, minute=0)
            rows.append(
                {
                    "uid": f"bench-{len(rows)}-{practitioner.id}",
                    "practitioner_id": practitioner.id,
                    "patient_id": patient.id,
                    "session_type_id": session_type.id,
                    "starts_at": starts_at,
                    "ends_at": starts_at + timedelta(minutes=45),
                    "status": "booked",
                    "price_pence": 0,
                }
            )
        day_index += 1
    db.session.execute(insert(Appointment), rows)
    db.session.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-availability-") as directory:
        url = f"sqlite:///{Path(directory) / 'availability.sqlite3'}"
        os.environ["TEST_DATABASE_URL"] = url
        from flask_migrate import upgrade
        from sqlalchemy import delete, select

        from booking import create_app
        from booking.cli import seed_demo
        from booking.clinic import availability
        from booking.clinic.localtime import local_today
        from booking.clinic.settings import clinic_settings
        from booking.extensions import db
        from booking.models import Appointment, Practitioner, SessionType

        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        missed = False
        with app.app_context():
            upgrade()
            seed_demo()
            practitioner = db.session.scalar(select(Practitioner).filter_by(slug="colette-assor"))
            session_type = db.session.scalar(select(SessionType).filter_by(slug="massage"))
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            settings = clinic_settings()
            today = local_today(now, settings.zone)
            # A month inside the booking horizon, starting tomorrow.
            first, last = today + timedelta(days=1), today + timedelta(days=30)
            print(
                f"one practitioner, {session_type.name} ({session_type.duration_minutes} min), "
                f"SQLite, {args.runs} runs each"
            )
            for existing in (0, 1_000, 10_000):
                db.session.execute(delete(Appointment))
                db.session.commit()
                _add_appointments(existing, practitioner, session_type, now)
                in_month = sum(
                    len(v)
                    for v in availability.practitioner_free_starts(
                        practitioner, session_type, first, last, now=now, settings=settings
                    ).values()
                )
                for label, (start_day, end_day), target in (
                    ("one day", (first, first), None),
                    ("30-day month", (first, last), MONTH_TARGET_MS),
                ):
                    samples = []
                    for _ in range(args.runs):
                        db.session.expire_all()
                        began = time.perf_counter()
                        availability.practitioner_free_starts(
                            practitioner,
                            session_type,
                            start_day,
                            end_day,
                            now=now,
                            settings=settings,
                        )
                        samples.append(time.perf_counter() - began)
                    median = statistics.median(samples) * 1000
                    p95 = percentile(samples, 0.95) * 1000
                    verdict = ""
                    if target is not None:
                        met = median < target
                        missed = missed or not met
                        verdict = f"  target < {target} ms: {'met' if met else 'MISSED'}"
                    print(
                        f"{existing:>6} appointments  {label:<13} median {median:6.2f} ms"
                        f"   p95 {p95:6.2f} ms{verdict}"
                    )
                print(f"{'':>6} ({in_month} free starts in the month)")
            db.session.remove()
            db.engine.dispose()
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
