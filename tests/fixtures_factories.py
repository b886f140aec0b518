"""The factories of tests/factories.py as fixtures (registered in conftest.py).

A test asks for `make_patient`, `make_appointment` or `make_course` by name, which also
brings up the app and its emptied database. `make_course` sells paid courses as a new
receptionist unless given `staff_user=`. `make_staff` lives in tests/fixtures_staff.py.
"""

import functools

import pytest

from tests import factories


@pytest.fixture
def make_patient(app):
    return factories.make_patient


@pytest.fixture
def make_appointment(app):
    return factories.make_appointment


@pytest.fixture
def make_course(app, make_staff):
    def make(*args, staff_user=None, paid: bool = True, **kwargs):
        if paid and staff_user is None:
            staff_user = make_staff("receptionist")
        return factories.make_course(*args, staff_user=staff_user, paid=paid, **kwargs)

    return functools.wraps(factories.make_course)(make)
