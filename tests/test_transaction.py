"""The unit of work: commits once, rolls back on any error, joins when nested, never hides work."""

import ast
from pathlib import Path

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
from tests import source_tree


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


# Nothing else commits --------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
UNIT_OF_WORK = "booking/clinic/transaction.py"
# Where a rollback outside the unit of work is right: the web's edge, ending the
# transaction of a request that already failed (error pages, the outage page, the
# clinic settings a page falls back on when the database is what failed).
ROLLBACK_AT_THE_EDGE = {"booking/__init__.py", "booking/outage.py"}


def _transaction_calls(source: str) -> list[tuple[int, str]]:
    """(line, name) of every .commit() and .rollback() call in the source."""
    found = []
    for node in source_tree.walk(source):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in {"commit", "rollback"}:
                found.append((node.lineno, node.func.attr))
    return found


def _offences(sources: dict[str, str]) -> list[str]:
    offences = []
    for path, source in sources.items():
        for line, name in _transaction_calls(source):
            if path == UNIT_OF_WORK:
                continue
            if name == "rollback" and path in ROLLBACK_AT_THE_EDGE:
                continue
            offences.append(f"{path}:{line} calls .{name}()")
    return offences


def _application_sources() -> dict[str, str]:
    paths = source_tree.python_files()
    return {str(path.relative_to(ROOT)): path.read_text() for path in paths}


def test_nothing_but_the_unit_of_work_commits_or_rolls_back():
    """Every state change commits in `unit_of_work()`; no helper commits or rolls back
    for its caller (an end of a read is `end_read()`, a failed job's leftovers
    `discard_after_failure()`)."""
    sources = _application_sources()
    assert UNIT_OF_WORK in sources
    assert _offences(sources) == []


def test_the_commit_check_can_fail():
    helper = "def save(row):\n    db.session.add(row)\n    db.session.commit()\n"
    cleanup = "try:\n    pass\nexcept Exception:\n    session.rollback()\n"
    assert _offences(
        {
            "booking/clinic/helper.py": helper,
            "booking/clinic/job.py": cleanup,
            "booking/outage.py": cleanup,
            "booking/__init__.py": helper,
            UNIT_OF_WORK: helper,
        }
    ) == [
        "booking/clinic/helper.py:3 calls .commit()",
        "booking/clinic/job.py:4 calls .rollback()",
        "booking/__init__.py:3 calls .commit()",
    ]
