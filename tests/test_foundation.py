"""The base: configuration, UTC storage, migrations, the information site, error pages."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from booking.database import UTCDateTime
from booking.extensions import db
from booking.models import Appointment, AuditEvent, Patient, Practitioner, SessionType, StaffUser

LONDON = ZoneInfo("Europe/London")


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    from booking import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_production_refuses_to_start_without_valid_clinical_record_keys(monkeypatch):
    from booking import create_app

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("CLINICAL_RECORD_KEYS", raising=False)
    with pytest.raises(RuntimeError, match="CLINICAL_RECORD_KEYS must be set"):
        create_app("production")
    monkeypatch.setenv("CLINICAL_RECORD_KEYS", "not-a-key")
    with pytest.raises(RuntimeError, match="key 1 is not a Fernet key"):
        create_app("production")


def test_production_sets_secure_cookies(monkeypatch, database_url):
    from booking import create_app

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", database_url)
    app = create_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SECRET_KEY"] == "x" * 40


def test_postgres_urls_use_the_psycopg_driver():
    from config import database_url

    assert database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_migrations_match_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_the_migration_reaches_head(app):
    with db.engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(app.extensions["migrate"].directory))
    assert revision == script.get_current_head()


def test_datetimes_come_back_aware_utc_whatever_zone_went_in(app, demo):
    practitioner = db.session.scalar(sa.select(Practitioner).limit(1))
    session_type = db.session.scalar(sa.select(SessionType).limit(1))
    patient = Patient(name="Ada Lovelace", email="ada@example.org")
    # 10:00 BST on 1 July is 09:00 UTC.
    start = datetime(2026, 7, 1, 10, 0, tzinfo=LONDON)
    appointment = Appointment(
        practitioner=practitioner,
        patient=patient,
        session_type=session_type,
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
    )
    db.session.add(appointment)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Appointment, appointment.id)
    assert stored.starts_at.tzinfo is not None
    assert stored.starts_at.utcoffset() == timedelta(0)
    assert stored.starts_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    # And queries compare instants, not text: the same instant in another zone matches.
    same_instant = datetime(2026, 7, 1, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    found = db.session.scalar(sa.select(Appointment).where(Appointment.starts_at == same_instant))
    assert found is not None and found.id == appointment.id


def test_stored_times_read_back_as_utc_whatever_their_text(app):
    """UTCDateTime's quick read on SQLite (the text with "+00:00" appended) gives what the
    general way gives: naive text is UTC, text with an offset is moved to UTC, NULL is
    None, with or without microseconds. On PostgreSQL the values are real timestamps."""
    column = sa.column("value", UTCDateTime)
    if db.engine.dialect.name == "sqlite":
        cases = {
            "2026-10-25 01:30:00.000000": datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            "2026-10-25 01:30:00": datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            "2026-03-29 00:59:59.250000": datetime(2026, 3, 29, 0, 59, 59, 250000, tzinfo=UTC),
            "2026-07-01 11:00:00+02:00": datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        }
    else:
        cases = {
            "2026-10-25 01:30:00+00": datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            "2026-07-01 11:00:00+02": datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        }
    for text, expected in cases.items():
        source = (
            "CAST(:text AS TIMESTAMP WITH TIME ZONE)"
            if db.engine.dialect.name != "sqlite"
            else ":text"
        )
        read = db.session.execute(
            sa.select(column).select_from(sa.text(f"(SELECT {source} AS value) AS t")),
            {"text": text},
        ).scalar_one()
        assert read == expected, text
        assert read.tzinfo is UTC, text
    nothing = db.session.execute(
        sa.select(column).select_from(sa.text("(SELECT NULL AS value) AS t"))
    ).scalar_one()
    assert nothing is None


def test_naive_datetimes_are_refused(app, demo):
    patient = Patient(name="Naive Time", health_consent_at=datetime(2026, 1, 1, 12, 0))
    db.session.add(patient)
    with pytest.raises(sa.exc.StatementError, match="naive"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 0


def test_seed_demo_is_idempotent(app):
    from booking.cli import seed_demo

    first_password = seed_demo()
    assert first_password
    counts = {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Practitioner, SessionType, StaffUser)
    }
    assert seed_demo() is None
    again = {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Practitioner, SessionType, StaffUser)
    }
    assert counts == again
    assert counts["Practitioner"] == 2
    receptionist = db.session.scalar(sa.select(StaffUser))
    assert receptionist.check_password(first_password)
    assert not receptionist.password_hash.startswith(first_password)
    # Made by the admin pages' own function, so audited like any account (once).
    [added] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "staff.added"))
    assert added.staff_user_id is None
    assert (added.subject_type, added.subject_id) == ("StaffUser", receptionist.id)
    assert added.details["role"] == "receptionist"
    assert added.details["email"] == "reception@clinic.example"
    full = db.session.scalar(sa.select(SessionType).filter_by(slug="full-combination"))
    assert full.duration_minutes == 90 and len(full.treatments) == 4
    # A newcomer's first receipt names a registration, as insurers and cash plans ask.
    colette = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
    assert (colette.professional_body, colette.registration_number) == (
        "British Acupuncture Council",
        "DEMO-0001",
    )


def test_seed_demo_command_prints_the_password_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "password:" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "password:" not in second.output


INFORMATION_PAGES = [
    ("/", "sciatica"),
    ("/sciatica", "herniated"),
    ("/treatment", "cupping"),
    ("/practitioner", "Colette Assor"),
    ("/when-not-to-book", "999"),
    ("/contact", "NW0"),
    ("/treatments-and-prices", "Full combination session"),
]


@pytest.mark.parametrize(("path", "expected"), INFORMATION_PAGES)
def test_information_pages_render_with_a_call_to_book(client, demo, path, expected):
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert expected.lower() in html.lower()
    assert 'href="/book"' in html
    assert "Book an appointment" in html
    assert '<meta name="viewport"' in html
    assert "<main" in html and "<h1" in html


def test_prices_come_from_the_database(client, demo):
    session_type = db.session.scalar(sa.select(SessionType).filter_by(slug="full-combination"))
    session_type.price_pence = 12345
    db.session.commit()
    html = client.get("/treatments-and-prices").get_data(as_text=True)
    assert "£123.45" in html
    assert "1 h 30 min" in html


def test_the_sciatica_page_never_claims_nice_recommends_acupuncture_now(client, demo):
    html = client.get("/treatment").get_data(as_text=True)
    assert "NG59" in html and "CG88" in html


def test_unknown_urls_get_a_styled_404(client, demo):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html
    assert "site.css" in html


def test_server_errors_get_a_styled_500_without_a_traceback(app, demo):
    from booking import create_app

    # A fresh app: routes cannot be added to one that has already served requests.
    exploding = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        PROPAGATE_EXCEPTIONS=False,
    )

    @exploding.get("/__explode")
    def explode():
        raise RuntimeError("secret internals")

    response = exploding.test_client().get("/__explode")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html
    assert "Traceback" not in html and "secret internals" not in html


def test_security_headers_are_on_every_response(client, demo):
    for path in ("/", "/no-such-page"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_set_password_replaces_a_forgotten_password_and_ends_sessions(app, demo):

    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["set-password", "--email", "Reception@clinic.example"],
        input="a brand new password\na brand new password\n",
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    user = db.session.scalar(sa.select(StaffUser).filter_by(email="reception@clinic.example"))
    assert user.check_password("a brand new password")
    assert not user.check_password(demo)
    assert user.session_version == 2
    unknown = runner.invoke(
        args=["set-password", "--email", "nobody@clinic.example"],
        input="x" * 12 + "\n" + "x" * 12 + "\n",
    )
    assert unknown.exit_code != 0 and "no staff account" in unknown.output


def test_behind_a_trusted_proxy_the_visitors_address_is_used():
    from booking import create_app

    proxied = create_app("testing", TRUSTED_PROXIES=1)

    @proxied.get("/_address")
    def address():
        from flask import request

        return request.remote_addr

    answer = proxied.test_client().get(
        "/_address",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert answer.get_data(as_text=True) == "203.0.113.9"
    direct = create_app("testing").test_client()
    assert direct.application.config["TRUSTED_PROXIES"] == 0


def test_building_a_production_app_leaves_the_tests_rate_limits_as_they_were(
    app, monkeypatch, database_url, make_staff, sign_in
):
    """Found with the clock a year ahead: after the production app above, later tests'
    sign-ins met 429. The suite's autouse fixture restores the shared limiter."""
    from booking import create_app
    from booking.extensions import limiter
    from tests.conftest import restore_rate_limiter

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", database_url)
    before = limiter.enabled
    create_app("production")
    assert limiter.enabled is True  # the leak: one limiter shared by every app
    restore_rate_limiter(before)
    user = make_staff()
    answers = {sign_in(app.test_client(), user).status_code for _ in range(12)}
    assert answers == {302}
