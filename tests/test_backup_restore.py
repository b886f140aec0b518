"""Backups restore: back up a seeded clinic, restore into a fresh database, compare.

The commands are the ones the README gives (`flask backup`, `flask restore`,
`flask database-summary`), run through Flask's CLI runner against the real tools:
pg_dump and pg_restore on the PostgreSQL pass (into a new database made for the test),
SQLite's backup API on the SQLite pass (into a new file). Every table's row count and
checksum must match the source's.
"""

import uuid
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa

from booking import backup, create_app
from booking.clinic.courses import sell_course
from booking.extensions import db
from booking.models import Appointment, CourseProduct, StaffUser
from tests.test_security import appointment  # noqa: F401  (a fixture)


@pytest.fixture
def seeded(demo, appointment, make_staff):  # noqa: F811
    """The demo clinic, a booking, a course sold at the desk and a cancelled booking."""
    staff = make_staff("admin")
    product = db.session.scalar(sa.select(CourseProduct).order_by(CourseProduct.id))
    sell_course(product, appointment.patient, staff_user=staff, payment_reference="PAY-1")
    db.session.add(
        Appointment(
            practitioner=appointment.practitioner,
            patient=appointment.patient,
            session_type=appointment.session_type,
            starts_at=appointment.starts_at + timedelta(days=7),
            ends_at=appointment.ends_at + timedelta(days=7),
            status="cancelled",
            cancellation_reason="Rang to cancel",
        )
    )
    db.session.commit()
    return backup.summary()


@pytest.fixture
def fresh_database(backend, database_url, tmp_path):
    """The URL of a new, empty database of the same backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    from config import database_url as normalise

    name = f"prod_restore_{uuid.uuid4().hex[:12]}"
    server = make_admin_url(database_url)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(normalise(database_url)).set(database=name)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_admin_url(database_url: str) -> str:
    """The same server's maintenance database, for CREATE and DROP DATABASE."""
    url = sa.engine.make_url(database_url).set(drivername="postgresql", database="postgres")
    return url.render_as_string(hide_password=False)


def test_a_backup_restores_into_a_fresh_database_table_for_table(
    app, seeded, fresh_database, tmp_path
):
    assert seeded["appointments"][0] == 2 and seeded["courses"][0] == 1
    assert seeded["alembic_version"][0] == 1
    file = tmp_path / "clinic.backup"

    made = app.test_cli_runner().invoke(args=["backup", str(file)])
    assert made.exit_code == 0, made.output
    assert file.stat().st_size > 0

    restored_app = create_app("testing", SQLALCHEMY_DATABASE_URI=fresh_database)
    # The commands run in the app context they find: the restored app's, pushed here.
    with restored_app.app_context():
        try:
            runner = restored_app.test_cli_runner()
            restored = runner.invoke(args=["restore", str(file)])
            assert restored.exit_code == 0, restored.output
            assert backup.summary() == seeded
            # The restored clinic works: its accounts and bookings read back.
            assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 2
            db.session.remove()
            listed = runner.invoke(args=["database-summary"])
            assert listed.exit_code == 0
            assert f"sha256 {seeded['appointments'][1]}" in listed.output

            # A second restore into what is now a full database is refused, changing nothing.
            again = runner.invoke(args=["restore", str(file)])
            assert again.exit_code == 1
            assert "restore into a new" in again.output
            assert backup.summary() == seeded
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_double_booking_guarantee_survives_a_restore_on_postgresql(
    app, backend, seeded, fresh_database, tmp_path
):
    if backend != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's")
    file = tmp_path / "clinic.backup"
    assert app.test_cli_runner().invoke(args=["backup", str(file)]).exit_code == 0
    restored_app = create_app("testing", SQLALCHEMY_DATABASE_URI=fresh_database)
    with restored_app.app_context():
        try:
            restored = restored_app.test_cli_runner().invoke(args=["restore", str(file)])
            assert restored.exit_code == 0, restored.output
            kinds = db.session.scalars(
                sa.text(
                    "select contype from pg_constraint "
                    "where conrelid = 'appointments'::regclass and contype = 'x'"
                )
            ).all()
            assert kinds == ["x"]
        finally:
            db.session.remove()
            db.engine.dispose()
