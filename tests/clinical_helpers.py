"""Helpers for the clinical record's tests: a course of sessions on a fixed day, notes."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from booking.extensions import db
from booking.models import AppointmentStatus, Practitioner
from tests import factories

# A fixed Monday: no test depends on today's date.
FIXED_DAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def colette() -> Practitioner:
    return db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))


def course_with_sessions(course, *, start=FIXED_DAY, attended: int = 0, every_days: int = 7):
    """Book every session of `course` with Colette, a week apart; the first `attended`
    marked attended. Returns the appointments in order."""
    sessions = []
    for number in range(course.sessions_total):
        sessions.append(
            factories.make_appointment(
                start + timedelta(days=every_days * number),
                practitioner="colette-assor",
                session=course.session_type,
                patient=course.patient,
                course_id=course.id,
                status=(
                    AppointmentStatus.ATTENDED.value
                    if number < attended
                    else AppointmentStatus.BOOKED.value
                ),
            )
        )
    return sessions
