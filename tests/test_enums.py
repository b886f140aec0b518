"""Every status, source and choice is an enum, and the database refuses any other value.

The schema comes from the real migrations, so these prove the migrations' CHECK
constraints and the enums in booking/models/enums.py agree, on either backend.
"""

import pytest
import sqlalchemy as sa

from booking.clinic import courses
from booking.clinic.appointments import PatientDetails, book_appointment, cancel_appointment
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    CancelledBy,
    Course,
    CourseProduct,
    CourseSource,
    CourseStatus,
    FeedPrivacy,
    HoldReason,
    Practitioner,
    RefundFailureStatus,
    SessionType,
)
from tests.test_races import at, next_weekday

# (table, column, enum) for every enum-valued column.
COLUMNS = [
    ("appointments", "status", AppointmentStatus),
    ("appointments", "source", AppointmentSource),
    ("appointments", "cancelled_by", CancelledBy),
    ("appointments", "hold_reason", HoldReason),
    ("courses", "status", CourseStatus),
    ("courses", "source", CourseSource),
    ("practitioners", "feed_privacy", FeedPrivacy),
    ("refund_failures", "status", RefundFailureStatus),
]


@pytest.fixture
def rows(app, demo):
    appointment = book_appointment(
        session_type=db.session.scalar(sa.select(SessionType).filter_by(slug="full-combination")),
        starts_at=at(next_weekday(1, at_least_days=6), 10),
        practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
        patient=PatientDetails("Enum Patient", "enum@example.org", "07700900999"),
    )
    cancel_appointment(appointment, reason="Checking the columns")
    # A held appointment must say why and until when (another CHECK): give it both, so
    # that every status can be tried on the row.
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("update appointments set held_until = starts_at, hold_reason = 'deposit'")
        )
    courses.request_course(
        db.session.scalar(sa.select(CourseProduct)),
        PatientDetails("Enum Patient", "enum@example.org", "07700900999"),
    )
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "insert into refund_failures (refund_id, status, failure_reason, amount_pence,"
                " reported_at) values ('re_enum', 'failed', '', 100, current_timestamp)"
            )
        )
    db.session.remove()


def _set(table: str, column: str, value: str) -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.text(f"update {table} set {column} = :value"), {"value": value})


@pytest.mark.parametrize(("table", "column", "values"), COLUMNS)
def test_the_database_takes_every_value_of_the_enum_and_nothing_else(rows, table, column, values):
    for member in values:
        _set(table, column, member.value)
    with pytest.raises(sa.exc.IntegrityError):
        _set(table, column, "made_up")


def test_a_cancellation_records_who_cancelled_as_the_enum_says(rows):
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment.cancelled_by == CancelledBy.PATIENT
    assert appointment.source == AppointmentSource.ONLINE
    assert db.session.scalar(sa.select(Course)).source == CourseSource.ONLINE
