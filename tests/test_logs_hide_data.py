"""A database error never writes a patient's details or health note to the log.

SQLAlchemy's error messages quote the statement's parameters unless the engine hides
them, and Flask logs an unhandled error's message with its traceback. Here the database
itself refuses a real booking (a trigger added for this test raises on every new
appointment), the booking form carries a note, and the captured log is read.
"""

import logging

import pytest

from booking.extensions import db
from tests.forms import csrf_token
from tests.test_security import _slot_url

NOTE = "Tingling in both legs since the fall on the ice"
TRIGGERS = {
    "sqlite": (
        [
            "CREATE TRIGGER prod_refuse_appointments BEFORE INSERT ON appointments "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ],
        ["DROP TRIGGER IF EXISTS prod_refuse_appointments"],
    ),
    "postgresql": (
        [
            "CREATE FUNCTION prod_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
            "CREATE TRIGGER prod_refuse_appointments BEFORE INSERT ON appointments "
            "FOR EACH ROW EXECUTE FUNCTION prod_refuse()",
        ],
        [
            "DROP TRIGGER IF EXISTS prod_refuse_appointments ON appointments",
            "DROP FUNCTION IF EXISTS prod_refuse()",
        ],
    ),
}


@pytest.fixture
def database_refuses_appointments(app, backend):
    create, drop = TRIGGERS[backend]
    # Drop first as well: a trigger left by an earlier test on this worker's database (one
    # whose teardown could not drop it while a session still held the file) must not turn
    # the next test into an error.
    with db.engine.begin() as connection:
        for statement in [*drop, *create]:
            connection.exec_driver_sql(statement)
    yield
    db.session.remove()
    with db.engine.begin() as connection:
        for statement in drop:
            connection.exec_driver_sql(statement)


def book_with_a_note(client):
    """Post a booking carrying the patient's note; the database refuses it (the fixture)."""
    url = _slot_url()
    form = {
        "csrf_token": csrf_token(client.get(url).get_data(as_text=True)),
        "name": "Ruth Adeyemi",
        "email": "ruth.adeyemi@example.org",
        "phone": "07700 900555",
        "note": NOTE,
        "cauda_equina": "no",
        "other_warning": "no",
        "consent": "y",
    }
    return client.post(url, data=form)


def test_a_database_error_logs_no_parameters(
    app, client, demo, database_refuses_appointments, caplog, monkeypatch
):
    # As in production: Flask answers 500 and logs the error, rather than re-raising it.
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    with caplog.at_level(logging.INFO):
        response = book_with_a_note(client)
    assert response.status_code == 500
    logged = caplog.text
    # The error really was logged, traceback and all...
    assert "refused by the test" in logged
    assert "SQL parameters hidden" in logged
    # ...and nothing the patient typed is in it.
    for value in (NOTE, "Ruth Adeyemi", "ruth.adeyemi@example.org", "07700 900555"):
        assert value not in logged


def test_the_500_page_does_not_promise_that_what_was_sent_was_kept(
    app, client, demo, database_refuses_appointments, monkeypatch
):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = book_with_a_note(client)
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert "may not have been saved" in html
    assert "has been lost" not in html
