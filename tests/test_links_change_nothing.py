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


def opened_twice_writes_nothing(client, pages: dict[str, str]) -> dict[str, int]:
    """Open each page twice, asserting no row changed; each page's status code."""
    statuses = {}
    counter = WriteCounter()
    sa.event.listen(db.engine, "before_cursor_execute", counter)
    try:
        for label, path in pages.items():
            before = len(counter.statements)
            for _ in range(2):  # a scanner, then the patient
                response = client.get(path)
                assert response.status_code < 500, f"{label}: {response.status_code}"
                statuses[label] = response.status_code
            assert counter.statements[before:] == [], f"opening {label} ({path}) wrote"
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter)
    return statuses


def test_no_patient_page_changes_anything_when_opened(client, demo, make_course, make_staff):
    pages = patient_pages(make_course, make_staff)
    db.session.commit()
    # The two links that used to act on GET are in the list, still waiting for the button.
    assert "confirm your booking" in pages and "my bookings, its button" in pages
    opened_twice_writes_nothing(client, pages)

    db.session.rollback()
    held = db.session.scalar(
        sa.select(Appointment)
        .where(Appointment.hold_reason == HoldReason.EMAIL_CONFIRMATION)
        .where(Appointment.status == AppointmentStatus.HELD)
    )
    assert held is not None and held.patient.email_confirmed_at is None
    hal = db.session.scalar(sa.select(Patient).where(Patient.email == "hal@example.org"))
    assert hal is not None and hal.email_confirmed_at is None


def test_the_payment_links_and_returns_change_nothing_when_opened(
    client, demo, make_appointment, make_patient, make_staff, stripe_standin
):
    """With online payment on: a fee's emailed link, and the pages Stripe sends the patient
    back to (a fee's, a deposit's), paid or not: only the webhook records a payment."""
    from datetime import UTC, datetime

    from booking.clinic.payments import fees
    from booking.clinic.tokens import fee_url, manage_token
    from booking.models import FeeKind, SessionType
    from tests.forms import csrf_token
    from tests.test_booking import GOOD_ANSWERS, details_url, next_weekday, start_at
    from tests.test_double_submit import form_key
    from tests.test_fees_desk import set_fees

    set_fees(no_show=3000, late=2000)
    missed = make_appointment(
        datetime(2026, 3, 10, 10, 0, tzinfo=UTC),
        patient=make_patient("Zoë Łukasiewicz", email="zoe@example.org"),
        status="no_show",
    )
    fees.charge_fee(missed, FeeKind.NO_SHOW, staff_user=make_staff("receptionist"))
    fee_link = "/fee/" + fee_url(missed, FeeKind.NO_SHOW).rsplit("/fee/", 1)[1]
    page = client.get(fee_link).get_data(as_text=True)
    started = client.post(f"{fee_link}/pay", data={"csrf_token": csrf_token(page)})
    fee_session = started.location.rsplit("/", 1)[-1]

    deposit_type = db.session.scalar(sa.select(SessionType).filter_by(slug="full-combination"))
    deposit_type.deposit_pence = 2000
    db.session.commit()
    slot = start_at(next_weekday(2, at_least_days=4), 11)
    html = client.get(details_url(slot)).get_data(as_text=True)
    form = {**GOOD_ANSWERS, "csrf_token": csrf_token(html), "submission": form_key(html)}
    to_stripe = client.post(details_url(slot), data=form)
    assert to_stripe.status_code == 303
    deposit_session = to_stripe.location.rsplit("/", 1)[-1]
    held = db.session.scalar(sa.select(Appointment).where(Appointment.starts_at == slot))
    token = manage_token(held)

    statuses = opened_twice_writes_nothing(
        client,
        {
            "fee": fee_link,
            "fee, back from Stripe": f"{fee_link}?session_id={fee_session}",
            "fee, payment cancelled": f"{fee_link}?cancelled=1",
            "deposit": f"/book/deposit/{token}",
            "deposit, back from Stripe": f"/book/deposit/{token}/paid?session_id={deposit_session}",
            "deposit, payment cancelled": f"/book/deposit/{token}/cancelled",
        },
    )
    assert set(statuses.values()) == {200}, statuses
    db.session.rollback()
    assert db.session.get(Appointment, held.id).status == AppointmentStatus.HELD
