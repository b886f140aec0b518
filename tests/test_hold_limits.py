"""Caps on online holds: per email or phone, and per client address, with the clinic's number."""

import pytest
import sqlalchemy as sa

from booking.clinic import holds
from booking.clinic.appointments import PatientDetails, book_appointment, cancel_appointment
from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import Appointment, Practitioner, SessionType
from tests.at_once import race
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


def test_bookings_racing_with_one_email_never_pass_the_cap(app, demo, small_caps):
    """Six simultaneous bookings of six free times, one email: at most the cap are kept."""
    session_type_id = db.session.scalar(sa.select(SessionType.id).filter_by(slug="massage"))
    practitioner_id = db.session.scalar(sa.select(Practitioner.id).filter_by(slug="colette-assor"))
    day = next_weekday(2)
    times = [start_at(day, hour) for hour in (9, 10, 11, 14, 15, 16)]
    db.session.remove()

    def attempt(number: int) -> str:
        book_appointment(
            session_type=db.session.get(SessionType, session_type_id),
            starts_at=times[number],
            practitioner=db.session.get(Practitioner, practitioner_id),
            # Each racer gives another address, so only the contact's cap can stop them.
            patient=PatientDetails(f"Racer {number}", "racer@example.org", None),
            hold_limits=holds.HoldLimits(client_key=f"address-{number}"),
        )
        return "booked"

    outcomes = race(app, len(times), attempt)

    assert outcomes.count("booked") == 2, outcomes
    refusals = [outcome for outcome in outcomes if outcome != "booked"]
    assert all("the most we hold online for one person" in r for r in refusals), outcomes
    assert len(live()) == 2


def test_bookings_racing_from_one_address_never_pass_its_cap(app, demo, small_caps):
    """Six simultaneous bookings from one address with six contacts: at most its cap kept."""
    session_type_id = db.session.scalar(sa.select(SessionType.id).filter_by(slug="massage"))
    practitioner_id = db.session.scalar(sa.select(Practitioner.id).filter_by(slug="colette-assor"))
    day = next_weekday(2)
    times = [start_at(day, hour) for hour in (9, 10, 11, 14, 15, 16)]
    db.session.remove()

    def attempt(number: int) -> str:
        book_appointment(
            session_type=db.session.get(SessionType, session_type_id),
            starts_at=times[number],
            practitioner=db.session.get(Practitioner, practitioner_id),
            patient=PatientDetails(f"Racer {number}", f"racer-{number}@example.org", None),
            hold_limits=holds.HoldLimits(client_key="one-address"),
        )
        return "booked"

    outcomes = race(app, len(times), attempt)

    assert outcomes.count("booked") == 3, outcomes
    refusals = [outcome for outcome in outcomes if outcome != "booked"]
    assert all("booked online from this connection" in r for r in refusals), outcomes
    assert len(live()) == 3
