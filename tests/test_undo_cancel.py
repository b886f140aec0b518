"""Undo a cancellation: for a few minutes, while the time is still free, it is booked again."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.clinic import credits
from booking.clinic.appointments import (
    PatientDetails,
    UndoTooLate,
    book_appointment,
    cancel_appointment,
    undo_cancellation,
)
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import manage_token
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseProduct,
    Practitioner,
    SessionType,
)
from tests.at_once import race
from tests.forms import csrf_token
from tests.test_booking import next_weekday, start_at
from tests.test_races import assert_messages_follow, patient_messages

TAKEN_AFTER_CANCEL = "someone else booked that time after you cancelled"


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def book(slot, name="Una Undo", email="una@example.org", **extra) -> Appointment:
    return book_appointment(
        session_type=get(SessionType, slug="full-combination"),
        starts_at=slot,
        practitioner=get(Practitioner, slug="colette-assor"),
        **(extra or {"patient": PatientDetails(name, email, "07700900123")}),
    )


@pytest.fixture
def slot(demo):
    return start_at(next_weekday(1, at_least_days=5), 10)


def cancel_online(client, appointment) -> str:
    """The patient's cancel through the review page; the manage page they land on."""
    link = f"/manage/{manage_token(appointment)}"
    review = client.get(f"{link}/cancel").get_data(as_text=True)
    # The review says the undo exists, and for how long, before the patient decides.
    minutes = clinic_settings().cancellation_undo_minutes
    assert (f"For {minutes} minutes you can undo the cancellation" in review) == bool(minutes)
    data = {"csrf_token": csrf_token(review), "sequence": appointment.sequence}
    assert client.post(f"{link}/cancel", data=data).status_code == 302
    return client.get(link).get_data(as_text=True)


def test_a_patient_cancels_then_undoes_and_is_booked_again(client, slot):
    appointment = book(slot)
    page = cancel_online(client, appointment)
    assert "This appointment was cancelled" in page
    assert "Undo the cancellation" in page
    link = f"/manage/{manage_token(appointment)}"

    token = csrf_token(page)
    undone = client.post(f"{link}/undo-cancel", data={"csrf_token": token})
    assert undone.status_code == 302
    page = client.get(link).get_data(as_text=True)
    assert "Your appointment is booked again" in page
    assert "Cancel this appointment" in page
    db.session.expire_all()
    appointment = db.session.get(Appointment, appointment.id)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.cancelled_at is None and appointment.cancelled_by is None
    # Told in order, each invitation newer than the one before: booked, cancelled, back.
    assert_messages_follow(appointment, ["confirmation", "cancelled", "restored"])
    restored = patient_messages(appointment.id)[-1]
    assert restored.subject.startswith("Booked again") and "booked again" in restored.text_body
    # A second tap on "Undo" finds it booked: no error, nothing sent twice.
    again = client.post(f"{link}/undo-cancel", data={"csrf_token": token})
    assert again.status_code == 302
    page = client.get(link).get_data(as_text=True)
    assert "went wrong" not in page and "flash-error" not in page
    assert "Your appointment is booked again" in page
    assert_messages_follow(appointment, ["confirmation", "cancelled", "restored"])


def test_after_the_clinics_minutes_the_undo_is_gone(client, slot):
    appointment = book(slot)
    cancelled = cancel_appointment(appointment, reason="Online")
    minutes = clinic_settings().cancellation_undo_minutes
    assert minutes == 10
    with pytest.raises(UndoTooLate, match="too late to undo"):
        undo_cancellation(cancelled, now=cancelled.cancelled_at + timedelta(minutes=11))
    assert get(Appointment).status == AppointmentStatus.CANCELLED
    # The page stops offering it once the minutes are up.
    cancelled.cancelled_at -= timedelta(minutes=minutes + 1)
    db.session.commit()
    page = client.get(f"/manage/{manage_token(cancelled)}").get_data(as_text=True)
    assert "Undo the cancellation" not in page


def test_a_clinic_can_switch_the_undo_off(client, slot):
    clinic_settings().cancellation_undo_minutes = 0
    db.session.commit()
    appointment = book(slot)
    assert "Undo the cancellation" not in cancel_online(client, appointment)
    with pytest.raises(UndoTooLate):
        undo_cancellation(appointment)


def test_a_cancellation_the_clinic_made_is_not_the_patients_to_undo(client, slot, make_staff):
    appointment = book(slot)
    cancel_appointment(appointment, reason="Practitioner ill", staff_user=make_staff("admin"))
    page = client.get(f"/manage/{manage_token(appointment)}").get_data(as_text=True)
    assert "Undo the cancellation" not in page
    with pytest.raises(UndoTooLate):
        undo_cancellation(appointment)


def test_if_the_time_was_booked_meanwhile_the_undo_says_so_kindly(client, slot):
    appointment = book(slot)
    page = cancel_online(client, appointment)
    book(slot, "Other Patient", "other@example.org")
    link = f"/manage/{manage_token(appointment)}"
    client.post(f"{link}/undo-cancel", data={"csrf_token": csrf_token(page)})
    page = client.get(link).get_data(as_text=True).replace("&#39;", "'")
    assert TAKEN_AFTER_CANCEL in page and "Your cancellation stands" in page
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.CANCELLED
    assert_messages_follow(
        db.session.get(Appointment, appointment.id), ["confirmation", "cancelled"]
    )


def test_undoing_a_course_session_takes_its_credit_again(slot, make_course):
    course = make_course(db.session.scalar(sa.select(CourseProduct)))
    session = book(slot, course=course)
    assert course.credits_remaining == 9
    cancel_appointment(session, reason="Online")
    assert db.session.get(Course, course.id).credits_remaining == 10
    undo_cancellation(session)
    db.session.expire_all()
    assert db.session.get(Course, course.id).credits_remaining == 9
    assert credits.credits_held(db.session.get(Appointment, session.id)) == 1


def test_an_undo_racing_a_new_booking_of_the_freed_time_exactly_one_wins(app, slot):
    appointment = book(slot)
    cancel_appointment(appointment, reason="Online")
    appointment_id = appointment.id
    db.session.remove()

    def undo() -> str:
        undo_cancellation(db.session.get(Appointment, appointment_id))
        return "undone"

    def rebook() -> str:
        book(slot, "Quick Patient", "quick@example.org")
        return "booked"

    outcomes = race(app, 2, lambda number: (undo, rebook)[number]())

    winners = [outcome for outcome in outcomes if outcome in ("undone", "booked")]
    assert len(winners) == 1, outcomes
    loser = next(outcome for outcome in outcomes if outcome not in winners)
    live = db.session.scalars(
        sa.select(Appointment).where(Appointment.starts_at == slot, Appointment.is_live)
    ).all()
    assert len(live) == 1
    first = db.session.get(Appointment, appointment_id)
    if winners == ["undone"]:
        assert loser.startswith("That time has just been taken")
        assert live[0].id == appointment_id
        assert_messages_follow(first, ["confirmation", "cancelled", "restored"])
    else:
        assert TAKEN_AFTER_CANCEL in loser, outcomes
        assert first.status == AppointmentStatus.CANCELLED
        assert_messages_follow(first, ["confirmation", "cancelled"])
