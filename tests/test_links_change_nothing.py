"""Opening any page a patient reaches by a link (GET) writes nothing to the database.

Mail scanners and link previews open every link in an email before the patient does: a
link that confirmed a booking, confirmed an address, claimed an offer or left a list on
GET would act for a patient who never clicked. Each such action is a button (a POST with
its CSRF token) on the page the link opens; this reads every patient page, emailed link
or not, and counts the statements that change rows.
"""

import re

import sqlalchemy as sa

from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, HoldReason, Patient
from tests.patient_pages import patient_pages

WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|REPLACE)\b", re.IGNORECASE)


class WriteCounter:
    """Every statement that changes rows, as the database is sent it."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if WRITES.match(statement):
            self.statements.append(statement.split("\n", 1)[0][:120])


def test_no_patient_page_changes_anything_when_opened(client, demo, make_course, make_staff):
    pages = patient_pages(make_course, make_staff)
    db.session.commit()
    # The two links that used to act on GET are in the list, still waiting for the button.
    assert "confirm your booking" in pages and "my bookings, its button" in pages
    counter = WriteCounter()
    sa.event.listen(db.engine, "before_cursor_execute", counter)
    try:
        for label, path in pages.items():
            before = len(counter.statements)
            for _ in range(2):  # a scanner, then the patient
                response = client.get(path)
                assert response.status_code < 500, f"{label}: {response.status_code}"
            assert counter.statements[before:] == [], f"opening {label} ({path}) wrote"
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter)

    db.session.rollback()
    held = db.session.scalar(
        sa.select(Appointment)
        .where(Appointment.hold_reason == HoldReason.EMAIL_CONFIRMATION)
        .where(Appointment.status == AppointmentStatus.HELD)
    )
    assert held is not None and held.patient.email_confirmed_at is None
    hal = db.session.scalar(sa.select(Patient).where(Patient.email == "hal@example.org"))
    assert hal is not None and hal.email_confirmed_at is None
