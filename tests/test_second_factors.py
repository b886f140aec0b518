"""Second factors: an authenticator app, recovery codes, and the clinic requiring them."""

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from booking.clinic import second_factors
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db
from booking.models import AccessEvent, AuditEvent, StaffSession, TotpFactor
from tests.forms import csrf_token

SECRET = re.compile(r'data-secret="([A-Z2-7]+)"')
CODES = re.compile(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>")


def post(client, url, page_url, **data):
    page = client.get(page_url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def enrol_totp(client) -> tuple[str, list[str]]:
    """Set up an authenticator app as a person does; returns its secret and recovery codes."""
    begun = post(client, "/staff/account/authenticator/begin", "/staff/account")
    assert begun.status_code == 302 and begun.location == "/staff/account/authenticator"
    page = client.get("/staff/account/authenticator").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, inline
    secret = SECRET.search(page).group(1)
    done = client.post(
        "/staff/account/authenticator",
        data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200, done.get_data(as_text=True)[:400]
    codes = CODES.findall(done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def next_code(secret: str) -> str:
    """The code the app shows in the next 30 seconds (accepted: clocks drift a step).

    The current one was spent confirming the app, and a code works once."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def actions(model=AccessEvent) -> list[str]:
    return list(db.session.scalars(sa.select(model.action).order_by(model.id)))


def sign_out(client):
    return post(client, "/staff/sign-out", "/staff/account")


def test_enrolling_an_app_then_signing_in_needs_its_code(app, receptionist_client, sign_in):
    client, user = receptionist_client, receptionist_client.user
    secret, _codes = enrol_totp(client)
    # The secret is kept encrypted and not shown again.
    row = db.session.scalar(sa.select(TotpFactor).filter_by(staff_user_id=user.id))
    assert secret not in row.secret_encrypted
    assert client.get("/staff/account/authenticator").status_code == 302
    sign_out(client)

    browser = app.test_client()
    after_password = sign_in(browser, user)
    assert after_password.location == "/staff/sign-in/second-factor"
    assert browser.get("/diary/").status_code == 302
    assert browser.get("/diary/patients").location.startswith("/staff/sign-in")
    wrong = post(
        browser, "/staff/sign-in/second-factor", "/staff/sign-in/second-factor", code="000000"
    )
    assert wrong.status_code == 401
    right = post(
        browser,
        "/staff/sign-in/second-factor",
        "/staff/sign-in/second-factor",
        code=next_code(secret),
    )
    assert right.status_code == 302 and right.location == "/diary/"
    assert browser.get("/diary/").status_code == 200
    assert {"staff.second_factor_enrolled", "staff.second_factor_failed"} <= set(actions())
    assert "staff.second_factor_used" in actions()


def test_a_code_works_once(app, receptionist_client, sign_in):
    secret, _ = enrol_totp(receptionist_client)
    code = pyotp.TOTP(secret).now()
    # The code that confirmed the app cannot sign in as well.
    browser = app.test_client()
    sign_in(browser, receptionist_client.user)
    again = post(browser, "/staff/sign-in/second-factor", "/staff/sign-in/second-factor", code=code)
    assert again.status_code == 401
    assert browser.get("/diary/").status_code == 302


def test_a_recovery_code_signs_in_once(app, receptionist_client, sign_in):
    _secret, codes = enrol_totp(receptionist_client)
    user = receptionist_client.user
    first = app.test_client()
    sign_in(first, user)
    used = post(
        first, "/staff/sign-in/second-factor", "/staff/sign-in/second-factor", code=codes[3].upper()
    )
    assert used.status_code == 302 and used.location == "/staff/account"
    assert "9 left" in first.get("/staff/account").get_data(as_text=True)
    assert first.get("/diary/").status_code == 200
    second = app.test_client()
    sign_in(second, user)
    reused = post(
        second, "/staff/sign-in/second-factor", "/staff/sign-in/second-factor", code=codes[3]
    )
    assert reused.status_code == 401
    assert "staff.recovery_code_used" in actions()


def test_five_wrong_codes_abandon_the_sign_in(app, receptionist_client, sign_in):
    enrol_totp(receptionist_client)
    browser = app.test_client()
    sign_in(browser, receptionist_client.user)
    for _ in range(4):
        answer = post(
            browser, "/staff/sign-in/second-factor", "/staff/sign-in/second-factor", code="123456"
        )
        assert answer.status_code == 401
    page = browser.get("/staff/sign-in/second-factor").get_data(as_text=True)
    last = browser.post(
        "/staff/sign-in/second-factor", data={"csrf_token": csrf_token(page), "code": "123456"}
    )
    assert last.status_code == 302 and last.location == "/staff/sign-in"
    assert browser.get("/staff/sign-in/second-factor").location == "/staff/sign-in"
    ended = db.session.scalars(
        sa.select(StaffSession.end_reason).where(StaffSession.end_reason.is_not(None))
    ).all()
    assert "second_factor_failed" in ended


def require_two_factors(admin_client, roles=("admin", "receptionist", "practitioner")):
    response = post(
        admin_client,
        "/staff/sign-in-settings",
        "/staff/sign-in-settings",
        roles=list(roles),
        idle_minutes="30",
        lifetime_hours="12",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db.session.expire_all()


def test_once_required_an_account_without_a_factor_must_enrol_and_can_open_nothing_else(
    app, admin_client, make_staff, sign_in
):
    require_two_factors(admin_client, roles=["receptionist"])
    assert clinic_settings().second_factor_roles == "receptionist"
    assert "clinic.sign_in_policy_changed" in actions(AuditEvent)
    user = make_staff("receptionist")
    browser = app.test_client()
    assert sign_in(browser, user).location == "/staff/enrol"
    for url in ("/diary/", "/diary/patients", "/diary/week", "/staff/password"):
        response = browser.get(url)
        assert response.status_code == 302 and response.location == "/staff/enrol", url
    assert browser.get("/staff/enrol").status_code == 200
    enrol_totp(browser)
    assert browser.get("/diary/").status_code == 200


def test_once_required_the_password_alone_opens_nothing(app, admin_client, make_staff, sign_in):
    user = make_staff("receptionist")
    browser = app.test_client()
    sign_in(browser, user)
    secret, _ = enrol_totp(browser)
    sign_out(browser)
    require_two_factors(admin_client)
    fresh = app.test_client()
    assert sign_in(fresh, user).location == "/staff/sign-in/second-factor"
    assert fresh.get("/diary/").status_code == 302
    assert fresh.get("/staff/account").status_code == 302
    # An administrator without a factor is sent to enrol too.
    other_admin = make_staff("admin")
    admin_browser = app.test_client()
    assert sign_in(admin_browser, other_admin).location == "/staff/enrol"
    assert admin_browser.get("/diary/audit-log").location == "/staff/enrol"


def test_the_demo_receptionist_signs_in_with_a_password_by_default(client, demo, sign_in):
    assert clinic_settings().second_factor_roles == ""
    page = client.get("/staff/sign-in").get_data(as_text=True)
    response = client.post(
        "/staff/sign-in",
        data={
            "email": "reception@clinic.example",
            "password": demo,
            "csrf_token": csrf_token(page),
        },
    )
    assert response.location == "/diary/"


def test_an_administrator_resets_a_lost_second_factor(app, admin_client, make_staff, sign_in):
    user = make_staff("receptionist")
    phone = app.test_client()
    sign_in(phone, user)
    enrol_totp(phone)
    page_url = f"/staff/people/{user.id}/sessions"
    response = post(admin_client, f"/staff/people/{user.id}/second-factors/reset", page_url)
    assert response.status_code == 302
    assert phone.get("/diary/").status_code == 302
    assert not second_factors.has_second_factor(user)
    assert second_factors.unused_recovery_codes(user) == 0
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "staff.second_factor_reset")
    )
    assert event.staff_user_id == admin_client.user.id and event.subject_id == user.id
    # With a password again, straight in (the clinic does not require a factor here).
    assert sign_in(app.test_client(), user).location == "/diary/"


def test_an_administrator_cannot_reset_their_own_second_factor(admin_client):
    me = admin_client.user
    response = post(admin_client, f"/staff/people/{me.id}/second-factors/reset", "/staff/account")
    assert response.status_code == 302
    assert "staff.second_factor_reset" not in actions(AuditEvent)


def test_the_last_factor_cannot_be_removed_while_the_clinic_requires_one(
    app, admin_client, receptionist_client
):
    enrol_totp(receptionist_client)
    require_two_factors(admin_client, roles=["receptionist"])
    refused = post(
        receptionist_client,
        "/staff/account/authenticator/remove",
        "/staff/account",
        password="correct horse battery",
    )
    assert refused.status_code == 302
    assert second_factors.has_second_factor(receptionist_client.user)


@pytest.mark.parametrize("minutes", ["4", "721"])
def test_sign_in_settings_refuse_times_out_of_range(admin_client, minutes):
    response = post(
        admin_client,
        "/staff/sign-in-settings",
        "/staff/sign-in-settings",
        idle_minutes=minutes,
        lifetime_hours="12",
    )
    assert response.status_code == 422
    assert "between 5 and 720" in response.get_data(as_text=True)


def test_only_administrators_change_sign_in_settings(receptionist_client):
    assert receptionist_client.get("/staff/sign-in-settings").status_code == 403


def test_totp_codes_from_the_wrong_time_are_refused(app, receptionist_client):
    secret, _ = enrol_totp(receptionist_client)
    user = receptionist_client.user
    now = utcnow()
    stale = pyotp.TOTP(secret).at(now.timestamp() - 120)
    assert not second_factors.verify_totp(user, stale, now=now)
