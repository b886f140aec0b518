"""Free times: a month for one practitioner, and "anyone" across 1, 5 and 20 practitioners.

    python -m bench.availability [--runs 30] [--backend sqlite|postgresql|both]

Uses its own temporary database on each backend (SQLite, then a scratch database
named perf_availability_* on the PostgreSQL server of bench/postgres.py when one
answers), migrated and loaded with the demo clinic plus 18 more practitioners giving
massage, 20 in all. The measured practitioner has 10,000 appointments spread over
the year around the month (eight a day), the others 500 each, all with some blocked
time. Prints medians and 95th percentiles, and the statements each call sends.

The floor is measured in the same run: one ORM query through the session fetching
the same rows the month needs (the practitioner's live appointments in the month).

Targets: a month of availability for one practitioner within 3x the floor (by the best
samples, the medians beside them; see bench/harness.py for the timing and the tolerance).
The "anyone" rows must send the same number of statements for 1, 5 and 20 practitioners.
"""

import argparse
from datetime import UTC, datetime, timedelta
from datetime import time as clock

from bench import harness

MONTH_RATIO_TARGET = 3.0
CLINIC_SIZES = (1, 5, 20)
BUSY_APPOINTMENTS = 10_000
OTHERS_APPOINTMENTS = 500


def _add_appointments(
    count: int, practitioner_id: int, session_type_id: int, patient_id: int, around: datetime
) -> None:
    """`count` 45-minute appointments, eight a day, from six months before `around` on."""
    from sqlalchemy import insert

    from booking.extensions import db
    from booking.models import Appointment

    first_day = (around - timedelta(days=182)).replace(hour=0, minute=0)
    rows, day_index = [], 0
    while len(rows) < count:
        day = first_day + timedelta(days=day_index)
        for hour in range(8):  # 09:00 to 17:00 UTC, one an hour, never overlapping
            if len(rows) == count:
                break
            starts_at = day.replace(hour=9 + hour)
            rows.append(
                {
                    "uid": f"bench-{len(rows)}-{practitioner_id}",
                    "practitioner_id": practitioner_id,
                    "patient_id": patient_id,
                    "session_type_id": session_type_id,
                    "starts_at": starts_at,
                    "ends_at": starts_at + timedelta(minutes=45),
                    "status": "booked" if len(rows) % 10 else "cancelled",
                    "price_pence": 0,
                }
            )
        day_index += 1
    db.session.execute(insert(Appointment), rows)


def _load(now: datetime):
    """The demo clinic grown to 20 practitioners giving massage; returns them and massage."""
    from sqlalchemy import select

    from booking.cli import seed_demo
    from booking.extensions import db
    from booking.models import Patient, Practitioner, SessionType, TimeOff, WorkingHours

    seed_demo()
    massage = db.session.scalar(select(SessionType).filter_by(slug="massage"))
    colette = db.session.scalar(select(Practitioner).filter_by(slug="colette-assor"))
    others = [p for p in massage.practitioners if p is not colette]
    for number in range(max(CLINIC_SIZES) - 1 - len(others)):
        others.append(
            Practitioner(
                slug=f"bench-practitioner-{number}",
                name=f"Bench Practitioner {number}",
                position=10 + number,
                session_types=[massage],
                working_hours=[
                    WorkingHours(weekday=day, starts_at=clock(9), ends_at=clock(17))
                    for day in range(6)
                ],
            )
        )
    patient = Patient(name="Bench Patient", email="bench@example.org")
    db.session.add_all([*others, patient])
    db.session.flush()
    practitioners = [colette, *others]
    for practitioner in practitioners:
        count = BUSY_APPOINTMENTS if practitioner is colette else OTHERS_APPOINTMENTS
        _add_appointments(count, practitioner.id, massage.id, patient.id, now)
        for week in range(0, 52, 3):
            block = now - timedelta(days=120) + timedelta(weeks=week)
            db.session.add(
                TimeOff(
                    practitioner=practitioner,
                    starts_at=block,
                    ends_at=block + timedelta(hours=3),
                    reason="Training",
                )
            )
    db.session.commit()
    return practitioners, massage


def _line(label: str, samples: list[float], statements: int) -> None:
    print(f"  {label:<44} {harness.milliseconds(samples)}  {statements:>2} statements")


def measure(url: str, backend: str, runs: int) -> bool:
    """Load the clinic into the empty database at `url` and time it; True when targets met."""
    from sqlalchemy import select

    from booking.clinic import availability
    from booking.clinic.localtime import local_day_bounds, local_today
    from booking.clinic.settings import clinic_settings
    from booking.extensions import db
    from booking.models import Appointment

    met = True
    with harness.migrated_app(url):
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        practitioners, massage = _load(now)
        harness.analyse()
        settings = clinic_settings()
        zone = settings.zone
        today = local_today(now, zone)
        first, last = today + timedelta(days=1), today + timedelta(days=30)
        window_start = local_day_bounds(first, zone)[0]
        window_end = local_day_bounds(last, zone)[1]
        busy = practitioners[0]
        in_month = sum(
            len(starts)
            for starts in availability.practitioner_free_starts(
                busy, massage, first, last, now=now, settings=settings
            ).values()
        )

        def floor():
            # The rows availability reads from the appointments, by the same index.
            return db.session.execute(
                select(Appointment.starts_at, Appointment.ends_at).where(
                    Appointment.practitioner_id == busy.id,
                    Appointment.is_live,
                    Appointment.starts_at < window_end,
                    Appointment.starts_at > window_start - availability.LONGEST_APPOINTMENT,
                    Appointment.ends_at > window_start,
                )
            ).all()

        def month():
            return availability.practitioner_free_starts(
                busy, massage, first, last, now=now, settings=settings
            )

        def one_day():
            return availability.practitioner_free_starts(
                busy, massage, first, first, now=now, settings=settings
            )

        rows = len(floor())
        print(
            f"{backend}: {busy.name}, {BUSY_APPOINTMENTS} appointments in the year, {rows} live "
            f"in the month, {in_month} free starts; {runs} runs each"
        )
        samples = harness.interleaved({"floor": floor, "month": month, "day": one_day}, runs)
        harness.floor_line(
            "floor: one ORM query, the month's rows",
            samples["floor"],
            note=f"  {harness.statements(floor):>2} statements",
        )
        verdict = harness.ratio_to_floor(
            "a 30-day month, one practitioner",
            samples["month"],
            samples["floor"],
            MONTH_RATIO_TARGET,
            note=f"  {harness.statements(month):>2} statements",
        )
        met &= not verdict.fails
        _line("one day, one practitioner", samples["day"], harness.statements(one_day))

        counts = {}
        for size in CLINIC_SIZES:
            chosen = practitioners[:size]

            def anyone(chosen=chosen):
                return availability.anyone_free_starts(
                    chosen, massage, first, last, now=now, settings=settings
                )

            counts[size] = harness.statements(anyone)
            samples = harness.interleaved({"anyone": anyone}, runs)["anyone"]
            _line(f"a 30-day month, anyone of {size:>2} practitioners", samples, counts[size])
        constant = len(set(counts.values())) == 1
        met &= constant
        print(
            f"  statements for 1, 5 and 20 practitioners: "
            f"{', '.join(str(counts[size]) for size in CLINIC_SIZES)}; target: equal: "
            f"{harness.exactly(constant).word}"
        )
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    harness.backend_arguments(parser)
    args = parser.parse_args(argv)
    met = harness.on_each_backend(
        args.backend, "availability", lambda url, backend: measure(url, backend, args.runs)
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
