"""Two changes to the same row at the same moment: exactly one wins, the other is told why.

Each test releases a pair of changes behind one barrier (`tests.at_once.race`), on
whichever backend the run uses, then checks the final state against what the patient
was sent (one message per change that happened, their iCalendar SEQUENCE rising) and
against the audit log (each change recorded once).
"""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import courses, credits
from booking.clinic.appointments import (
    PatientDetails,
    book_appointment,
    cancel_appointment,
    move_appointment,
)
from booking.clinic.errors import SLOT_TAKEN_MESSAGE
from booking.clinic.patients import ERASED_NAME, erase_patient, is_erased
from booking.clinic.tokens import manage_token
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Course,
    CourseProduct,
    CreditEntry,
    OutboxMessage,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
)
from tests.at_once import race
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")
CHANGED_MEANWHILE = "This appointment was changed by someone else a moment ago"
ALREADY_CANCELLED = "This appointment has already been cancelled."


def next_weekday(weekday: int, *, at_least_days: int) -> object:
    day = datetime.now(LONDON).date() + timedelta(days=at_least_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def at(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour), LONDON).astimezone(UTC)


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def by_id(model, key: int):
    return db.session.get(model, key)


def patient_messages(appointment_id: int) -> list[OutboxMessage]:
    """The messages to the patient about one appointment, in the order they were queued."""
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.appointment_id == appointment_id)
        .order_by(OutboxMessage.id)
    )
    return [row for row in rows if not row.kind.startswith("reception_")]


def ics_sequence(message: OutboxMessage) -> int:
    event = (message.ics or "").partition("BEGIN:VEVENT")[2]
    match = re.search(r"^SEQUENCE:(\d+)", event, re.MULTILINE)
    assert match, f"{message.kind} carries no SEQUENCE"
    return int(match.group(1))


def ics_start(message: OutboxMessage) -> str:
    event = (message.ics or "").partition("BEGIN:VEVENT")[2]
    match = re.search(r"^DTSTART[^:]*:(\S+)", event, re.MULTILINE)
    assert match, f"{message.kind} carries no DTSTART"
    return match.group(1)


def audit_actions(appointment_id: int) -> list[str]:
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


def assert_messages_follow(appointment: Appointment, kinds: list[str]) -> None:
    """The patient got exactly `kinds`, each invitation's SEQUENCE above the one before."""
    messages = patient_messages(appointment.id)
    assert [message.kind for message in messages] == kinds
    sequences = [ics_sequence(message) for message in messages]
    assert sequences == sorted(set(sequences)), sequences
    assert sequences[-1] == appointment.sequence


@pytest.fixture
def clinic(app, demo, make_staff):
    """Ids of what the races need: two receptionists, Colette, the full combination."""
    return {
        "staff": [make_staff("receptionist").id, make_staff("receptionist").id],
        "practitioner": get(Practitioner, slug="colette-assor").id,
        "session_type": get(SessionType, slug="full-combination").id,
        "day": next_weekday(1, at_least_days=6),
    }


def book(clinic, hour: int, name: str, email: str, *, day=None) -> Appointment:
    return book_appointment(
        session_type=by_id(SessionType, clinic["session_type"]),
        starts_at=at(day or clinic["day"], hour),
        practitioner=by_id(Practitioner, clinic["practitioner"]),
        patient=PatientDetails(name, email, "07700900123"),
    )


def test_a_staff_move_and_a_cancellation_of_one_appointment_exactly_one_wins(app, clinic):
    appointment = book(clinic, 10, "Race Move Cancel", "move-cancel@example.org")
    appointment_id, staff, seen = appointment.id, clinic["staff"], appointment.sequence
    new_start = at(clinic["day"], 14)
    db.session.remove()

    def move():
        move_appointment(
            by_id(Appointment, appointment_id),
            starts_at=new_start,
            staff_user=by_id(StaffUser, staff[0]),
            seen_sequence=seen,
        )
        return "moved"

    def cancel():
        cancel_appointment(
            by_id(Appointment, appointment_id),
            reason="Patient rang",
            staff_user=by_id(StaffUser, staff[1]),
            seen_sequence=seen,
        )
        return "cancelled"

    outcomes = race(app, 2, lambda number: (move, cancel)[number]())

    assert len([o for o in outcomes if o in ("moved", "cancelled")]) == 1, outcomes
    loser = next(o for o in outcomes if o not in ("moved", "cancelled"))
    assert loser.startswith(CHANGED_MEANWHILE) or loser == ALREADY_CANCELLED, outcomes
    final = by_id(Appointment, appointment_id)
    assert final.sequence == 1
    if "cancelled" in outcomes:
        assert final.status == AppointmentStatus.CANCELLED
        assert final.starts_at == at(clinic["day"], 10)
        assert_messages_follow(final, ["confirmation", "cancelled"])
        assert audit_actions(appointment_id) == ["appointment.cancelled"]
    else:
        assert final.status == AppointmentStatus.BOOKED
        assert final.starts_at == new_start
        assert_messages_follow(final, ["confirmation", "moved"])
        assert audit_actions(appointment_id) == ["appointment.moved"]


def test_two_moves_of_one_appointment_leave_it_where_the_winner_put_it(app, clinic):
    appointment = book(clinic, 10, "Race Two Moves", "two-moves@example.org")
    appointment_id, staff, seen = appointment.id, clinic["staff"], appointment.sequence
    targets = [at(clinic["day"], 14), at(clinic["day"], 16)]
    db.session.remove()

    def attempt(number: int) -> str:
        move_appointment(
            by_id(Appointment, appointment_id),
            starts_at=targets[number],
            staff_user=by_id(StaffUser, staff[number]),
            seen_sequence=seen,
        )
        return f"moved to {number}"

    outcomes = race(app, 2, attempt)

    winners = [o for o in outcomes if o.startswith("moved to")]
    assert len(winners) == 1, outcomes
    assert any(o.startswith(CHANGED_MEANWHILE) for o in outcomes), outcomes
    final = by_id(Appointment, appointment_id)
    assert final.starts_at == targets[int(winners[0][-1])]
    assert final.sequence == 1
    assert_messages_follow(final, ["confirmation", "moved"])
    # The invitation the patient has holds the time the appointment is at.
    moved = patient_messages(appointment_id)[-1]
    assert ics_start(moved).startswith(final.starts_at.astimezone(LONDON).strftime("%Y%m%dT%H%M"))
    assert audit_actions(appointment_id) == ["appointment.moved"]


def test_two_cancellations_are_recorded_and_told_once(app, clinic):
    appointment = book(clinic, 10, "Race Two Cancels", "two-cancels@example.org")
    appointment_id, staff = appointment.id, clinic["staff"]
    db.session.remove()

    def attempt(number: int) -> str:
        # No version from a page: the lock alone must make the second see the first.
        cancel_appointment(
            by_id(Appointment, appointment_id),
            reason=f"Reason {number}",
            staff_user=by_id(StaffUser, staff[number]),
        )
        return "cancelled"

    outcomes = race(app, 2, attempt)

    assert sorted(outcomes) == [ALREADY_CANCELLED, "cancelled"], outcomes
    final = by_id(Appointment, appointment_id)
    assert final.status == AppointmentStatus.CANCELLED and final.sequence == 1
    assert_messages_follow(final, ["confirmation", "cancelled"])
    assert audit_actions(appointment_id) == ["appointment.cancelled"]


def test_erasing_a_patient_while_they_book_again_never_leaves_an_erased_patient_booked(app, clinic):
    earlier = book(clinic, 10, "Erin Erasure", "erin@example.org")
    cancel_appointment(
        earlier, reason="Moved away", staff_user=by_id(StaffUser, clinic["staff"][0])
    )
    patient_id, staff = earlier.patient_id, clinic["staff"]
    slot = at(clinic["day"], 14)
    db.session.remove()

    def erase():
        erase_patient(
            by_id(Patient, patient_id),
            typed_name="Erin Erasure",
            staff_user=by_id(StaffUser, staff[0]),
        )
        return "erased"

    def rebook():
        book(clinic, 14, "Erin Erasure", "erin@example.org")
        return "booked"

    outcomes = race(app, 2, lambda number: (erase, rebook)[number]())

    assert "booked" in outcomes, outcomes
    db.session.expire_all()
    erased = by_id(Patient, patient_id)
    live = db.session.scalars(
        sa.select(Appointment).where(Appointment.starts_at == slot, Appointment.is_live)
    ).all()
    assert len(live) == 1
    if "erased" in outcomes:
        assert is_erased(erased) and erased.name == ERASED_NAME
        # The booking went to a new record; nothing left names the erased one.
        assert live[0].patient_id != patient_id
        assert live[0].patient.email == "erin@example.org"
        erased_ids = select_ids(patient_id)
        leftovers = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.appointment_id.in_(erased_ids))
        ).all()
        assert all("erin" not in (m.recipient + m.text_body).lower() for m in leftovers)
    else:
        assert "still has 1 appointment booked" in " ".join(outcomes), outcomes
        assert not is_erased(erased) and live[0].patient_id == patient_id


def select_ids(patient_id: int) -> list[int]:
    return list(
        db.session.scalars(sa.select(Appointment.id).where(Appointment.patient_id == patient_id))
    )


def test_two_bookings_for_the_last_course_credit_spend_it_once(app, clinic):
    staff = by_id(StaffUser, clinic["staff"][0])
    course = courses.sell_course(
        db.session.scalar(sa.select(CourseProduct)),
        PatientDetails("Cora Course", "cora@example.org", "07700900321"),
        staff_user=staff,
        payment_reference="till 7",
    )
    credits.adjust_credits(course, -9, "Nine used before", staff_user=staff)
    course_id = course.id
    starts = [at(clinic["day"], 10), at(clinic["day"], 15)]
    db.session.remove()

    def attempt(number: int) -> str:
        course = by_id(Course, course_id)
        book_appointment(
            session_type=course.session_type,
            starts_at=starts[number],
            practitioner=by_id(Practitioner, clinic["practitioner"]),
            course=course,
        )
        return "booked"

    outcomes = race(app, 2, attempt)

    assert sorted(outcomes) == [credits.NO_CREDITS_MESSAGE, "booked"], outcomes
    course = by_id(Course, course_id)
    assert course.credits_remaining == 0
    ledger = db.session.scalar(
        sa.select(sa.func.sum(CreditEntry.change)).where(CreditEntry.course_id == course_id)
    )
    assert ledger == 0
    assert len(course.appointments) == 1


# Through the web: a move that loses the race for a slot is a message, never a 500.


def status_code(outcome: str) -> int:
    """The answer's status; an exception that escaped the view (testing mode) counts as 500."""
    return int(outcome[:3]) if outcome[:3].isdigit() else 500


def diary_move(client, appointment_id: int, day, hour: int, practitioner_id: int):
    url = f"/diary/appointments/{appointment_id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    return lambda: client.post(
        f"{url}/move",
        data={
            "csrf_token": token,
            "move-day": day.isoformat(),
            "move-at": f"{hour:02d}:00",
            "move-practitioner_id": practitioner_id,
        },
    )


def test_two_staff_moves_into_one_slot_one_is_told_the_time_was_taken(
    app, clinic, make_staff, sign_in
):
    day, practitioner_id = clinic["day"], clinic["practitioner"]
    ids = [
        book(clinic, 9, "Slot Racer A", "slot-a@example.org").id,
        book(clinic, 14, "Slot Racer B", "slot-b@example.org").id,
    ]
    posts = []
    for appointment_id in ids:
        desk = app.test_client()
        assert sign_in(desk, make_staff("receptionist")).status_code == 302
        posts.append(diary_move(desk, appointment_id, day, 11, practitioner_id))
    db.session.remove()

    def attempt(number: int) -> str:
        response = posts[number]()
        return f"{response.status_code} {response.get_data(as_text=True)}"

    outcomes = race(app, 2, attempt)

    codes = sorted(status_code(outcome) for outcome in outcomes)
    assert codes == [302, 409], [outcome[:200] for outcome in outcomes]
    refused = next(outcome for outcome in outcomes if outcome.startswith("409"))
    # Told by the check (which names the appointment) or, in a closer race, by the
    # database's guarantee.
    assert "That time is taken: " in refused or (
        SLOT_TAKEN_MESSAGE.replace(",", "") in refused.replace(",", "")
    )
    at_eleven = db.session.scalars(
        sa.select(Appointment).where(Appointment.starts_at == at(day, 11))
    ).all()
    assert len(at_eleven) == 1 and at_eleven[0].sequence == 1
    assert_messages_follow(at_eleven[0], ["confirmation", "moved"])


def test_two_patients_rescheduling_into_one_slot_never_see_a_server_error(app, clinic):
    day = clinic["day"]
    booked = [
        book(clinic, 9, "Online Racer A", "online-a@example.org"),
        book(clinic, 14, "Online Racer B", "online-b@example.org"),
    ]
    target = at(day + timedelta(days=1), 11)
    start = target.strftime("%Y%m%dT%H%MZ")
    posts = []
    for appointment in booked:
        client = app.test_client()
        url = f"/manage/{manage_token(appointment)}/reschedule"
        # The patient picks the time, then confirms it on the review page.
        page = client.get(f"{url}/review?start={start}")
        token = csrf_token(page.get_data(as_text=True))
        posts.append(
            lambda client=client, url=url, token=token: client.post(
                url, data={"csrf_token": token, "start": start}
            )
        )
    db.session.remove()

    def attempt(number: int) -> str:
        response = posts[number]()
        return f"{response.status_code} {response.get_data(as_text=True)}"

    outcomes = race(app, 2, attempt)

    codes = sorted(status_code(outcome) for outcome in outcomes)
    assert codes == [200, 302], [outcome[:200] for outcome in outcomes]
    assert "That time has just been taken" in next(o for o in outcomes if o.startswith("200"))
    moved = db.session.scalars(sa.select(Appointment).where(Appointment.starts_at == target)).all()
    assert len(moved) == 1
