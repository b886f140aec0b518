"""The unit of work: commits once, rolls back on any error, joins when nested, never hides work."""

import pytest
import sqlalchemy as sa

from booking.clinic.errors import DomainError
from booking.clinic.transaction import (
    PendingChangesOutsideUnitOfWork,
    end_read,
    in_unit_of_work,
    lock,
    unit_of_work,
)
from booking.extensions import db
from booking.models import Patient


def patients() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Patient.name).order_by(Patient.id)))


def test_a_unit_of_work_commits_once_at_the_end(app):
    with unit_of_work() as session:
        session.add(Patient(name="Kept", email="kept@example.org"))
        assert in_unit_of_work()
    assert not in_unit_of_work()
    db.session.remove()
    assert patients() == ["Kept"]


def test_a_domain_error_rolls_everything_back_and_goes_on_up(app):
    with pytest.raises(DomainError, match="No, thank you"):
        with unit_of_work() as session:
            session.add(Patient(name="Dropped", email="dropped@example.org"))
            session.flush()
            raise DomainError("No, thank you")
    assert patients() == []


def test_a_nested_unit_joins_the_outer_one_all_or_nothing(app):
    with pytest.raises(RuntimeError):
        with unit_of_work() as session:
            with unit_of_work():
                session.add(Patient(name="Inner", email="inner@example.org"))
            # The inner unit did not commit: the outer one's failure takes it back too.
            raise RuntimeError("the outer unit fails after the inner one ended")
    assert patients() == []


def test_rows_changed_before_the_unit_began_are_refused_not_committed(app):
    db.session.add(Patient(name="Stray", email="stray@example.org"))
    with pytest.raises(PendingChangesOutsideUnitOfWork):
        with unit_of_work():
            pass
    db.session.rollback()
    assert patients() == []


def test_lock_reads_the_row_afresh_and_only_inside_a_unit(app):
    with unit_of_work() as session:
        patient = Patient(name="Before", email="lock@example.org")
        session.add(patient)
    with pytest.raises(RuntimeError):
        lock(Patient, patient.id)
    # Changed behind the session's back, as another request would.
    with db.engine.begin() as connection:
        connection.execute(sa.update(Patient).values(name="After"))
    with unit_of_work():
        assert lock(Patient, patient.id) is patient
        assert patient.name == "After"


def test_end_read_ends_a_read_but_refuses_to_drop_changes(app):
    patients()
    assert db.session().in_transaction()
    end_read()
    assert not db.session().in_transaction()
    db.session.add(Patient(name="Unsaved", email="unsaved@example.org"))
    with pytest.raises(PendingChangesOutsideUnitOfWork):
        end_read()
    db.session.rollback()
