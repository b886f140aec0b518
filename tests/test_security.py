"""Hardening seen from outside: headers on every kind of response, HSTS, CSRF on every form.

tests/test_foundation.py already covers the missing SECRET_KEY refusal, secure cookie
settings and the headers on the home page and a 404; this file widens that to every kind
of response the public can reach and to the forms.
"""

from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic.tokens import manage_token
from booking.extensions import db
from booking.models import Appointment, Patient, Practitioner, SessionType
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")
INFORMATION_PAGES = [
    "/",
    "/sciatica",
    "/treatment",
    "/practitioner",
    "/when-not-to-book",
    "/contact",
    "/treatments-and-prices",
]


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = words[1:]
    return parsed


def _start_next_week() -> datetime:
    """10:00 London time on a weekday more than a week ahead: inside Colette's hours."""
    day = datetime.now(LONDON).date() + timedelta(days=8)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def appointment(demo):
    """A booked appointment written directly, so the manage pages have something to show."""
    practitioner = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
    session_type = db.session.scalar(sa.select(SessionType).filter_by(slug="full-combination"))
    start = _start_next_week()
    appointment = Appointment(
        practitioner=practitioner,
        patient=Patient(name="Tomasz Nowak", email="tomasz@example.org", phone="07700 900456"),
        session_type=session_type,
        starts_at=start,
        ends_at=start + timedelta(minutes=session_type.duration_minutes),
    )
    db.session.add(appointment)
    db.session.commit()
    return appointment


def _slot_url(slug: str = "full-combination") -> str:
    start = (_start_next_week() + timedelta(days=1)).strftime("%Y%m%dT%H%MZ")
    return f"/book/{slug}/details?practitioner=any&start={start}"


def public_urls(app, appointment) -> dict[str, str]:
    token = manage_token(appointment)
    urls = {
        **{f"page {path}": path for path in INFORMATION_PAGES},
        "choose a treatment": "/book",
        "choose a practitioner": "/book/massage",
        "choose a time": "/book/full-combination/times?practitioner=any",
        "your details": _slot_url(),
        "confirmation": f"/book/confirmed/{token}",
        "manage": f"/manage/{token}",
        "reschedule": f"/manage/{token}/reschedule",
        "cancel review": f"/manage/{token}/cancel",
        "move review": f"/manage/{token}/reschedule/review?start={_slot_url().rsplit('=', 1)[1]}",
        "calendar file": f"/manage/{token}/appointment.ics",
        "stylesheet": "/static/css/site.css",
        "not found": "/no-such-page",
        "bad token": "/manage/not-a-token",
    }
    if any(rule.rule == "/staff/sign-in" for rule in app.url_map.iter_rules()):
        urls["staff sign-in"] = "/staff/sign-in"
    if "feeds.subscription" in app.view_functions:
        feed_token = getattr(appointment.practitioner, "feed_token", None)
        if feed_token:
            urls["practitioner's feed"] = f"/feeds/{feed_token}.ics"
        urls["unknown feed"] = "/feeds/not-a-token.ics"
    return urls


def test_every_kind_of_response_carries_the_security_headers(app, client, appointment):
    statuses = {}
    for name, url in public_urls(app, appointment).items():
        response = client.get(url)
        assert response.status_code < 500, f"{name} ({url}) failed: {response.status}"
        statuses[name] = response.status_code
        headers = response.headers
        policy = directives(headers.get("Content-Security-Policy", ""))
        scripts = policy.get("script-src", policy.get("default-src"))
        assert scripts, f"{name}: no script policy"
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, name
        assert policy.get("frame-ancestors") == ["'none'"], name
        assert policy.get("object-src") == ["'none'"], name
        assert headers.get("Referrer-Policy") == "same-origin", name
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("X-Frame-Options") == "DENY", name
        # Testing is not production: no HSTS here.
        assert "Strict-Transport-Security" not in headers, name
    # Each kind really was served, not just refused: pages, files, calendars and errors.
    for name in ("page /", "stylesheet", "calendar file", "practitioner's feed"):
        assert statuses.get(name, 200) == 200, (name, statuses[name])
    assert statuses["not found"] == 404


def test_a_method_the_page_does_not_take_still_gets_the_headers(client, demo):
    response = client.post("/sciatica")
    assert response.status_code in (400, 405)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("config_name", "overrides", "expected"),
    [
        ("production", {}, True),
        ("production", {"FORCE_HTTPS": False}, False),
        ("development", {}, False),
        ("testing", {}, False),
    ],
)
def test_hsts_is_sent_only_by_production_with_force_https(
    app, demo, monkeypatch, config_name, overrides, expected
):
    from booking import create_app

    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    other = create_app(
        config_name,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=False,
        **overrides,
    )
    response = other.test_client().get("/", base_url="https://booking.example")
    assert response.status_code == 200
    hsts = response.headers.get("Strict-Transport-Security")
    if expected:
        assert hsts is not None and "max-age=31536000" in hsts
    else:
        assert hsts is None


class FormFinder(HTMLParser):
    """Collects each <form>: its method, action and the names of its hidden inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._open = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._open = {
                "method": (attributes.get("method") or "get").lower(),
                "action": attributes.get("action"),
                "hidden": set(),
            }
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attributes.get("type") == "hidden":
            self._open["hidden"].add(attributes.get("name"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def forms_in(html: str) -> list[dict]:
    finder = FormFinder()
    finder.feed(html)
    return finder.forms


def test_every_form_on_the_public_pages_carries_a_csrf_token(app, client, appointment):
    post_forms = {}
    for name, url in public_urls(app, appointment).items():
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        for form in forms_in(response.get_data(as_text=True)):
            if form["method"] == "post":
                assert "csrf_token" in form["hidden"], f"a form on {name} ({url}) has no token"
                post_forms.setdefault(name, 0)
                post_forms[name] += 1
    # The forms that matter are all there to be checked.
    assert {"cancel review", "move review", "your details"} <= set(post_forms), post_forms


def _post_without_token(client, url, data) -> int:
    return client.post(url, data=data).status_code


def test_posts_without_a_csrf_token_are_refused_and_change_nothing(app, client, appointment):
    token = manage_token(appointment)
    answers = {
        "name": "Mallory Example",
        "email": "mallory@example.org",
        "phone": "07700 900999",
        "cauda_equina": "no",
        "other_warning": "no",
        "consent": "y",
    }
    targets = {
        _slot_url(): answers,
        f"/manage/{token}/cancel": {},
        f"/manage/{token}/reschedule": {"start": _slot_url().rsplit("=", 1)[1]},
    }
    if any(rule.rule == "/staff/sign-in" for rule in app.url_map.iter_rules()):
        targets["/staff/sign-in"] = {"email": "reception@clinic.example", "password": "x" * 12}
    for url, data in targets.items():
        response = client.post(url, data=data)
        assert response.status_code == 400, f"{url} accepted a POST without a token"
        assert "This form has expired" in response.get_data(as_text=True)

    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    assert db.session.get(Appointment, appointment.id).starts_at == appointment.starts_at
    assert db.session.scalar(sa.select(Patient).filter_by(email="mallory@example.org")) is None


def test_a_csrf_token_from_another_visitor_is_refused(app, appointment):
    token = manage_token(appointment)
    victim, attacker = app.test_client(), app.test_client()
    stolen = csrf_token(victim.get(f"/manage/{token}/cancel").get_data(as_text=True))
    response = attacker.post(f"/manage/{token}/cancel", data={"csrf_token": stolen})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).cancelled_at is None


def test_the_session_cookie_is_http_only_and_same_site(client, appointment):
    response = client.get(f"/manage/{manage_token(appointment)}")
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
