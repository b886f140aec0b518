"""Staff sign in and out, change their password, and see only what their role allows."""

import pytest
import sqlalchemy as sa
from werkzeug.routing import IntegerConverter

from booking.auth.accounts import SIGN_IN_FAILED
from booking.extensions import db
from booking.models import AccessEvent, AuditEvent, Practitioner, StaffUser
from tests.forms import csrf_token


def post_form(client, url, page_url=None, **data):
    page = client.get(page_url or url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def test_the_receptionist_signs_in_with_the_demo_account_and_sees_the_diary(client, demo):
    response = post_form(client, "/staff/sign-in", email="Reception@Clinic.example", password=demo)
    assert response.status_code == 302
    assert response.location == "/diary/"
    assert client.get("/diary/").status_code == 200
    user = db.session.scalar(sa.select(StaffUser).filter_by(email="reception@clinic.example"))
    db.session.refresh(user)
    assert user.last_sign_in_at is not None


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client, make_staff):
    user = make_staff()
    wrong_password = post_form(client, "/staff/sign-in", email=user.email, password="not it at all")
    unknown_email = post_form(
        client, "/staff/sign-in", email="nobody@clinic.example", password="not it at all"
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    for response in (wrong_password, unknown_email):
        assert SIGN_IN_FAILED in response.get_data(as_text=True)
    assert client.get("/diary/").status_code == 302


def test_a_deactivated_account_cannot_sign_in(client, make_staff, sign_in):
    user = make_staff()
    user.active = False
    db.session.commit()
    response = sign_in(client, user)
    assert response.status_code == 401
    assert SIGN_IN_FAILED in response.get_data(as_text=True)


def test_sign_in_without_the_csrf_token_is_refused(client, make_staff):
    user = make_staff()
    response = client.post(
        "/staff/sign-in", data={"email": user.email, "password": "correct horse battery"}
    )
    assert response.status_code == 400


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(
    client, make_staff, sign_in
):
    user = make_staff()
    bounced = client.get("/diary/day/2026-05-05")
    assert bounced.status_code == 302
    assert bounced.location.startswith("/staff/sign-in?next=")
    assert sign_in(client, user, next_url="/diary/day/2026-05-05").location == (
        "/diary/day/2026-05-05"
    )
    for hostile in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        other = client.application.test_client()
        assert sign_in(other, user, next_url=hostile).location == "/diary/"


def test_signing_out_ends_the_session(receptionist_client):
    assert receptionist_client.get("/diary/").status_code == 200
    page = receptionist_client.get("/diary/").get_data(as_text=True)
    response = receptionist_client.post("/staff/sign-out", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert receptionist_client.get("/diary/").status_code == 302


def test_changing_the_password_signs_out_other_sessions_but_not_this_one(app, make_staff, sign_in):
    user = make_staff()
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, user)
    sign_in(elsewhere, user)
    response = post_form(
        here,
        "/staff/password",
        current_password="correct horse battery",
        new_password="a much longer new password",
        confirm_password="a much longer new password",
    )
    assert response.status_code == 302
    assert here.get("/diary/").status_code == 200
    assert elsewhere.get("/diary/").status_code == 302
    fresh = app.test_client()
    assert sign_in(fresh, user).status_code == 401
    assert sign_in(fresh, user, password="a much longer new password").status_code == 302
    actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert "staff.password_changed" in actions
    ended = db.session.scalars(sa.select(AccessEvent.action)).all()
    assert "staff.sessions_ended" in ended


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"current_password": "wrong password"}, "Your current password is not right."),
        ({"new_password": "short", "confirm_password": "short"}, "at least 12 characters"),
        ({"confirm_password": "something else entirely"}, "are not the same"),
    ],
)
def test_a_bad_password_change_changes_nothing(receptionist_client, sign_in, answers, message):
    data = {
        "current_password": "correct horse battery",
        "new_password": "a much longer new password",
        "confirm_password": "a much longer new password",
        **answers,
    }
    response = post_form(receptionist_client, "/staff/password", **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    other = receptionist_client.application.test_client()
    assert sign_in(other, receptionist_client.user).status_code == 302


def test_staff_session_cookies_are_http_only_and_same_site(app, receptionist_client):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True


# The steps of signing in itself, open before anyone is signed in.
SIGN_IN_STEPS = {
    "auth.sign_in",
    "auth.second_factor",
    "auth.passkey_sign_in_options",
    "auth.passkey_sign_in",
}


def test_the_later_sign_in_steps_need_the_password_first(client):
    assert client.get("/staff/sign-in/second-factor").location == "/staff/sign-in"
    token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
    for url in ("/staff/sign-in/passkey/options", "/staff/sign-in/passkey"):
        # Without a password first, only a clinic that allows passkeys alone answers.
        assert client.post(url, headers={"X-CSRFToken": token}).status_code == 403


def staff_rules(app):
    """Every staff page: the diary, the auth pages but sign-in, and staff feed pages."""
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint in SIGN_IN_STEPS:
            continue
        if endpoint.startswith(("diary.", "auth.", "feeds.staff")) or getattr(
            app.view_functions[endpoint], "allowed_roles", None
        ):
            yield rule


def example_url(rule) -> str:
    """The rule's URL with made-up arguments: the guard answers before the view reads them."""
    values = dict(rule.defaults or {})
    for name in rule.arguments - values.keys():
        converter = rule._converters[name]
        if hasattr(converter, "items"):  # <any(a, b):name>
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[name] = 1
        else:
            values[name] = "2026-05-05"
    return rule.build(values, append_unknown=False)[1]


def test_every_staff_page_sends_visitors_to_sign_in_and_refuses_other_roles(
    app, client, make_staff, sign_in, demo
):
    rules = list(staff_rules(app))
    assert {"diary.day", "diary.audit_log", "auth.password", "auth.sign_out"} <= {
        rule.endpoint for rule in rules
    }
    for rule in rules:
        url = example_url(rule)
        if "GET" in rule.methods:
            response = client.get(url)
        else:
            # A fresh token each time: signing out (one of these) empties the session.
            token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
            response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 302, (rule.endpoint, response.status_code)
        assert response.location.startswith("/staff/sign-in"), rule.endpoint

    practitioner = db.session.scalar(sa.select(Practitioner).order_by(Practitioner.id))
    signed_in = {}
    for role in ("admin", "receptionist", "practitioner"):
        user = make_staff(role, practitioner=practitioner if role == "practitioner" else None)
        signed_in[role] = app.test_client()
        assert sign_in(signed_in[role], user).status_code == 302
    checked = 0
    for rule in rules:
        allowed = getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
        if allowed is None:
            continue
        for role, role_client in signed_in.items():
            if role in allowed:
                continue
            url = example_url(rule)
            page = role_client.get("/staff/password").get_data(as_text=True)
            if "GET" in rule.methods:
                response = role_client.get(url)
            else:
                response = role_client.post(url, data={"csrf_token": csrf_token(page)})
            assert response.status_code == 403, (rule.endpoint, role, response.status_code)
            checked += 1
    assert checked > 0


def test_only_administrators_see_the_audit_log_link(admin_client, receptionist_client):
    assert 'href="/diary/audit-log"' in admin_client.get("/diary/").get_data(as_text=True)
    assert 'href="/diary/audit-log"' not in receptionist_client.get("/diary/").get_data(
        as_text=True
    )
    assert receptionist_client.get("/diary/audit-log").status_code == 403


def test_guessing_passwords_is_stopped_after_ten_tries_a_minute(rate_limited_client, make_staff):
    client = rate_limited_client
    user = make_staff()
    token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
    answers = [
        client.post(
            "/staff/sign-in",
            # Another account each time: this is the per-address limit, not the
            # per-account throttle (tests/test_sign_in_throttle.py).
            data={"email": f"guess-{n}@clinic.example", "password": "guess", "csrf_token": token},
        ).status_code
        for n in range(11)
    ]
    assert answers[:10] == [401] * 10
    assert answers[10] == 429
    # Even the right password waits now: the limit is per address, not per guess.
    right = client.post(
        "/staff/sign-in",
        data={"email": user.email, "password": "correct horse battery", "csrf_token": token},
    )
    assert right.status_code == 429
