"""Fixtures for staff tests (registered in conftest.py): accounts and signed-in clients."""

import itertools

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import Practitioner, Role, StaffUser
from tests.forms import csrf_token

STAFF_PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


@pytest.fixture
def make_staff(app):
    """Build a staff account: make_staff(role="receptionist", practitioner=None, ...)."""

    def make(
        role: str = "receptionist",
        practitioner: Practitioner | None = None,
        email: str | None = None,
        password: str = STAFF_PASSWORD,
    ) -> StaffUser:
        role = Role(role).value
        number = next(_numbers)
        user = StaffUser(
            email=email or f"{role}-{number}@clinic.example",
            name=f"Test {role.title()} {number}",
            role=role,
            practitioner=practitioner,
        )
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def sign_in():
    """sign_in(client, user, password=...): a real POST to the sign-in form, with its token."""

    def sign(client, user: StaffUser, password: str = STAFF_PASSWORD, next_url: str | None = None):
        page = client.get("/staff/sign-in")
        url = "/staff/sign-in" + (f"?next={next_url}" if next_url else "")
        return client.post(
            url,
            data={
                "email": user.email,
                "password": password,
                "csrf_token": csrf_token(page.get_data(as_text=True)),
            },
        )

    return sign


def _signed_in_client(app, sign_in, user):
    client = app.test_client()
    response = sign_in(client, user)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.user = user
    return client


@pytest.fixture
def receptionist_client(app, make_staff, sign_in):
    """A client signed in as a new receptionist (the account is `client.user`)."""
    return _signed_in_client(app, sign_in, make_staff("receptionist"))


@pytest.fixture
def admin_client(app, make_staff, sign_in):
    """A client signed in as a new administrator (the account is `client.user`)."""
    return _signed_in_client(app, sign_in, make_staff("admin"))


@pytest.fixture
def practitioner_client(app, demo, make_staff, sign_in):
    """A client signed in as the first practitioner of the demo clinic (`client.user`)."""
    practitioner = db.session.scalar(
        sa.select(Practitioner).order_by(Practitioner.position, Practitioner.id).limit(1)
    )
    return _signed_in_client(app, sign_in, make_staff("practitioner", practitioner=practitioner))
