"""Caps on online holds: per email or phone, and per client address, with the clinic's number."""

import pytest
import sqlalchemy as sa

from booking.clinic.appointments import cancel_appointment
from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import Appointment
from tests.test_booking import details_url, next_weekday, start_at, submit_details


@pytest.fixture
def small_caps(app):
    saved = app.config["ONLINE_HOLDS_PER_CONTACT"], app.config["ONLINE_HOLDS_PER_ADDRESS"]
    app.config["ONLINE_HOLDS_PER_CONTACT"], app.config["ONLINE_HOLDS_PER_ADDRESS"] = 2, 3
    yield
    app.config["ONLINE_HOLDS_PER_CONTACT"], app.config["ONLINE_HOLDS_PER_ADDRESS"] = saved


def live() -> list[Appointment]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Appointment).where(Appointment.is_live)))


def slots():
    day = next_weekday(1)
    return [start_at(day, hour) for hour in (9, 11, 14, 16)]


def test_one_contact_holds_at_most_the_cap_and_is_given_the_number(client, demo, small_caps):
    first, second, third, _ = slots()
    assert submit_details(client, details_url(first)).status_code == 302
    # The same person by phone number, with another email: still the same contact.
    assert submit_details(client, details_url(second), email="other@example.org").status_code == 302
    refused = submit_details(client, details_url(third), phone="07700 900123")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "the most we hold online for one person" in page
    assert clinic_settings().phone in page
    assert len(live()) == 2
    # A cancellation frees a place.
    cancel_appointment(live()[0], reason="Online")
    assert submit_details(client, details_url(third)).status_code == 302


def test_one_address_holds_at_most_its_cap_whatever_the_contacts(client, demo, small_caps):
    answers = [{"email": f"made-up-{n}@example.org", "phone": f"07700 90010{n}"} for n in range(4)]
    codes = [
        submit_details(client, details_url(slot), **answer).status_code
        for slot, answer in zip(slots(), answers, strict=True)
    ]
    assert codes == [302, 302, 302, 409]
    assert len(live()) == 3
    # Only a keyed hash of the address is kept, never the address itself.
    keys = {appointment.client_key for appointment in live()}
    assert len(keys) == 1 and "127.0.0.1" not in next(iter(keys))


def test_bookings_outside_the_online_form_are_not_capped(client, demo, small_caps):
    from booking.clinic.appointments import PatientDetails, book_appointment
    from booking.models import Practitioner, SessionType

    for slot in slots():
        book_appointment(
            session_type=db.session.scalar(sa.select(SessionType).filter_by(slug="massage")),
            starts_at=slot,
            practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
            patient=PatientDetails("Desk Caller", "desk@example.org", "07700900555"),
        )
    assert len(live()) == 4
