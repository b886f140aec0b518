"""Every status, source and choice is an enum, and the database refuses any other value.

The schema comes from the real migrations, so these prove the migrations' CHECK
constraints and the enums in booking/models/enums.py agree, on either backend.
"""

import ast
from pathlib import Path

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
from tests import source_tree
from tests.test_races import at, next_weekday

# (table, column, enum) for every enum-valued column.
COLUMNS = [
    ("appointments", "status", AppointmentStatus),
    ("appointments", "source", AppointmentSource),
    ("appointments", "cancelled_by", CancelledBy),
    ("appointments", "cancel_requested_by", CancelledBy),
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
    assert appointment.cancel_requested_by == CancelledBy.PATIENT
    assert appointment.source == AppointmentSource.ONLINE
    assert db.session.scalar(sa.select(Course)).source == CourseSource.ONLINE


# Written as the enum, never as its text ----------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# The enum-valued columns of an appointment (and the ledger's method).
ENUM_ATTRIBUTES = {
    "status",
    "source",
    "hold_reason",
    "cancelled_by",
    "cancel_requested_by",
    "method",
}
MODELS_WITH_ENUMS = {"Appointment", "LedgerEntry", "Course"}
OWNERS = ("appointment", "course")


def _strings(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return bool(node.elts) and all(_strings(element) for element in node.elts)
    return False


def _enum_text(source: str) -> list[int]:
    """Lines that compare an appointment's (or course's) status, source, hold reason or
    who cancelled with bare text, or build a model row with one, instead of the enum."""
    found = []
    for node in source_tree.walk(source):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for side in sides:
                if (
                    isinstance(side, ast.Attribute)
                    and side.attr in ENUM_ATTRIBUTES - {"method"}
                    and any(
                        word in ast.unparse(side.value).lower()
                        for word in ("appointment", "course")
                    )
                    and any(_strings(other) for other in sides if other is not side)
                ):
                    found.append(node.lineno)
        if isinstance(node, ast.Call) and ast.unparse(node.func) in MODELS_WITH_ENUMS:
            found += [
                keyword.value.lineno
                for keyword in node.keywords
                if keyword.arg in ENUM_ATTRIBUTES and _strings(keyword.value)
            ]
    return sorted(set(found))


def test_statuses_and_sources_are_written_as_their_enums():
    offences = []
    for path in source_tree.python_files():
        name = str(path.relative_to(ROOT))
        offences += [f"{name}:{line}" for line in _enum_text(path.read_text())]
    assert offences == []


def test_the_enum_text_check_can_fail():
    source = (
        "a = appointment.status == 'cancelled'\n"
        "b = appointment.status in ('held', 'booked')\n"
        "c = Appointment.source == AppointmentSource.ONLINE\n"
        "d = Appointment(source='staff', price_pence=0)\n"
        "e = session.status != 'expired'\n"
        "f = self.course.status == CourseStatus.ACTIVE\n"
    )
    assert _enum_text(source) == [1, 2, 4]
