"""Costs that do not grow with the clinic: as many queries for 20 practitioners as for 1."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import delete

from booking.extensions import db
from booking.models import (
    Appointment,
    Patient,
    Practitioner,
    SessionType,
    TimeOff,
    Treatment,
    WorkingHours,
)
from tests.queries import counting_queries

CLINIC_SIZES = (1, 5, 20)


def session_offered_by(count: int) -> SessionType:
    """A session type of its own offered by `count` practitioners, each with a busy week."""
    session_type = SessionType(
        slug=f"offered-by-{count}", name="Acupuncture", duration_minutes=45, price_pence=6000
    )
    patient = Patient(name="Pat Example", email="pat@example.org")
    soon = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    for number in range(count):
        practitioner = Practitioner(
            slug=f"practitioner-{count}-{number}",
            name=f"Practitioner {number}",
            position=number,
            session_types=[session_type],
            working_hours=[
                WorkingHours(weekday=weekday, starts_at=time(9), ends_at=time(17))
                for weekday in range(7)
            ],
        )
        db.session.add_all(
            [
                practitioner,
                TimeOff(
                    practitioner=practitioner, starts_at=soon, ends_at=soon + timedelta(hours=2)
                ),
                Appointment(
                    practitioner=practitioner,
                    patient=patient,
                    session_type=session_type,
                    starts_at=soon + timedelta(days=1),
                    ends_at=soon + timedelta(days=1, minutes=45),
                    status="booked",
                    price_pence=0,
                ),
            ]
        )
    db.session.commit()
    return session_type


def statements_sent(client, path: str) -> list[str]:
    """The statements one GET sends, leaving out the settings row's read.

    Whether that read happens depends on the age of the cached copy (see
    test_settings_cache.py), not on the size of the clinic.
    """
    db.session.remove()
    with counting_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200, path
    assert b'class="time"' in response.data
    return [
        sql
        for sql in statements
        # SQLite's BEGIN is a statement of its own here; PostgreSQL's is not.
        if "from clinic_settings" not in sql.lower() and not sql.lstrip().startswith("BEGIN")
    ]


def test_the_times_page_sends_as_many_queries_for_twenty_practitioners_as_for_one(app, client):
    assert client.get("/book").status_code == 200  # the settings row exists, templates compiled
    built, cached = {}, {}
    for size in CLINIC_SIZES:
        path = f"/book/{session_offered_by(size).slug}/times?practitioner=any"
        built[size] = len(statements_sent(client, path))
        # Asked again with nothing changed, the page comes from the cache: one query at
        # most tells that nothing it shows has changed (test_times_page_cache.py).
        cached[size] = len(statements_sent(client, path))
    assert built[1] == built[5] == built[20], built
    assert cached[1] == cached[5] == cached[20] <= 1, cached


def clinic_with(count: int) -> None:
    """`count` session types (combinations of two treatments) and `count` practitioners."""
    treatments = [
        Treatment(slug=f"treatment-{number}", name=f"Treatment {number}", position=number)
        for number in range(2)
    ]
    practitioners = [
        Practitioner(
            slug=f"listed-{number}",
            name=f"Listed Practitioner {number}",
            position=number,
            working_hours=[WorkingHours(weekday=0, starts_at=time(9), ends_at=time(17))],
        )
        for number in range(count)
    ]
    session_types = [
        SessionType(
            slug=f"combination-{number}",
            name=f"Combination {number}",
            duration_minutes=60,
            price_pence=7000,
            position=number,
            treatments=treatments,
            practitioners=practitioners,
        )
        for number in range(count)
    ]
    db.session.add_all([*treatments, *practitioners, *session_types])
    db.session.commit()


LISTINGS = (
    "/book",
    "/treatments-and-prices",
    "/diary/session-types",
    "/diary/practitioners",
    "/diary/working-hours",
)


def listing_statements(client, path: str) -> int:
    assert client.get(path).status_code == 200  # warm
    db.session.remove()
    with counting_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200, path
    assert b"Combination 0" in response.data or b"Listed Practitioner 0" in response.data, path
    return len([sql for sql in statements if "from clinic_settings" not in sql.lower()])


@pytest.mark.parametrize("path", LISTINGS)
def test_a_listing_sends_as_many_queries_for_twenty_rows_as_for_one(app, admin_client, path):
    clinic_with(1)
    one = listing_statements(admin_client, path)
    db.session.execute(delete(SessionType))
    db.session.execute(delete(Practitioner))
    db.session.execute(delete(Treatment))
    db.session.commit()
    clinic_with(20)
    assert listing_statements(admin_client, path) == one
