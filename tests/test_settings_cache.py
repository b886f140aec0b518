"""The clinic settings: read at most once per request, kept safely between requests."""

import time

import pytest

from booking import create_app
from booking.clinic.settings import clinic_settings, forget_clinic_settings
from booking.extensions import db
from booking.models import ClinicSettings
from tests.queries import counting_queries
from tests.test_admin import post_settings

OTHER_WORKER_CACHE_SECONDS = 3.0
OLD_ADDRESS = "12 Example Road, London NW0 0AA"  # the default
NEW_ADDRESS = "1 Changed Street, London NW0 0AB"


def settings_reads(client, path: str) -> tuple[int, str]:
    db.session.remove()  # a fresh session, as each request served by a worker has
    with counting_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(statements.matching("from clinic_settings")), response.get_data(as_text=True)


def test_a_page_reads_the_settings_once_and_the_next_page_not_at_all(app, client, demo):
    forget_clinic_settings()
    assert settings_reads(client, "/book/full-combination/times?practitioner=any")[0] == 1
    assert settings_reads(client, "/book")[0] == 0
    assert settings_reads(client, "/book/full-combination/times?practitioner=any")[0] == 0


def test_an_admin_change_shows_on_the_next_request_in_the_same_worker(
    app, client, admin_client, demo
):
    assert OLD_ADDRESS in settings_reads(client, "/book")[1]  # now cached
    response = post_settings(admin_client, address=NEW_ADDRESS)
    assert response.status_code == 302
    reads, page = settings_reads(client, "/book")
    assert NEW_ADDRESS in page and OLD_ADDRESS not in page
    assert reads == 1  # read afresh once, then cached again
    assert settings_reads(client, "/book")[0] == 0


def test_a_change_rolled_back_leaves_the_cached_settings_as_they_are(app, client, demo):
    settings_reads(client, "/book")
    clinic_settings().address = "3 Rolled Back Road"
    db.session.flush()
    db.session.rollback()
    reads, page = settings_reads(client, "/book")
    assert OLD_ADDRESS in page and "3 Rolled Back Road" not in page


def test_a_change_committed_in_code_reaches_the_next_request(app, client, demo):
    settings_reads(client, "/book")
    clinic_settings().address = "5 Committed Close"
    db.session.commit()
    assert "5 Committed Close" in settings_reads(client, "/book")[1]


@pytest.fixture
def other_worker(app):
    """A second app on the same database: another worker process, with its own cache."""
    other = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        CLINIC_SETTINGS_CACHE_SECONDS=OTHER_WORKER_CACHE_SECONDS,
    )
    yield other.test_client()
    with other.app_context():
        db.engine.dispose()


def test_another_worker_shows_an_admin_change_within_its_cache_seconds(
    app, admin_client, other_worker, demo
):
    asked_at = time.monotonic()
    assert OLD_ADDRESS in other_worker.get("/book").get_data(as_text=True)
    answered_at = time.monotonic()  # its copy was taken between these two instants
    assert post_settings(admin_client, address=NEW_ADDRESS).status_code == 302
    assert db.session.get(ClinicSettings, 1).address == NEW_ADDRESS

    stale = other_worker.get("/book").get_data(as_text=True)
    if time.monotonic() - asked_at < OTHER_WORKER_CACHE_SECONDS:
        assert OLD_ADDRESS in stale  # its copy is still young: no query for it
    time.sleep(max(0.0, answered_at + OTHER_WORKER_CACHE_SECONDS - time.monotonic()) + 0.05)
    fresh = other_worker.get("/book").get_data(as_text=True)
    assert NEW_ADDRESS in fresh and OLD_ADDRESS not in fresh
