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
