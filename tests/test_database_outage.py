"""A database outage: every visitor, staff included, gets a styled 503 with Retry-After.

The outage is real: a second app is pointed at a database that is down (on the PostgreSQL
pass, a PostgreSQL URL on a loopback port where nothing listens, as when the server is
stopped; on SQLite, a file in a folder that does not exist). Cookies and form tokens come
from the working test app, so each request is one a visitor could really send, and only
the database is missing.
"""

import re

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus
from tests.forms import csrf_token
from tests.production_stack import free_port
from tests.test_security import _slot_url, appointment  # noqa: F401  (a fixture)

CANCEL_TOKEN = re.compile(r'name="cancel-csrf_token" type="hidden" value="([^"]+)"')
TITLE = "The booking system is not available just now"


@pytest.fixture
def down_database_url(backend, tmp_path):
    if backend == "postgresql":
        return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/prod_down?connect_timeout=3"
    return f"sqlite:///{tmp_path / 'no-such-folder' / 'clinic.sqlite3'}"


@pytest.fixture
def outage(app, down_database_url):
    """make_client(working_client): a client of the app whose database is down,
    carrying the working client's cookies (its session, a signed-in user)."""
    broken = create_app("testing", SQLALCHEMY_DATABASE_URI=down_database_url)

    def make_client(working_client=None):
        client = broken.test_client()
        if working_client is not None:
            for cookie in working_client._cookies.values():
                client.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
        return client

    yield make_client
    with broken.app_context():
        db.engine.dispose()


def assert_styled_503(response, message: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:500]
    assert response.headers["Retry-After"] == "60"
    assert "no-store" in response.headers["Cache-Control"]
    assert TITLE in html
    assert message in html
    # The site's own page, never Werkzeug's.
    assert '<link rel="stylesheet"' in html and "Go to the home page" in html
    assert "Werkzeug" not in html and "Traceback" not in html
    return html


def test_a_public_page_that_needs_the_database_answers_503(app, outage, demo):
    response = outage().get("/book")
    assert_styled_503(response, "this page cannot be shown")


def test_a_patients_booking_post_is_refused_and_says_it_was_not_saved(app, client, outage, demo):
    url = _slot_url()
    page = client.get(url)
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "name": "Ruth Adeyemi",
        "email": "ruth@example.org",
        "phone": "07700 900555",
        "note": "Numbness in the right foot.",
        "cauda_equina": "no",
        "other_warning": "no",
        "consent": "y",
    }
    response = outage(client).post(url, data=form)
    html = assert_styled_503(response, "what you sent has not been saved")
    assert "Ruth" not in html
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_signed_in_staff_get_the_same_page_for_the_diary(app, receptionist_client, outage):
    assert receptionist_client.get("/diary/").status_code == 200
    response = outage(receptionist_client).get("/diary/")
    html = assert_styled_503(response, "this page cannot be shown")
    assert receptionist_client.user.email not in html


def test_a_staff_cancellation_is_refused_and_the_appointment_stays_booked(
    app,
    make_staff,
    sign_in,
    appointment,  # noqa: F811
    outage,
):
    staff = app.test_client()
    assert sign_in(staff, make_staff("receptionist")).status_code == 302
    page = staff.get(f"/diary/appointments/{appointment.id}")
    token = CANCEL_TOKEN.search(page.get_data(as_text=True))
    assert token, "the appointment page has no cancel form"
    response = outage(staff).post(
        f"/diary/appointments/{appointment.id}/cancel",
        data={
            "cancel-csrf_token": token.group(1),
            "cancel-reason": "Rang to cancel",
            "cancel-requested_by": "patient",
        },
    )
    assert_styled_503(response, "nothing was booked, changed or cancelled")
    db.session.rollback()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.BOOKED.value


def test_signing_in_during_an_outage_answers_503(app, client, outage, make_staff):
    user = make_staff()
    page = client.get("/staff/sign-in")
    response = outage(client).post(
        "/staff/sign-in",
        data={
            "email": user.email,
            "password": "whatever it is",
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert_styled_503(response, "what you sent has not been saved")


def test_a_connection_lost_at_commit_says_it_cannot_tell(
    app,
    backend,
    make_staff,
    sign_in,
    appointment,  # noqa: F811
):
    """The one ambiguous case: the COMMIT was sent and the connection died under it."""
    if backend != "postgresql":
        pytest.skip("needs a server whose connection another session can end")
    staff = app.test_client()
    assert sign_in(staff, make_staff("receptionist")).status_code == 302
    page = staff.get(f"/diary/appointments/{appointment.id}")
    token = CANCEL_TOKEN.search(page.get_data(as_text=True))
    killer = sa.create_engine(db.engine.url)

    def end_the_connection(connection):
        pid = connection.exec_driver_sql("select pg_backend_pid()").scalar()
        with killer.begin() as other:
            other.exec_driver_sql(f"select pg_terminate_backend({int(pid)})")

    sa.event.listen(db.engine, "commit", end_the_connection)
    try:
        response = staff.post(
            f"/diary/appointments/{appointment.id}/cancel",
            data={
                "cancel-csrf_token": token.group(1),
                "cancel-reason": "Rang to cancel",
                "cancel-requested_by": "patient",
            },
        )
    finally:
        sa.event.remove(db.engine, "commit", end_the_connection)
        killer.dispose()
    assert_styled_503(response, "we cannot tell whether it was saved")
