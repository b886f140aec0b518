"""The migrations form one line: parallel work that adds a migration must rebase its
down_revision onto the newest, or `flask db upgrade` stops with "multiple heads"."""

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def test_the_migrations_have_exactly_one_head():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"


def test_an_existing_clinics_sqlite_database_upgrades_with_its_data(app, tmp_path):
    """A migration that rebuilds a table others refer to (SQLite's batch mode) upgrades a
    database full of bookings: `make run` on an existing demo stopped with "FOREIGN KEY
    constraint failed" at DROP TABLE session_types."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from booking import create_app
    from booking.cli import seed_demo
    from booking.extensions import db
    from booking.models import Appointment, SessionType

    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    existing = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with existing.app_context():
        upgrade()
        seed_demo(with_diary=True)
        booked = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment))
        assert booked > 0
        db.session.remove()
        # The clinic as it was before session types could be recommended (e1886b806158),
        # and before appointments could be held (f3a8c1d2e4b5), by the migrations' own way
        # down; then up again, with every booking in place.
        downgrade(revision="982ef3632794")
        with db.engine.connect() as connection:
            columns = {
                row[1] for row in connection.exec_driver_sql("PRAGMA table_info(appointments)")
            }
            assert "held_until" not in columns
        upgrade()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == booked
        assert all(not s.recommended for s in db.session.scalars(sa.select(SessionType)))
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.session.remove()
        db.engine.dispose()


def test_the_enum_checks_upgrade_an_existing_outbox_and_refuse_a_stray_word(app, tmp_path, capfd):
    """d9f4b6a1c2e8 adds the CHECKs on outbox_messages.channel (a table its attachments
    refer to), staff_sessions and imported_records: the messages and their attachments
    stay; a row the code never wrote stops the upgrade, naming its table, until corrected."""
    import pytest
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from booking import create_app
    from booking.extensions import db

    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    existing = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with existing.app_context():
        upgrade()
        downgrade(revision="c3e8f1a2b7d4")
        with db.engine.begin() as connection:
            for channel in ("email", "pigeon"):
                connection.exec_driver_sql(
                    "INSERT INTO outbox_messages (channel, kind, recipient, subject, text_body,"
                    " status, attempts, last_error, created_at, next_attempt_at)"
                    f" VALUES ('{channel}', 'test', 'x@example.org', 's', 'b', 'pending', 0, '',"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            first = connection.exec_driver_sql("SELECT min(id) FROM outbox_messages").scalar()
            connection.exec_driver_sql(
                "INSERT INTO outbox_attachments (message_id, filename, content_type, content)"
                f" VALUES ({first}, 'receipt.pdf', 'application/pdf', x'25504446')"
            )
        db.session.remove()
        # Flask-Migrate logs the migration's error and exits.
        with pytest.raises(SystemExit):
            upgrade()
        assert "1 row(s) of outbox_messages have a channel" in capfd.readouterr().err
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE outbox_messages SET channel = 'letter' WHERE channel = 'pigeon'"
            )
        upgrade()
        with db.engine.begin() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM outbox_attachments").scalar()
            assert connection.exec_driver_sql("SELECT count(*) FROM outbox_messages").scalar() == 2
            checks = {
                c["name"] for c in sa.inspect(connection).get_check_constraints("outbox_messages")
            }
            assert "ck_outbox_messages_channel_known" in checks
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE outbox_messages SET channel = 'pigeon'")
        db.session.remove()
        db.engine.dispose()


def _a_fresh_database(database_url: str, tmp_path) -> str:
    """An empty database of the backend under test, apart from the tests' own."""
    import sqlalchemy as sa

    from config import database_url as normalised

    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    url = sa.engine.make_url(normalised(database_url))
    name = f"{url.database}_upgrade"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def test_who_asked_to_cancel_is_filled_in_from_who_cancelled_on_upgrade(
    app, database_url, tmp_path
):
    """a7c2e9d4f180 adds appointments.cancel_requested_by: a cancellation the patient made
    online was theirs to ask for; one staff made may have been either, so it stays unknown
    (NULL) rather than being guessed. Both backends, with a CHECK as for cancelled_by."""
    from datetime import UTC, datetime

    import pytest
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from booking import create_app
    from booking.cli import seed_demo
    from booking.extensions import db
    from tests.factories import make_appointment

    url = _a_fresh_database(database_url, tmp_path)
    existing = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    try:
        with existing.app_context():
            upgrade()
            seed_demo()
            ids = {
                who: make_appointment(
                    datetime(2026, 3, day, 10, tzinfo=UTC),
                    status="cancelled" if who else "booked",
                    cancelled_by=who,
                    cancelled_at=datetime(2026, 3, 1, 9, tzinfo=UTC) if who else None,
                ).id
                for day, who in ((2, "patient"), (3, "clinic"), (4, None))
            }
            db.session.remove()
            downgrade(revision="d9f4b6a1c2e8")
            columns = {c["name"] for c in sa.inspect(db.engine).get_columns("appointments")}
            assert "cancel_requested_by" not in columns
            upgrade()
            with db.engine.begin() as connection:
                asked = dict(
                    connection.execute(
                        sa.text("SELECT id, cancel_requested_by FROM appointments")
                    ).all()
                )
            assert asked == {ids["patient"]: "patient", ids["clinic"]: None, ids[None]: None}
            checks = {
                c["name"] for c in sa.inspect(db.engine).get_check_constraints("appointments")
            }
            assert "ck_appointments_cancel_requested_by_known" in checks
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.exec_driver_sql(
                    "UPDATE appointments SET cancel_requested_by = 'made_up'"
                )
            db.session.remove()
            db.engine.dispose()
    finally:
        if not url.startswith("sqlite"):
            from config import database_url as normalised

            engine = sa.create_engine(normalised(database_url), isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                name = sa.engine.make_url(url).database
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            engine.dispose()
