"""Fixtures: the app on SQLite or PostgreSQL (TEST_DATABASE_URL), a client, demo data.

The schema is built by the real migrations once per run (once per worker under
pytest-xdist, each worker on a database of its own); each test then starts from
empty tables. Tests that need commits from several threads (concurrency) work
because nothing here wraps a test in a rolled-back transaction.
"""

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask_migrate import upgrade

# Production refuses to start without record keys: the apps and servers the suite starts
# in production mode (and their subprocesses, which inherit this) get one for the run.
os.environ.setdefault("CLINICAL_RECORD_KEYS", Fernet.generate_key().decode())

from booking import create_app  # noqa: E402 - after the environment it reads
from booking.clinic.settings import forget_clinic_settings
from booking.extensions import db, limiter

pytest_plugins = [
    "tests.fixtures_mail",
    "tests.fixtures_staff",
    "tests.fixtures_browser",
    "tests.fixtures_caldav",
    "tests.fixtures_factories",
    "tests.fixtures_stripe",
    "tests.fixtures_deposits",
]

ROOT = Path(__file__).resolve().parent.parent
# Under pytest-xdist each worker ("gw0", "gw1", ...) gets a database of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


# TEST_SQLITE_PATH lets several test runs share one checkout without sharing a database.
SQLITE_TEST_DB = Path(os.environ.get("TEST_SQLITE_PATH") or ROOT / "instance" / "test.sqlite3")


def _given_database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{SQLITE_TEST_DB}"


def _per_worker_url(url: str) -> str:
    """The worker's own database: `test` -> `test_gw0`, `test.sqlite3` -> `test_gw0.sqlite3`."""
    if not WORKER:
        return url
    parsed = sa.engine.make_url(url)
    if url.startswith("sqlite"):
        if not parsed.database or parsed.database == ":memory:":
            return url
        path = Path(parsed.database)
        return f"sqlite:///{path.with_name(f'{path.stem}_{WORKER}{path.suffix}')}"
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


# Worked out once at import: the app fixture points TEST_DATABASE_URL at the worker's own
# database for subprocesses, so reading it again later would append the suffix twice.
GIVEN_DATABASE_URL = _given_database_url()
DATABASE_URL = _per_worker_url(GIVEN_DATABASE_URL)


def _create_worker_database(given: str, url: str) -> None:
    """Create the worker's PostgreSQL database beside the given one, if it is not there yet."""
    from config import database_url

    name = sa.engine.make_url(url).database
    engine = sa.create_engine(database_url(given), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                sa.text("select 1 from pg_database where datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def _reset_database(url: str) -> None:
    """Start from nothing, so that the migrations build the whole schema."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    from config import database_url

    if url != GIVEN_DATABASE_URL:
        _create_worker_database(GIVEN_DATABASE_URL, url)
    engine = sa.create_engine(database_url(url))
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def pytest_report_header(config):
    url = DATABASE_URL
    return f"database backend: {'postgresql' if url.startswith('postgres') else 'sqlite'}"


@pytest.fixture(scope="session")
def database_url():
    return DATABASE_URL


@pytest.fixture(scope="session")
def backend(database_url):
    return "postgresql" if database_url.startswith("postgres") else "sqlite"


@pytest.fixture(scope="session")
def _migrated_app(database_url):
    os.environ["TEST_DATABASE_URL"] = database_url
    _reset_database(database_url)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=_normalise(database_url))
    with app.app_context():
        upgrade()
    return app


def _normalise(url: str) -> str:
    from config import database_url

    return database_url(url)


def _empty_all_tables() -> None:
    """Every table emptied, children first; on PostgreSQL the id sequences start again at 1.

    DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE gives each of the ~50
    tables a new file on disk, over a second per test on a busy machine (DELETE: a few ms).
    """
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            deletes = "; ".join(f'DELETE FROM "{table.name}"' for table in tables)
            connection.exec_driver_sql(deletes)
            # As TRUNCATE's RESTART IDENTITY: setval is not transactional and costs no file.
            connection.exec_driver_sql(
                "SELECT setval((quote_ident(schemaname) || '.' || quote_ident(sequencename))"
                "::regclass, 1, false) "
                "FROM pg_sequences "
                "WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def app(_migrated_app):
    app = _migrated_app
    with app.app_context():
        _empty_all_tables()
        # Emptied with plain SQL, which the settings cache cannot see.
        forget_clinic_settings()
        yield app
        db.session.remove()


def restore_rate_limiter(enabled: bool) -> None:
    """Put the shared limiter back as it was: it is one object for every app a test
    builds, and building one with limits on (any production app) switches it on for
    every later test in the process, whose sign-ins then meet "Too many attempts"
    depending on the order the tests ran in."""
    if limiter.enabled != enabled:
        limiter.enabled = enabled
        limiter.reset()


@pytest.fixture(autouse=True)
def _rate_limiter_left_as_found():
    enabled = limiter.enabled
    yield
    restore_rate_limiter(enabled)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def demo(app):
    """The demo clinic from `flask seed-demo`; returns the receptionist's password."""
    from booking.cli import seed_demo

    return seed_demo()


@pytest.fixture
def rate_limited_client(app):
    """A client of a second app on the same database with the rate limiter switched on.

    The limiter is off in the test settings and cannot be switched on for an app that has
    already served requests, so this builds one; the shared limiter is switched off again after.
    """
    limited = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
    )
    limiter.reset()
    yield limited.test_client()
    limiter.reset()
    limiter.enabled = False
    with limited.app_context():
        db.engine.dispose()
