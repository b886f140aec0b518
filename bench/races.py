"""Pairs of racing changes through the real views on PostgreSQL: one wins, nothing breaks.

    python -m bench.races [--rounds 20] [--pair NAME ...]

Creates a scratch database on the PostgreSQL server of BENCH_DATABASE_URL,
TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres, builds it with the
real migrations and, for each pair of changes below, runs `--rounds` rounds: the demo
clinic afresh, each person's page loaded (their form, their CSRF token), then both
requests posted through Flask test clients in two threads released by one barrier.

Per pair it prints the rounds, the requests that won, those refused with a message,
the rounds left inconsistent (the final state, the patient's messages with their
SEQUENCE, the audit log and the credit ledger checked against each other) and the
answers of 500 or more. The target is 0 inconsistencies and 0 server errors; the exit
status is 1 otherwise.
"""

import argparse
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from bench.postgres import Unreachable, scratch_database, sqlalchemy_url

LONDON = ZoneInfo("Europe/London")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Tally:
    rounds: int = 0
    winners: int = 0
    refusals: int = 0
    inconsistencies: int = 0
    server_errors: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class Attempt:
    """One person's request, ready to post, and how to read its answer."""

    post: Callable[[], object]
    won: Callable[[object], bool]
    name: str


# The answers that let a course session be booked online (no warning sign; consent given).
SAFE_ANSWERS = {"cauda_equina": "no", "other_warning": "no", "consent": "y"}


def token(html: str) -> str:
    match = CSRF.search(html)
    if match is None:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" type="hidden" value="([^"]*)"', html)
    return match.group(1) if match else ""


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, clock(hour), LONDON).astimezone(UTC)


def race_day() -> date:
    """A Tuesday at least six days ahead: inside the horizon, outside the notice period."""
    day = datetime.now(LONDON).date() + timedelta(days=6)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return day


class Clinic:
    """The app, its database, and the helpers every pair uses to set a round up."""

    def __init__(self, app):
        self.app = app
        self.day = race_day()
        self.accounts = 0

    # Setting up --------------------------------------------------------------------------

    def reset(self) -> None:
        from booking.cli import seed_demo
        from booking.clinic.settings import forget_clinic_settings
        from booking.extensions import db

        tables = ", ".join(table.name for table in reversed(db.metadata.sorted_tables))
        with db.engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        db.session.remove()
        # Emptied behind the ORM's back: the cached clinic settings must go too.
        forget_clinic_settings()
        seed_demo()

    def staff_client(self, role: str = "receptionist"):
        from booking.clinic import team

        self.accounts += 1
        number = self.accounts
        email = f"{role}-{number}@clinic.example"
        _, password = team.add_staff_account(
            name=f"Racing {role} {number}",
            email=email,
            role=role,
            practitioner=None,
            staff_user=None,
        )
        client = self.app.test_client()
        page = client.get("/staff/sign-in").get_data(as_text=True)
        answer = client.post(
            "/staff/sign-in",
            data={"email": email, "password": password, "csrf_token": token(page)},
        )
        if answer.status_code != 302:
            raise RuntimeError(f"sign-in failed: {answer.status_code}")
        return client

    def book(self, hour: int, name: str, email: str, *, day: date | None = None):
        import sqlalchemy as sa

        from booking.clinic.appointments import PatientDetails, book_appointment
        from booking.extensions import db
        from booking.models import Practitioner, SessionType

        return book_appointment(
            session_type=db.session.scalar(
                sa.select(SessionType).filter_by(slug="full-combination")
            ),
            starts_at=at(day or self.day, hour),
            practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
            patient=PatientDetails(name, email, "07700900123"),
        )

    # Reading the outcome -----------------------------------------------------------------

    def appointment(self, appointment_id: int):
        from booking.extensions import db
        from booking.models import Appointment

        db.session.expire_all()
        return db.session.get(Appointment, appointment_id)

    def patient_messages(self, appointment_id: int) -> list:
        import sqlalchemy as sa

        from booking.extensions import db
        from booking.models import OutboxMessage

        rows = db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.appointment_id == appointment_id)
            .order_by(OutboxMessage.id)
        )
        return [row for row in rows if not row.kind.startswith("reception_")]

    def audit(self, appointment_id: int) -> list[str]:
        import sqlalchemy as sa

        from booking.extensions import db
        from booking.models import AuditEvent

        return list(
            db.session.scalars(
                sa.select(AuditEvent.action)
                .where(
                    AuditEvent.subject_type == "Appointment",
                    AuditEvent.subject_id == appointment_id,
                    AuditEvent.action.in_(["appointment.moved", "appointment.cancelled"]),
                )
                .order_by(AuditEvent.id)
            )
        )

    def told(self, appointment_id: int, kinds: list[str], *, starts_at=None) -> list[str]:
        """Problems with what the patient was sent, given the kinds that should be there."""
        appointment = self.appointment(appointment_id)
        messages = self.patient_messages(appointment_id)
        problems = []
        if [m.kind for m in messages] != kinds:
            problems.append(f"patient sent {[m.kind for m in messages]}, expected {kinds}")
        sequences = [_ics_field(m.ics, "SEQUENCE") for m in messages]
        if sequences != sorted(set(sequences)) or (
            sequences and sequences[-1] != str(appointment.sequence)
        ):
            problems.append(f"SEQUENCE {sequences} for an appointment at {appointment.sequence}")
        if starts_at is not None and messages:
            shown = _ics_field(messages[-1].ics, "DTSTART")
            if not shown.startswith(starts_at.astimezone(LONDON).strftime("%Y%m%dT%H%M")):
                problems.append(f"last invitation says {shown}, appointment at {starts_at}")
        return problems


def _ics_field(ics: str | None, name: str) -> str:
    event = (ics or "").partition("BEGIN:VEVENT")[2]
    match = re.search(rf"^{name}[^:\r\n]*:(\S+)", event, re.MULTILINE)
    return match.group(1) if match else ""


def _succeeded(response) -> bool:
    """The page the view redirected to says the change was made (its success message)."""
    return response.status_code < 400 and 'class="flash flash-success"' in response.get_data(
        as_text=True
    )


# The pairs ---------------------------------------------------------------------------------


def staff_page(client, appointment_id: int) -> tuple[str, str, str]:
    html = client.get(f"/diary/appointments/{appointment_id}").get_data(as_text=True)
    return token(html), hidden(html, "move-sequence"), hidden(html, "cancel-sequence")


def staff_move(client, appointment_id: int, day: date, hour: int, practitioner_id: int):
    csrf, sequence, _ = staff_page(client, appointment_id)
    return Attempt(
        post=lambda: client.post(
            f"/diary/appointments/{appointment_id}/move",
            data={
                "csrf_token": csrf,
                "move-day": day.isoformat(),
                "move-at": f"{hour:02d}:00",
                "move-practitioner_id": practitioner_id,
                "move-sequence": sequence,
            },
            follow_redirects=True,
        ),
        won=_succeeded,
        name=f"move to {hour:02d}:00",
    )


def staff_cancel(client, appointment_id: int):
    csrf, _, sequence = staff_page(client, appointment_id)
    return Attempt(
        post=lambda: client.post(
            f"/diary/appointments/{appointment_id}/cancel",
            data={
                "csrf_token": csrf,
                "cancel-reason": "Rang",
                "cancel-requested_by": "patient",
                "cancel-sequence": sequence,
            },
            follow_redirects=True,
        ),
        won=_succeeded,
        name="staff cancel",
    )


def colette_id() -> int:
    import sqlalchemy as sa

    from booking.extensions import db
    from booking.models import Practitioner

    return db.session.scalar(sa.select(Practitioner.id).filter_by(slug="colette-assor"))


def pair_move_vs_cancel(clinic: Clinic):
    appointment = clinic.book(10, "Move Cancel", "move-cancel@example.org")
    appointment_id = appointment.id
    attempts = [
        staff_move(clinic.staff_client(), appointment_id, clinic.day, 14, colette_id()),
        staff_cancel(clinic.staff_client(), appointment_id),
    ]

    def check(won: list[bool]) -> list[str]:
        final = clinic.appointment(appointment_id)
        if won == [True, False]:
            return (
                clinic.told(appointment_id, ["confirmation", "moved"], starts_at=at(clinic.day, 14))
                + _audit(clinic, appointment_id, ["appointment.moved"])
                + ([] if final.status == "booked" else [f"moved but {final.status}"])
            )
        if won == [False, True]:
            return (
                clinic.told(appointment_id, ["confirmation", "cancelled"])
                + _audit(clinic, appointment_id, ["appointment.cancelled"])
                + ([] if final.status == "cancelled" else [f"cancelled but {final.status}"])
            )
        return [f"winners {won}"]

    return attempts, check


def _audit(clinic: Clinic, appointment_id: int, expected: list[str]) -> list[str]:
    actions = clinic.audit(appointment_id)
    return [] if actions == expected else [f"audit {actions}, expected {expected}"]


def pair_two_moves(clinic: Clinic):
    appointment_id = clinic.book(10, "Two Moves", "two-moves@example.org").id
    hours = (14, 16)
    attempts = [
        staff_move(clinic.staff_client(), appointment_id, clinic.day, hour, colette_id())
        for hour in hours
    ]

    def check(won: list[bool]) -> list[str]:
        if won.count(True) != 1:
            return [f"winners {won}"]
        target = at(clinic.day, hours[won.index(True)])
        final = clinic.appointment(appointment_id)
        problems = [] if final.starts_at == target else [f"at {final.starts_at}, not {target}"]
        return (
            problems
            + clinic.told(appointment_id, ["confirmation", "moved"], starts_at=target)
            + _audit(clinic, appointment_id, ["appointment.moved"])
        )

    return attempts, check


def pair_two_cancellations(clinic: Clinic):
    from booking.clinic.tokens import manage_token

    appointment = clinic.book(10, "Two Cancels", "two-cancels@example.org")
    appointment_id, manage = appointment.id, f"/manage/{manage_token(appointment)}"
    patient = clinic.app.test_client()
    # The patient's cancel button opens a review page with the form.
    html = patient.get(f"{manage}/cancel").get_data(as_text=True)
    csrf, sequence = token(html), hidden(html, "sequence")
    attempts = [
        staff_cancel(clinic.staff_client(), appointment_id),
        Attempt(
            post=lambda: patient.post(
                f"{manage}/cancel",
                data={"csrf_token": csrf, "sequence": sequence},
                follow_redirects=True,
            ),
            won=_succeeded,
            name="patient cancel",
        ),
    ]

    def check(won: list[bool]) -> list[str]:
        if won.count(True) != 1:
            return [f"winners {won}"]
        final = clinic.appointment(appointment_id)
        by = "clinic" if won[0] else "patient"
        problems = [] if final.cancelled_by == by else [f"cancelled by {final.cancelled_by}"]
        audit = ["appointment.cancelled"] if won[0] else []
        return (
            problems
            + clinic.told(appointment_id, ["confirmation", "cancelled"])
            + _audit(clinic, appointment_id, audit)
        )

    return attempts, check


def pair_erase_vs_rebook(clinic: Clinic):
    import sqlalchemy as sa

    from booking.clinic.appointments import cancel_appointment
    from booking.extensions import db
    from booking.models import Appointment, OutboxMessage, Patient

    earlier = clinic.book(9, "Erin Erasure", "erin@example.org")
    cancel_appointment(earlier, reason="Moved away")
    patient_id = earlier.patient_id
    admin = clinic.staff_client("admin")
    page = admin.get(f"/diary/patients/{patient_id}").get_data(as_text=True)
    admin_csrf = token(page)
    public = clinic.app.test_client()
    start = at(clinic.day, 14).strftime("%Y%m%dT%H%MZ")
    details = f"/book/full-combination/details?practitioner=colette-assor&start={start}"
    public_csrf = token(public.get(details).get_data(as_text=True))
    answers = {
        "name": "Erin Erasure",
        "email": "erin@example.org",
        "phone": "07700 900123",
        "note": "",
        "cauda_equina": "no",
        "other_warning": "no",
        "consent": "y",
        "csrf_token": public_csrf,
    }
    attempts = [
        Attempt(
            post=lambda: admin.post(
                f"/diary/patients/{patient_id}/erase",
                data={"csrf_token": admin_csrf, "confirm_name": "Erin Erasure"},
            ),
            won=lambda response: response.status_code == 302,
            name="erase",
        ),
        Attempt(
            post=lambda: public.post(details, data=answers),
            won=lambda response: (
                response.status_code == 302 and "/book/confirmed/" in response.location
            ),
            name="re-book",
        ),
    ]

    def check(won: list[bool]) -> list[str]:
        db.session.expire_all()
        problems = [] if won[1] else ["the re-booking was refused"]
        erased = db.session.get(Patient, patient_id)
        ids = list(
            db.session.scalars(
                sa.select(Appointment.id).where(Appointment.patient_id == patient_id)
            )
        )
        live = db.session.scalars(
            sa.select(Appointment).where(Appointment.id.in_(ids), Appointment.is_live)
        ).all()
        if won[0]:
            if erased.email is not None or live:
                problems.append(f"erased patient with {len(live)} live bookings")
            left = db.session.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.appointment_id.in_(ids))
            ).all()
            if any("erin" in (m.recipient + m.text_body).lower() for m in left):
                problems.append("queued mail still names the erased patient")
        elif erased.email != "erin@example.org" or len(live) != 1:
            problems.append("erasure refused but the booking is not on the record")
        return problems

    return attempts, check


def pair_staff_slot_race(clinic: Clinic):
    ids = [
        clinic.book(9, "Slot A", "slot-a@example.org").id,
        clinic.book(14, "Slot B", "slot-b@example.org").id,
    ]
    attempts = [
        staff_move(clinic.staff_client(), appointment_id, clinic.day, 11, colette_id())
        for appointment_id in ids
    ]
    return attempts, _slot_check(clinic, ids, at(clinic.day, 11))


def _slot_check(clinic: Clinic, ids: list[int], target: datetime):
    def check(won: list[bool]) -> list[str]:
        if won.count(True) != 1:
            return [f"winners {won}"]
        winner, loser = ids[won.index(True)], ids[won.index(False)]
        moved, kept = clinic.appointment(winner), clinic.appointment(loser)
        problems = [] if moved.starts_at == target else ["the winner is not at the time"]
        if kept.sequence != 0 or kept.starts_at == target:
            problems.append("the loser was changed")
        return problems + clinic.told(winner, ["confirmation", "moved"], starts_at=target)

    return check


def pair_patient_slot_race(clinic: Clinic):
    from booking.clinic.tokens import manage_token

    booked = [
        clinic.book(9, "Online A", "online-a@example.org"),
        clinic.book(14, "Online B", "online-b@example.org"),
    ]
    target = at(clinic.day + timedelta(days=1), 11)
    start = target.strftime("%Y%m%dT%H%MZ")
    attempts = []
    for appointment in booked:
        client = clinic.app.test_client()
        url = f"/manage/{manage_token(appointment)}/reschedule"
        # The patient picks the time, then confirms it on the review page.
        html = client.get(f"{url}/review?start={start}").get_data(as_text=True)
        data = {"csrf_token": token(html), "start": start, "sequence": hidden(html, "sequence")}
        attempts.append(
            Attempt(
                post=lambda client=client, url=url, data=data: client.post(url, data=data),
                won=lambda response: response.status_code == 302,
                name="reschedule",
            )
        )
    return attempts, _slot_check(clinic, [a.id for a in booked], target)


def pair_last_credit(clinic: Clinic):
    import sqlalchemy as sa

    from booking.clinic import courses, credits
    from booking.clinic.appointments import PatientDetails
    from booking.clinic.tokens import course_token
    from booking.extensions import db
    from booking.models import Appointment, CourseProduct, CreditEntry

    course = courses.sell_course(
        db.session.scalar(sa.select(CourseProduct)),
        PatientDetails("Cora Course", "cora@example.org", "07700900321"),
        staff_user=None,
        payment_reference="till",
    )
    course = credits.adjust_credits(course, -9, "Used before", staff_user=None)
    course_id, base = course.id, f"/course/{course_token(course)}/book/review"
    attempts = []
    for hour in (10, 15):
        client = clinic.app.test_client()
        start = at(clinic.day, hour).strftime("%Y%m%dT%H%MZ")
        # A course session is booked from its review page, with the safety questions answered.
        url = f"{base}?practitioner=colette-assor&start={start}"
        html = client.get(url).get_data(as_text=True)
        data = {"csrf_token": token(html), **SAFE_ANSWERS}
        attempts.append(
            Attempt(
                post=lambda client=client, url=url, data=data: client.post(url, data=data),
                won=lambda response: response.status_code == 302,
                name=f"book {hour}:00",
            )
        )

    def check(won: list[bool]) -> list[str]:
        if won.count(True) != 1:
            return [f"winners {won}"]
        db.session.expire_all()
        problems = []
        ledger = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.change), 0)).where(
                CreditEntry.course_id == course_id
            )
        )
        sessions = db.session.scalar(
            sa.select(sa.func.count()).where(
                Appointment.course_id == course_id, Appointment.is_live
            )
        )
        if ledger != 0 or sessions != 1:
            problems.append(f"ledger {ledger}, {sessions} sessions booked on one credit")
        return problems

    return attempts, check


PAIRS = {
    "staff move vs cancellation": pair_move_vs_cancel,
    "two moves of one appointment": pair_two_moves,
    "two cancellations": pair_two_cancellations,
    "erase patient vs online re-book": pair_erase_vs_rebook,
    "staff moves racing for one slot": pair_staff_slot_race,
    "patient reschedules racing for one slot": pair_patient_slot_race,
    "two bookings for the last credit": pair_last_credit,
}


def run_round(clinic: Clinic, build, tally: Tally) -> None:
    from booking.extensions import db

    with clinic.app.app_context():
        clinic.reset()
        attempts, check = build(clinic)
        db.session.remove()
    start_line = threading.Barrier(2)
    answers: list = [None, None]

    def go(number: int) -> None:
        with clinic.app.app_context():
            start_line.wait(timeout=60)
            try:
                answers[number] = attempts[number].post()
            except Exception as error:  # noqa: BLE001 - an escaped exception is a 500
                answers[number] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=go, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    tally.rounds += 1
    won = []
    for attempt, answer in zip(attempts, answers, strict=True):
        if answer is None or isinstance(answer, Exception) or answer.status_code >= 500:
            tally.server_errors += 1
            tally.problems.append(f"{attempt.name}: {answer!r}"[:300])
            won.append(False)
            continue
        won.append(attempt.won(answer))
    tally.winners += won.count(True)
    tally.refusals += won.count(False)
    with clinic.app.app_context():
        problems = check(won)
        db.session.remove()
    if problems:
        tally.inconsistencies += 1
        tally.problems.extend(problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pair", action="append", choices=sorted(PAIRS), help="only these")
    options = parser.parse_args()
    try:
        with scratch_database("bench_races") as conninfo:
            return run(conninfo, options)
    except Unreachable as error:
        print(f"skipped: {error}")
        return 0


def run(conninfo: str, options: argparse.Namespace) -> int:
    from flask_migrate import upgrade

    from booking import create_app
    from booking.extensions import db

    # Errors become answers of 500, as in production, instead of escaping the test client.
    app = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=sqlalchemy_url(conninfo), PROPAGATE_EXCEPTIONS=False
    )
    try:
        with app.app_context():
            upgrade()
        clinic = Clinic(app)
        print(f"PostgreSQL, {options.rounds} rounds per pair, two requests behind one barrier")
        header = f"{'pair':<42}{'rounds':>7}{'winners':>8}{'refused':>8}{'inconsistent':>13}"
        print(header + f"{'5xx':>5}")
        failed = False
        for name in options.pair or list(PAIRS):
            tally = Tally()
            for _ in range(options.rounds):
                run_round(clinic, PAIRS[name], tally)
            print(
                f"{name:<42}{tally.rounds:>7}{tally.winners:>8}{tally.refusals:>8}"
                f"{tally.inconsistencies:>13}{tally.server_errors:>5}"
            )
            for problem in tally.problems[:5]:
                print(f"    {problem}")
            failed = failed or bool(tally.inconsistencies or tally.server_errors)
        print("target met: 0 inconsistencies, 0 server errors" if not failed else "TARGET MISSED")
        return 1 if failed else 0
    finally:
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
