"""A feed's version moves whenever what the feed shows changes, whoever changed it.

The feed's ETag comes from a revision row that session events bump
(booking.clinic.feed_revisions), not from the data itself. A missed bump would leave
a stale appointment in a practitioner's calendar, so each test here changes the clinic
through the same domain functions the screens use, builds the feed before and after,
and checks the one promise that matters: different bytes, different ETag.
"""

from dataclasses import replace
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from booking.clinic import clinic_admin, feeds, patients, team, time_off
from booking.clinic.appointments import (
    PatientDetails,
    book_appointment,
    cancel_appointment,
    move_appointment,
    record_attendance,
    set_staff_note,
)
from booking.clinic.availability import practitioner_free_starts
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    FeedRevision,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
    TimeOff,
)
from tests.at_once import race


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def feed_and_version(slug: str) -> tuple[bytes, feeds.FeedVersion]:
    """The feed and its version as a calendar app would get them now, from a fresh read."""
    db.session.rollback()
    db.session.expire_all()
    practitioner = get(Practitioner, slug=slug)
    now = utcnow()
    return feeds.build_feed(practitioner, now), feeds.feed_version(practitioner, now)


def free_starts(slug: str, kind: str = "massage", days_ahead: int = 3) -> list:
    practitioner = get(Practitioner, slug=slug)
    first = utcnow().date() + timedelta(days=days_ahead)
    free = practitioner_free_starts(
        practitioner,
        get(SessionType, slug=kind),
        first,
        first + timedelta(days=14),
        now=utcnow(),
        ignore_minimum_notice=True,
    )
    return [start for day in sorted(free) for start in free[day]]


@pytest.fixture
def desk(demo) -> StaffUser:
    return get(StaffUser, email="reception@clinic.example")


@pytest.fixture
def admin(make_staff) -> StaffUser:
    return make_staff("admin")


@pytest.fixture
def booked(demo, desk) -> Appointment:
    start = free_starts("colette-assor")[0]
    return book_appointment(
        session_type=get(SessionType, slug="massage"),
        starts_at=start,
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails("Imogen Stiles", "imogen@example.org", "07700 900321"),
        staff_user=desk,
        source="staff",
    )


def assert_feed_and_tag_move_together(
    change, slug: str = "colette-assor", *, shows: bool = True
) -> None:
    """Run `change`: if the feed changed, its ETag must have too; time never goes back.

    `shows`: the change is one the feed must show. Otherwise (attendance, say, which
    shows only as the event's last-modified second) the feed may or may not differ.
    """
    before_body, before = feed_and_version(slug)
    change()
    after_body, after = feed_and_version(slug)
    if shows:
        assert after_body != before_body, "this change should show in the feed"
    if after_body != before_body:
        assert after.etag != before.etag
    assert after.last_modified >= before.last_modified


def test_booking_moving_noting_and_cancelling_each_move_the_tag(booked, desk):
    appointment_id = booked.id

    def appointment():
        return db.session.get(Appointment, appointment_id)

    assert_feed_and_tag_move_together(
        lambda: book_appointment(
            session_type=get(SessionType, slug="massage"),
            starts_at=free_starts("colette-assor")[1],
            practitioner=get(Practitioner, slug="colette-assor"),
            patient=PatientDetails("Omar Haddad", None, "07700 900654"),
            staff_user=desk,
            source="staff",
        )
    )
    later = free_starts("colette-assor", days_ahead=5)[2]
    assert_feed_and_tag_move_together(
        lambda: move_appointment(appointment(), starts_at=later, staff_user=desk)
    )
    assert_feed_and_tag_move_together(
        lambda: set_staff_note(appointment(), "Bring the latest scan", staff_user=desk),
        shows=False,
    )
    assert_feed_and_tag_move_together(
        lambda: cancel_appointment(appointment(), reason="Feeling better", staff_user=desk)
    )


def test_a_move_to_another_practitioner_moves_both_their_tags(booked, desk):
    # Colette's feed loses the appointment and Sam's gains it.
    victoria = get(Practitioner, slug="sam-okafor")
    assert victoria is not None
    start = free_starts("sam-okafor")[0]
    colette_before = feed_and_version("colette-assor")
    victoria_before = feed_and_version("sam-okafor")
    move_appointment(
        db.session.get(Appointment, booked.id),
        starts_at=start,
        practitioner=get(Practitioner, slug="sam-okafor"),
        staff_user=desk,
    )
    for slug, (body, version) in (
        ("colette-assor", colette_before),
        ("sam-okafor", victoria_before),
    ):
        after_body, after = feed_and_version(slug)
        assert after_body != body
        assert after.etag != version.etag


def test_attendance_moves_the_tag(demo, desk, make_appointment):
    past = make_appointment(utcnow() - timedelta(days=2))
    assert_feed_and_tag_move_together(
        lambda: record_attendance(
            db.session.get(Appointment, past.id), AppointmentStatus.ATTENDED, staff_user=desk
        ),
        shows=False,
    )


def test_blocking_and_unblocking_time_move_the_tag(demo, desk):
    colette = get(Practitioner, slug="colette-assor")
    start = free_starts("colette-assor")[0]
    assert_feed_and_tag_move_together(
        lambda: time_off.add_time_off(
            colette, start, start + timedelta(hours=2), reason="Dentist", staff_user=desk
        )
    )
    assert_feed_and_tag_move_together(
        lambda: time_off.remove_time_off(get(TimeOff, reason="Dentist"), staff_user=desk)
    )


def test_renaming_the_patient_moves_the_tag_other_details_need_not(booked, desk):
    colette = get(Practitioner, slug="colette-assor")
    colette.feed_privacy = "full_name"
    db.session.commit()
    patient_id = booked.patient_id

    def change(**fields):
        patient = db.session.get(Patient, patient_id)
        details = patients.ContactDetails(
            name=patient.name, email=patient.email, phone=patient.phone
        )
        patients.change_contact_details(patient, replace(details, **fields), staff_user=desk)

    assert_feed_and_tag_move_together(lambda: change(name="Imogen Stiles-Ward"))
    # The phone number is never in a feed: its calendar need not fetch it again.
    _, before = feed_and_version("colette-assor")
    change(phone="07700 900999")
    _, after = feed_and_version("colette-assor")
    assert after.etag == before.etag


def test_erasing_a_patient_moves_the_tag(demo, admin, make_appointment):
    past = make_appointment(utcnow() - timedelta(days=3), patient="Nell Pryor")
    colette = get(Practitioner, slug="colette-assor")
    colette.feed_privacy = "full_name"
    db.session.commit()
    assert_feed_and_tag_move_together(
        lambda: patients.erase_patient(
            db.session.get(Patient, past.patient_id), typed_name="Nell Pryor", staff_user=admin
        )
    )


def test_renaming_a_session_type_moves_every_tag(booked, admin):
    massage = get(SessionType, slug="massage")
    values = clinic_admin.SessionTypeValues(
        name="Deep tissue massage",
        duration_minutes=massage.duration_minutes,
        price_pence=massage.price_pence,
        treatment_ids=[t.id for t in massage.treatments],
        practitioner_ids=[p.id for p in massage.practitioners],
        description=massage.description,
        slug=massage.slug,
    )
    assert_feed_and_tag_move_together(
        lambda: clinic_admin.save_session_type(
            get(SessionType, slug="massage"), values, staff_user=admin
        )
    )


def test_the_clinics_name_and_address_move_every_tag(booked, admin):
    # The calendar is named after the clinic; each event carries its address.
    for field, value in (("name", "Harrow Road Clinic"), ("address", "2 New Street, London")):
        values = replace(clinic_admin.settings_values(clinic_settings()), **{field: value})
        assert_feed_and_tag_move_together(
            lambda values=values: clinic_admin.save_settings(values, staff_user=admin)
        )


def test_renaming_the_practitioner_and_choosing_privacy_move_the_tag(booked, admin):
    colette = get(Practitioner, slug="colette-assor")
    details = team.PractitionerDetails(
        name="Colette Assor-Lewis",
        title=colette.title,
        bio=colette.bio,
        email=colette.email,
        active=colette.active,
        position=colette.position,
        session_types=tuple(colette.session_types),
    )
    assert_feed_and_tag_move_together(
        lambda: team.change_practitioner(
            get(Practitioner, slug="colette-assor"), details, staff_user=admin
        )
    )
    assert_feed_and_tag_move_together(
        lambda: feeds.set_feed_privacy(
            get(Practitioner, slug="colette-assor"), "full_name", staff_user=admin
        )
    )


def test_a_bulk_update_moves_every_tag(booked):
    # Statements that change rows without loading them are counted too.
    assert_feed_and_tag_move_together(
        lambda: (
            db.session.execute(
                sa.update(Appointment)
                .where(Appointment.id == booked.id)
                .values(sequence=Appointment.sequence + 1)
            ),
            db.session.commit(),
        )
    )


def test_a_rolled_back_change_leaves_the_tag_alone(booked):
    _, before = feed_and_version("colette-assor")
    appointment = db.session.get(Appointment, booked.id)
    appointment.status = AppointmentStatus.CANCELLED.value
    db.session.flush()
    db.session.rollback()
    _, after = feed_and_version("colette-assor")
    assert after.etag == before.etag


def test_only_the_practitioners_whose_feeds_changed_are_bumped(booked, desk):
    def revisions():
        db.session.rollback()
        return {r.practitioner_id: r.revision for r in db.session.scalars(sa.select(FeedRevision))}

    colette = get(Practitioner, slug="colette-assor")
    before = revisions()
    set_staff_note(db.session.get(Appointment, booked.id), "Quiet room", staff_user=desk)
    after = revisions()
    assert after[colette.id] == before[colette.id] + 1
    others = {i: n for i, n in after.items() if i != colette.id}
    assert others == {i: n for i, n in before.items() if i != colette.id}


def test_the_next_day_moves_the_tag_without_any_change(booked):
    # The window moves at local midnight: yesterday's tag must not match today's feed.
    colette = get(Practitioner, slug="colette-assor")
    now = utcnow()
    today = feeds.feed_version(colette, now)
    tomorrow = feeds.feed_version(colette, now + timedelta(days=1))
    assert today.etag != tomorrow.etag
    assert tomorrow.last_modified > today.last_modified
    assert tomorrow.last_modified.date() >= date.today()


def test_bookings_at_the_same_moment_each_bump_once_and_never_deadlock(app, demo):
    # On PostgreSQL each booking holds a share lock on the practitioner's row; the bump
    # takes the revision row last, so eight at once all commit and none is lost.
    massage = get(SessionType, slug="massage")
    starts = []
    for start in free_starts("colette-assor"):
        # Free starts come every few minutes: take ones whose sessions do not overlap.
        if not starts or start >= starts[-1] + timedelta(minutes=massage.duration_minutes + 60):
            starts.append(start)
    starts = starts[:8]
    assert len(starts) == 8
    massage_id = massage.id
    colette_id = get(Practitioner, slug="colette-assor").id
    before = db.session.get(FeedRevision, colette_id)
    revision_before = before.revision if before else 0
    db.session.remove()

    def attempt(number: int) -> str:
        book_appointment(
            session_type=db.session.get(SessionType, massage_id),
            starts_at=starts[number],
            practitioner=db.session.get(Practitioner, colette_id),
            patient=PatientDetails(f"Caller {number}", f"caller{number}@example.org", None),
        )
        return "booked"

    outcomes = race(app, len(starts), attempt)

    assert outcomes == ["booked"] * len(starts)
    assert db.session.get(FeedRevision, colette_id).revision == revision_before + len(starts)
