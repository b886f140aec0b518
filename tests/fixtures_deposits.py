"""Fixtures for the deposit tests (registered in conftest.py): the demo clinic's full
combination session asking a deposit, and a weekday time for it far enough ahead to be
refundable under the default policy."""

import pytest
import sqlalchemy as sa

from booking.extensions import db
from booking.models import SessionType
from tests.test_booking import get, next_weekday, start_at

DEPOSIT = 2000  # pence


@pytest.fixture
def with_deposit(demo):
    session_type = get(SessionType, slug="full-combination")
    session_type.deposit_pence = DEPOSIT
    db.session.commit()
    return session_type


@pytest.fixture
def slot(demo):
    return start_at(next_weekday(2, at_least_days=4), 11)


def fresh(model, *conditions) -> list:
    """The rows as the database holds them now: webhooks are applied on another connection."""
    db.session.rollback()
    return list(db.session.scalars(sa.select(model).where(*conditions).order_by(model.id)))
