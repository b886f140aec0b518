"""Every promise about changing a booking online matches the notice period at that moment."""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking.clinic import my_bookings, notifications
from booking.clinic.change_policy import online_changes, within_notice
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import course_token, manage_token
from booking.extensions import db
from booking.models import Appointment, OutboxMessage, Patient, Practitioner, SessionType
from booking.presentation import format_local_datetime
from tests import source_tree

# The times here are counted from the real clock, so no test depends on the day it runs.


def appointment_starting_in(hours: float) -> Appointment:
    """An online booking written straight to the table: for times the booking rules refuse."""
    session_type = db.session.scalar(sa.select(SessionType).filter_by(slug="massage"))
    starts_at = (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)
    appointment = Appointment(
        practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
        patient=Patient(name="Priya Shah", email="priya@example.org", phone="07700 900123"),
        session_type=session_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=session_type.duration_minutes),
        source="online",
        price_pence=session_type.price_pence,
    )
    db.session.add(appointment)
    db.session.commit()
    return appointment


def queued_text(appointment: Appointment, queue) -> str:
    queue(appointment)
    db.session.commit()
    row = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.recipient == "priya@example.org")
        .order_by(OutboxMessage.id.desc())
    ).first()
    return row.text_body + (row.html_body or "")


def test_the_rule_allows_changes_up_to_the_notice_period_and_not_after(app, demo):
    settings = clinic_settings()
    appointment = appointment_starting_in(72)
    deadline = appointment.starts_at - timedelta(hours=settings.cancellation_notice_hours)
    assert online_changes(appointment, now=deadline, settings=settings).allowed
    assert not within_notice(appointment, now=deadline, settings=settings)
    later = deadline + timedelta(seconds=1)
    assert not online_changes(appointment, now=later, settings=settings).allowed
    assert within_notice(appointment, now=later, settings=settings)


def test_a_booking_made_days_ahead_says_until_when_it_can_be_changed_online(client, demo):
    appointment = appointment_starting_in(72)
    deadline = format_local_datetime(appointment.starts_at - timedelta(hours=24))
    page = client.get(f"/book/confirmed/{manage_token(appointment)}").get_data(as_text=True)
    assert f"online until {deadline}" in page
    manage = client.get(f"/manage/{manage_token(appointment)}").get_data(as_text=True)
    assert f"online until {deadline}" in manage
    mail = queued_text(appointment, notifications.appointment_booked)
    assert deadline in mail and "View, move or cancel your booking" in mail


@pytest.mark.parametrize("hours", [3, 23.5])
def test_a_booking_inside_the_notice_period_never_promises_an_online_change(client, demo, hours):
    appointment = appointment_starting_in(hours)
    token = manage_token(appointment)
    for path in (f"/book/confirmed/{token}", f"/manage/{token}"):
        page = client.get(path).get_data(as_text=True)
        assert "cannot be changed online" in page or "can no longer be" in page, path
        assert "online until" not in page, path
        assert 'href="tel:02079460000"' in page, path
    for queue in (
        notifications.appointment_booked,
        notifications.appointment_reminder,
        # A move by the desk into the notice period, and an undone cancellation whose
        # time has come within it meanwhile, say the same (issue 17).
        lambda a: notifications.appointment_moved(a, by_staff=True, moved_from=a.ends_at),
        notifications.appointment_restored,
    ):
        mail = queued_text(appointment, queue)
        assert "call us on 020 7946 0000" in mail
        assert "View your booking" in mail
        assert "View, move or cancel" not in mail and "View or change" not in mail
    # My bookings lists it to view, not to change (the address confirmed, as by its button).
    my_bookings.confirm_address("priya@example.org")
    listed = client.get(f"/my-bookings/{my_bookings.link_token('priya@example.org')}")
    assert "View, move or cancel" not in listed.get_data(as_text=True)
    assert "View<" in listed.get_data(as_text=True)


@pytest.mark.parametrize("hours", [3, 23.5])
def test_a_course_session_inside_the_notice_period_never_promises_an_online_change(
    client, demo, make_course, hours
):
    appointment = appointment_starting_in(hours)
    course = make_course(patient=appointment.patient)
    appointment.course = course
    db.session.commit()
    mail = queued_text(appointment, lambda a: notifications.course_planned(course, [a]))
    assert "View, move or cancel" not in mail and "View or change" not in mail
    assert "call us on 020 7946 0000" in mail
    page = client.get(f"/course/{course_token(course)}").get_data(as_text=True)
    assert "Change or cancel" not in page and "call us on" in page


def test_a_reminder_sent_just_before_changes_close_does_not_offer_them(app, demo):
    # 24 h 30 min ahead: changes close in 30 minutes, before most people read the email.
    appointment = appointment_starting_in(24.5)
    mail = queued_text(appointment, notifications.appointment_reminder)
    assert "View your booking" in mail and "View, move or cancel" not in mail


# One home for the notice period --------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# Where the notice period is counted: the rule itself, and the reports' SQL twin of it
# (late cancellations counted in the database, for any number of appointments).
NOTICE_COUNTED_IN = {"booking/clinic/change_policy.py", "booking/clinic/reports.py"}


def _notice_arithmetic(source: str) -> list[int]:
    """Lines that compute with the notice period (in a timedelta or a sum), rather than
    only naming it in a sentence."""
    found = []
    for node in source_tree.walk(source):
        is_time = isinstance(node, ast.Call) and ast.unparse(node.func).endswith("timedelta")
        if (is_time or isinstance(node, ast.BinOp | ast.Compare)) and (
            "cancellation_notice_hours" in ast.unparse(node)
        ):
            found.append(node.lineno)
    return sorted(set(found))


def test_only_the_change_policy_counts_the_notice_period():
    offences = []
    for path in source_tree.python_files():
        name = str(path.relative_to(ROOT))
        if name not in NOTICE_COUNTED_IN:
            offences += [f"{name}:{line}" for line in _notice_arithmetic(path.read_text())]
    assert offences == []


def test_the_notice_check_can_fail():
    source = (
        "late = now > a.starts_at - timedelta(hours=settings.cancellation_notice_hours)\n"
        "text = f'less than {settings.cancellation_notice_hours} hours away'\n"
    )
    assert _notice_arithmetic(source) == [1]
