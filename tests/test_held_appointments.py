"""Held appointments: a time kept while a deposit or an email confirmation is awaited.

A hold occupies its slot everywhere a booking does, sends no confirmation, is released
once (and only once) when its time runs out, and becomes a booking when confirmed.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.clinic import availability, held_appointments
from booking.clinic.appointments import PatientDetails, SlotTaken, book_appointment
from booking.clinic.held_appointments import Confirmed, Hold, confirm_held, release_expired_holds
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    HoldReason,
    OutboxMessage,
    Practitioner,
    SessionType,
)
from tests.at_once import race
from tests.test_booking import LONDON, get, next_weekday, start_at


def _book_held(slot, *, reason=HoldReason.DEPOSIT, minutes=30, now=None, email="held@example.org"):
    now = now or utcnow()
    return book_appointment(
        session_type=get(SessionType, slug="full-combination"),
        starts_at=slot,
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails("Hana Held", email, "07700900321"),
        now=now,
        hold=Hold.for_minutes(reason, minutes, now=now),
    )


def _messages(appointment, kind=None):
    db.session.expire_all()
    query = sa.select(OutboxMessage).where(OutboxMessage.appointment_id == appointment.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


@pytest.fixture
def slot(demo):
    return start_at(next_weekday(2, at_least_days=4), 11)


def test_a_held_appointment_keeps_its_time_but_sends_no_confirmation(slot):
    held = _book_held(slot)
    assert held.status == AppointmentStatus.HELD
    assert held.hold_reason == HoldReason.DEPOSIT
    assert held.held_until is not None and held.held_until > utcnow()
    assert _messages(held) == []
    practitioner = get(Practitioner, slug="colette-assor")
    session_type = get(SessionType, slug="full-combination")
    assert not availability.is_free_start(practitioner, session_type, slot, now=utcnow())
    with pytest.raises(SlotTaken):
        _book_held(slot, email="someone-else@example.org")
    assert held_appointments.describe(held).startswith("Held: awaiting deposit until ")


def test_the_database_refuses_a_booking_over_a_held_time(slot, backend):
    if backend != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL; SQLite relies on the lock")
    held = _book_held(slot)
    overlapping = Appointment(
        practitioner_id=held.practitioner_id,
        patient_id=held.patient_id,
        session_type_id=held.session_type_id,
        starts_at=held.starts_at + timedelta(minutes=15),
        ends_at=held.ends_at + timedelta(minutes=15),
    )
    db.session.add(overlapping)
    with pytest.raises(sa.exc.IntegrityError, match="appointments_no_overlap"):
        db.session.commit()
    db.session.rollback()


def test_a_hold_must_say_why_and_until_when(slot):
    held = _book_held(slot)
    with pytest.raises(sa.exc.IntegrityError, match="held_says_why_and_until"):
        db.session.execute(
            sa.update(Appointment).where(Appointment.id == held.id).values(held_until=None)
        )
        db.session.commit()
    db.session.rollback()


def test_confirming_a_hold_books_it_and_confirms_once(slot):
    held = _book_held(slot)
    assert confirm_held(held, HoldReason.DEPOSIT, now=utcnow()) == Confirmed.BOOKED
    assert confirm_held(held, HoldReason.DEPOSIT, now=utcnow()) == Confirmed.ALREADY
    db.session.expire_all()
    assert held.status == AppointmentStatus.BOOKED and held.held_until is None
    confirmations = _messages(held, "confirmation")
    assert len(confirmations) == 1 and confirmations[0].ics_method == "REQUEST"


def test_a_hold_confirmed_for_another_reason_is_refused(slot):
    from booking.clinic import DomainError

    held = _book_held(slot, reason=HoldReason.EMAIL_CONFIRMATION)
    with pytest.raises(DomainError):
        confirm_held(held, HoldReason.DEPOSIT, now=utcnow())


def test_expired_holds_are_released_with_a_message_for_their_reason(slot):
    now = utcnow()
    deposit = _book_held(slot, now=now)
    email = _book_held(slot + timedelta(hours=3), reason=HoldReason.EMAIL_CONFIRMATION, now=now)
    later = _book_held(slot + timedelta(hours=5), minutes=90, now=now)
    assert release_expired_holds(now + timedelta(minutes=29)) == 0
    assert release_expired_holds(now + timedelta(minutes=31)) == 2
    db.session.expire_all()
    assert deposit.status == email.status == AppointmentStatus.CANCELLED
    assert deposit.cancelled_by == "clinic"
    assert "deposit was not paid in time" in deposit.cancellation_reason
    assert later.status == AppointmentStatus.HELD
    (about_deposit,) = _messages(deposit, "hold_released")
    (about_email,) = _messages(email, "hold_released")
    assert "paying the deposit" not in about_email.text_body
    assert "deposit online" in about_deposit.text_body
    assert "confirmed your email address" in about_email.text_body
    assert about_deposit.ics is None  # a hold was never sent as an invitation
    # Nothing was ever booked, so neither email speaks of a price or of a cancellation.
    for message in (about_deposit, about_email):
        for body in (message.text_body, message.html_body):
            assert "Price" not in body and "appointment is cancelled" not in body, body
    # The freed time can be booked again.
    practitioner = get(Practitioner, slug="colette-assor")
    session_type = get(SessionType, slug="full-combination")
    assert availability.is_free_start(practitioner, session_type, slot, now=utcnow())
    audited = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "appointment.hold_released")
    ).all()
    assert {event.subject_id for event in audited} == {deposit.id, email.id}


def test_two_workers_releasing_at_once_release_each_hold_exactly_once(app, slot):
    now = utcnow()
    held_ids = [_book_held(slot + timedelta(hours=hours), now=now).id for hours in (0, 3, 5)]
    db.session.remove()

    outcomes = race(app, 2, lambda _: str(release_expired_holds(now + timedelta(hours=1))))

    assert sum(int(outcome) for outcome in outcomes) == 3, outcomes
    for held_id in held_ids:
        appointment = db.session.get(Appointment, held_id)
        assert appointment.status == AppointmentStatus.CANCELLED
        assert len(_messages(appointment, "hold_released")) == 1
    audited = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "appointment.hold_released")
    )
    assert audited == 3


def test_a_released_hold_is_booked_again_if_its_time_is_still_free(slot):
    now = utcnow()
    held = _book_held(slot, now=now)
    release_expired_holds(now + timedelta(minutes=31))
    assert confirm_held(held, HoldReason.DEPOSIT, now=now + timedelta(minutes=32)) == (
        Confirmed.BOOKED
    )
    db.session.expire_all()
    assert held.status == AppointmentStatus.BOOKED and held.cancelled_at is None


def test_a_released_hold_whose_time_was_taken_is_not_booked(slot):
    now = utcnow()
    held = _book_held(slot, now=now)
    release_expired_holds(now + timedelta(minutes=31))
    _book_held(slot, now=now + timedelta(minutes=31), email="quicker@example.org")
    assert confirm_held(held, HoldReason.DEPOSIT, now=now + timedelta(minutes=32)) == (
        Confirmed.SLOT_GONE
    )
    db.session.expire_all()
    assert held.status == AppointmentStatus.CANCELLED
    assert _messages(held, "confirmation") == []


def test_attendance_cannot_be_recorded_on_a_hold_and_staff_may_cancel_it(slot, make_staff):
    from booking.clinic import DomainError
    from booking.clinic.appointments import cancel_appointment, record_attendance

    held = _book_held(slot)
    staff = make_staff("receptionist")
    with pytest.raises(DomainError, match="held, not yet booked"):
        record_attendance(held, AppointmentStatus.ATTENDED, staff_user=staff)
    cancel_appointment(held, staff_user=staff, reason="Patient phoned")
    db.session.expire_all()
    assert held.status == AppointmentStatus.CANCELLED and held.held_until is None
    # Never sent as an invitation, so no calendar cancellation either.
    (cancelled,) = _messages(held, "cancelled")
    assert cancelled.ics is None and "calendar cancellation" not in cancelled.text_body


def test_the_worker_runs_the_release_as_a_scheduled_job(app, slot):
    from booking.clinic.jobs import registered_jobs

    assert "release-expired-holds" in {job.name for job in registered_jobs()}


def test_the_diary_shows_a_hold_distinctly(receptionist_client, slot):
    from booking.clinic.localtime import to_local

    held = _book_held(slot)
    day = to_local(slot, LONDON).date().isoformat()
    page = receptionist_client.get(f"/diary/day/{day}").get_data(as_text=True)
    assert "Held: awaiting deposit until" in page
    assert "status-held" in page
    assert held.patient.name in page


def test_the_practitioners_feed_shows_a_hold_as_tentative_and_a_download_leaves_it_out(
    client, slot
):
    from icalendar import Calendar

    from booking.clinic import feeds
    from booking.clinic.localtime import to_local

    held = _book_held(slot)
    practitioner = get(Practitioner, slug="colette-assor")
    feed = Calendar.from_ical(client.get(f"/feeds/{practitioner.feed_token}.ics").data)
    (event,) = [e for e in feed.walk("VEVENT") if str(e["UID"]).startswith(held.uid)]
    assert str(event["STATUS"]) == "TENTATIVE"
    assert str(event["SUMMARY"]).startswith("Held: ")
    day = to_local(slot, LONDON).date()
    download = Calendar.from_ical(feeds.download_range(practitioner, day, day))
    assert [e for e in download.walk("VEVENT") if str(e["UID"]).startswith(held.uid)] == []
    confirm_held(held, HoldReason.DEPOSIT, now=utcnow())
    feed = Calendar.from_ical(client.get(f"/feeds/{practitioner.feed_token}.ics").data)
    (event,) = [e for e in feed.walk("VEVENT") if str(e["UID"]).startswith(held.uid)]
    assert str(event["STATUS"]) == "CONFIRMED"
