"""Staff sessions live on the server: signing out, time, and account changes end them."""

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask_login.utils import encode_cookie

from booking.clinic import team
from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import AccessEvent, StaffSession
from tests.forms import csrf_token

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def post_form(client, url, page_url, **data):
    page = client.get(page_url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie_value: str):
    """A new browser carrying a copy of someone's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie_value)
    return thief


def sessions_of(user) -> list[StaffSession]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(StaffSession)
            .where(StaffSession.staff_user_id == user.id)
            .order_by(StaffSession.id)
        )
    )


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(app, receptionist_client):
    copied = session_cookie(receptionist_client)
    assert replay(app, copied).get("/diary/").status_code == 200
    response = post_form(receptionist_client, "/staff/sign-out", "/diary/")
    assert response.status_code == 302
    thief = replay(app, copied)
    answer = thief.get("/diary/")
    assert answer.status_code == 302
    assert answer.location.startswith("/staff/sign-in")
    assert thief.get("/diary/patients").status_code == 302
    (ended,) = sessions_of(receptionist_client.user)
    assert ended.ended_at is not None and ended.end_reason == "signed_out"
    assert "staff.session_ended" in db.session.scalars(sa.select(AccessEvent.action)).all()


def test_the_cookie_holds_only_a_random_token_and_the_table_only_its_hash(receptionist_client):
    from flask.sessions import SecureCookieSessionInterface

    app = receptionist_client.application
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    contents = serializer.loads(session_cookie(receptionist_client))
    token = contents["staff_session"]
    assert len(token) >= 40
    (row,) = sessions_of(receptionist_client.user)
    assert token not in row.token_hash
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_a_remember_me_cookie_does_not_open_the_diary(app, make_staff):
    user = make_staff()
    visitor = app.test_client()
    # What Flask-Login would accept as "remember me" for this account, made with the key.
    visitor.set_cookie("remember_token", encode_cookie(user.get_id()))
    assert visitor.get("/diary/").status_code == 302
    assert sessions_of(user) == []


def test_an_idle_session_ends_after_the_clinic_idle_timeout(app, receptionist_client):
    assert clinic_settings().staff_idle_timeout_minutes == 30
    (row,) = sessions_of(receptionist_client.user)
    row.last_seen_at = row.last_seen_at - timedelta(minutes=29)
    db.session.commit()
    assert receptionist_client.get("/diary/").status_code == 200
    (row,) = sessions_of(receptionist_client.user)
    row.last_seen_at = row.last_seen_at - timedelta(minutes=31)
    db.session.commit()
    assert receptionist_client.get("/diary/").status_code == 302
    (row,) = sessions_of(receptionist_client.user)
    assert row.end_reason == "idle"


def test_a_busy_session_still_ends_at_the_clinic_lifetime(app, receptionist_client):
    assert clinic_settings().staff_session_lifetime_hours == 12
    (row,) = sessions_of(receptionist_client.user)
    row.created_at = row.created_at - timedelta(hours=11, minutes=50)
    db.session.commit()
    assert receptionist_client.get("/diary/").status_code == 200
    (row,) = sessions_of(receptionist_client.user)
    row.created_at = row.created_at - timedelta(minutes=11)
    db.session.commit()
    assert receptionist_client.get("/diary/").status_code == 302
    assert sessions_of(receptionist_client.user)[0].end_reason == "lifetime"


def test_the_idle_timeout_is_a_clinic_setting(app, receptionist_client):
    settings = clinic_settings()
    settings.staff_idle_timeout_minutes = 10
    db.session.commit()
    (row,) = sessions_of(receptionist_client.user)
    row.last_seen_at = row.last_seen_at - timedelta(minutes=11)
    db.session.commit()
    assert receptionist_client.get("/diary/").status_code == 302


def test_staff_pages_carry_the_idle_warning(receptionist_client):
    page = receptionist_client.get("/diary/").get_data(as_text=True)
    assert 'id="idle-warning"' in page
    assert 'data-idle-seconds="1800"' in page
    assert "/static/js/idle-warning.js" in page
    token = csrf_token(page)
    stay = receptionist_client.post(
        "/staff/session/keep-alive",
        data={"csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert stay.status_code == 200 and stay.json == {"idle_seconds": 1800}


def test_removing_a_role_or_deactivating_ends_every_session_at_once(
    app, make_staff, sign_in, admin_client
):
    account = make_staff("receptionist")
    phone, laptop = app.test_client(), app.test_client()
    for browser in (phone, laptop):
        assert sign_in(browser, account).status_code == 302
    team.change_staff_account(
        account,
        name=account.name,
        role="admin",
        practitioner=None,
        active=True,
        staff_user=admin_client.user,
    )
    assert phone.get("/diary/").status_code == 302
    assert laptop.get("/diary/").status_code == 302
    assert {row.end_reason for row in sessions_of(account)} == {"role_changed"}

    assert sign_in(phone, account).status_code == 302
    team.change_staff_account(
        account,
        name=account.name,
        role="admin",
        practitioner=None,
        active=False,
        staff_user=admin_client.user,
    )
    assert phone.get("/diary/").status_code == 302


def test_a_password_reset_by_an_administrator_ends_every_session(
    app, make_staff, sign_in, admin_client
):
    account = make_staff("receptionist")
    browser = app.test_client()
    sign_in(browser, account)
    copied = session_cookie(browser)
    team.reset_password(account, staff_user=admin_client.user)
    assert browser.get("/diary/").status_code == 302
    assert replay(app, copied).get("/diary/").status_code == 302
    assert sessions_of(account)[0].end_reason == "password_reset"


def test_staff_see_their_sessions_and_sign_one_out(app, make_staff, sign_in):
    user = make_staff()
    desk, phone = app.test_client(), app.test_client()
    desk.environ_base["HTTP_USER_AGENT"] = CHROME_ON_WINDOWS
    phone.environ_base["HTTP_USER_AGENT"] = SAFARI_ON_IPHONE
    sign_in(desk, user)
    sign_in(phone, user)
    page = desk.get("/staff/account").get_data(as_text=True)
    assert "Chrome on Windows" in page and "(this one)" in page
    assert "Safari on iPhone" in page
    phone_session = sessions_of(user)[1]
    response = desk.post(
        f"/staff/sessions/{phone_session.id}/end", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302
    assert phone.get("/diary/").status_code == 302
    assert desk.get("/diary/").status_code == 200
    assert "Safari on iPhone" not in desk.get("/staff/account").get_data(as_text=True)


def test_staff_cannot_end_someone_elses_session_but_an_administrator_can(
    app, make_staff, sign_in, admin_client
):
    mine, theirs = make_staff(), make_staff()
    me, them = app.test_client(), app.test_client()
    sign_in(me, mine)
    sign_in(them, theirs)
    their_session = sessions_of(theirs)[0]
    page = me.get("/staff/account").get_data(as_text=True)
    refused = me.post(
        f"/staff/sessions/{their_session.id}/end", data={"csrf_token": csrf_token(page)}
    )
    assert refused.status_code == 404
    assert them.get("/diary/").status_code == 200

    listing = admin_client.get(f"/staff/people/{theirs.id}/sessions")
    assert listing.status_code == 200
    ended = admin_client.post(
        f"/staff/people/{theirs.id}/sessions/end",
        data={"csrf_token": csrf_token(listing.get_data(as_text=True))},
    )
    assert ended.status_code == 302
    assert them.get("/diary/").status_code == 302
    assert me.get("/diary/").status_code == 200
    event = db.session.scalar(
        sa.select(AccessEvent).where(AccessEvent.action == "staff.sessions_ended")
    )
    assert event.staff_user_id == admin_client.user.id and event.account_id == theirs.id
