"""The site as a clinic runs it in production, driven over HTTPS by a real Chromium.

Two shapes, each the way the README's production section sets it up:

- behind nginx: Debian's nginx terminates TLS with deploy/nginx.conf (rendered by
  deploy/render-nginx.sh, as the README says) in front of gunicorn with two workers and
  TRUSTED_PROXIES=1;
- TLS straight to gunicorn (--certfile/--keyfile), two workers, no proxy.

Both run APP_ENV=production with a SECRET_KEY of their own, the test database (PostgreSQL
on the PostgreSQL pass), rate limits counted in Redis under a key prefix of its own,
and a self-signed certificate made here. Each shape's servers start once for this module's
tests (under pytest-xdist, once per worker that runs a test of that shape); before each
test the demo clinic is loaded afresh with `flask seed-demo`, whose printed password the
receptionist then signs in with through the sign-in form.

In each, a patient books, opens the manage page and cancels; the receptionist signs in,
books by phone from an empty slot in the diary, moves and cancels; a reply is posted
under the sciatica page. Every form is a real POST over https, so the CSRF defence
(token plus same-origin Referer, see REFERRER_POLICY in booking/__init__.py) is what
production runs: with the old `Referrer-Policy: no-referrer` every one of these POSTs
answered "This form has expired".

Redis: TEST_REDIS_URL (default redis://127.0.0.1:6379/14, a database no other test
uses); the keys this test wrote are deleted afterwards.
"""

import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from redis import Redis

from booking import models
from booking.clinic.localtime import to_local
from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus
from config import Config
from tests.browser.free_times import a_time_clear_of_the_notice
from tests.browser.test_staff_pages import colette, free_day_with_two_times, full_combination
from tests.conftest import _empty_all_tables as empty_all_tables
from tests.fixtures_browser import CHROMIUM, ROOT
from tests.production_stack import NGINX, Gunicorn, Nginx, get, self_signed_certificate
from tests.test_rate_limits_shared import redis_answers

# One worker runs this module's tests (`--dist loadgroup`, set in pyproject.toml), so each
# shape's servers start once per run instead of once on every worker that drew one of its tests.
pytestmark = pytest.mark.xdist_group("production-https")

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
# Production's own figure (CLINIC_SETTINGS_CACHE_SECONDS), plus a margin.
SETTINGS_CACHE_SECONDS = Config.CLINIC_SETTINGS_CACHE_SECONDS + 1
RECEPTIONIST_EMAIL = "reception@clinic.example"


def skip(reason: str):
    print(reason)
    pytest.skip(reason)


def production_environment(database_uri: str, prefix: str, **extra: str) -> dict[str, str]:
    return {
        "APP_ENV": "production",
        "FLASK_APP": "wsgi",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_uri,
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        # Mail is queued in the outbox; no worker runs here, so nothing is sent.
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": "9",
        **extra,
    }


def seed_demo(environment: dict[str, str]) -> str:
    """`flask seed-demo` as the README runs it; returns the receptionist's printed password."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "seed-demo"],
        cwd=ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"password:\s+(\S+)", result.stdout)
    assert found, f"seed-demo printed no password:\n{result.stdout}\n{result.stderr}"
    return found.group(1)


def production_redis_prefix() -> str:
    if not redis_answers():
        skip("Redis is not running on 127.0.0.1:6379: the production-shaped test needs it")
    return f"production-https-{uuid.uuid4().hex}"


def forget_redis_keys(prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        kept = redis.keys(f"*{prefix}*")
        if kept:
            redis.delete(*kept)
    finally:
        redis.close()


@dataclass
class Stack:
    """One shape's servers, shared by the module's tests (starting them is most of a test)."""

    base_url: str
    environment: dict[str, str]
    server: Gunicorn | Nginx
    log: Path
    # When a worker may last have cached the clinic's settings of the test before.
    last_request: float


@pytest.fixture(scope="module", params=["behind-nginx", "tls-to-gunicorn"])
def production_stack(request, _migrated_app, tmp_path_factory):
    """gunicorn (behind nginx, or with TLS itself) started once for the module's tests.

    Started on empty tables; each test then loads the demo clinic with `flask seed-demo`
    (production_site). Rate limits are counted under a prefix of this stack's own.
    """
    if not CHROMIUM.exists():
        skip(f"production-shaped test skipped: {CHROMIUM} is missing")
    shape = request.param
    if shape == "behind-nginx" and not os.access(NGINX, os.X_OK):
        skip(f"production-shaped test skipped: {NGINX} is missing (make test installs nginx-light)")
    prefix = production_redis_prefix()
    folder = tmp_path_factory.mktemp(shape)
    certificate, key = self_signed_certificate(folder)
    database_uri = _migrated_app.config["SQLALCHEMY_DATABASE_URI"]
    with _migrated_app.app_context():
        empty_all_tables()
    log = folder / "gunicorn.log"
    try:
        if shape == "behind-nginx":
            environment = production_environment(database_uri, prefix, TRUSTED_PROXIES="1")
            gunicorn = Gunicorn(environment, log)
            nginx = Nginx(folder, certificate, key, gunicorn.port)
            base_url = f"https://127.0.0.1:{nginx.https_port}"
            gunicorn.environment["PUBLIC_BASE_URL"] = base_url
            with gunicorn, nginx:
                yield Stack(base_url, environment, nginx, log, time.monotonic())
        else:
            environment = production_environment(database_uri, prefix, TRUSTED_PROXIES="0")
            gunicorn = Gunicorn(environment, log, tls=(certificate, key))
            base_url = f"https://127.0.0.1:{gunicorn.port}"
            gunicorn.environment["PUBLIC_BASE_URL"] = base_url
            with gunicorn:
                yield Stack(base_url, environment, gunicorn, log, time.monotonic())
    finally:
        forget_redis_keys(prefix)


@pytest.fixture
def production_site(app, production_stack):
    """Yields (base URL, receptionist's password, how it is served), the demo clinic loaded."""
    stack = production_stack
    logged_before = stack.log.stat().st_size if stack.log.exists() else 0
    password = seed_demo(stack.environment)
    # The servers keep the clinic's settings a few seconds: none read before this test's
    # demo clinic was loaded may still be in use when it starts.
    wait = stack.last_request + SETTINGS_CACHE_SECONDS - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    yield stack.base_url, password, stack.server
    stack.last_request = time.monotonic()
    logged = stack.log.read_text()[logged_before:]
    errors = [line for line in logged.splitlines() if "Traceback" in line]
    assert not errors, logged


@pytest.fixture
def https_page(browser, production_site):
    base_url = production_site[0]
    context = browser.new_context(base_url=base_url, ignore_https_errors=True, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.failures = []
    page.on(
        "response",
        lambda response: (
            page.failures.append(f"{response.status} {response.request.method} {response.url}")
            if response.status >= 400 and response.request.resource_type == "document"
            else None
        ),
    )
    yield page
    context.close()


def submit(page, button, url=None) -> None:
    with page.expect_navigation(url=url) if url is not None else page.expect_navigation():
        button.click()


def flash_text(page) -> str:
    return page.locator(".flashes").inner_text()


def fresh(model, identity: int):
    db.session.rollback()
    return db.session.get(model, identity)


def local_time(instant) -> str:
    return f"{to_local(instant, clinic_settings().zone):%H:%M}"


def patient_books_manages_and_cancels(page) -> None:
    page.goto("/book")
    page.get_by_role("link", name=re.compile("Full combination session")).click()
    page.wait_for_url(re.compile(r"/book/full-combination(/times)?(\?.*)?$"))
    if "/times" not in page.url:
        page.get_by_role("link", name=re.compile("First available")).click()
        page.wait_for_url(re.compile(r"/book/full-combination/times"))
    # The last day offered: far enough ahead to be cancelled online.
    page.locator("a.day").last.click()
    page.wait_for_load_state()
    a_time_clear_of_the_notice(page).click()
    page.wait_for_url(re.compile(r"/book/full-combination/details"))
    page.get_by_label("Full name").fill("Priya Shah")
    page.get_by_label("Email address").fill("priya.shah@example.org")
    page.get_by_label("Phone number").fill("07700 900123")
    page.get_by_label(re.compile("Anything we should know")).fill("Pain down the left leg.")
    for question in page.locator("fieldset").all():
        question.get_by_label("No", exact=True).check()
    page.get_by_label(re.compile("I agree that the clinic may store")).check()
    submit(page, page.get_by_role("button", name="Book this appointment"))
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()

    submit(page, page.get_by_role("link", name="Manage my booking"), re.compile(r"/manage/"))
    expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
    submit(page, page.get_by_role("link", name="Cancel this appointment"))
    submit(page, page.get_by_role("button", name="Yes, cancel it"))
    assert "Your appointment is cancelled." in flash_text(page)

    db.session.rollback()
    booked = db.session.scalars(sa.select(Appointment).where(Appointment.source == "online")).all()
    assert [a.status for a in booked] == [AppointmentStatus.CANCELLED.value]
    assert booked[0].patient.name == "Priya Shah"


def receptionist_books_by_phone_moves_and_cancels(page, password: str) -> None:
    # Through the normal sign-in form, whatever it asks for.
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(RECEPTIONIST_EMAIL)
    page.get_by_label("Password").fill(password)
    submit(page, page.get_by_role("button", name="Sign in"), re.compile(r"/diary/$"))

    db.session.rollback()
    practitioner, session_type = colette(), full_combination()
    day, starts = free_day_with_two_times(practitioner, session_type)
    first, second = local_time(starts[0]), local_time(starts[-1])
    practitioner_name, session_type_id = practitioner.name, session_type.id
    db.session.rollback()

    page.get_by_label("Go to date").fill(day.isoformat())
    submit(page, page.get_by_role("button", name="Show"), f"**/diary/day/{day.isoformat()}")
    empty_slot = page.get_by_role("link", name=f"Book with {practitioner_name} at {first}")
    submit(page, empty_slot, re.compile(r"/diary/book\?"))
    page.get_by_label("Full name").fill("Tom Reyes")
    page.get_by_label("Phone number").fill("07700 900789")
    page.get_by_label("Session").select_option(value=str(session_type_id))
    submit(
        page,
        page.get_by_role("button", name="Book this appointment"),
        re.compile(r"/diary/appointments/\d+$"),
    )
    assert f"Booked Tom Reyes with {practitioner_name}." in flash_text(page)
    appointment_id = int(page.url.rsplit("/", 1)[1])
    assert fresh(Appointment, appointment_id).starts_at == starts[0]

    move = page.locator("form[action$='/move']")
    move.get_by_label("Time").fill(second)
    submit(page, move.get_by_role("button", name="Move appointment"))
    assert "The appointment has been moved" in flash_text(page)
    assert fresh(Appointment, appointment_id).starts_at == starts[-1]

    cancel = page.locator("form[action$='/cancel']")
    cancel.get_by_label("The patient (by phone, in person, by email)").check()
    cancel.get_by_label("Reason").fill("The patient rang to cancel.")
    submit(page, cancel.get_by_role("button", name="Cancel appointment"))
    assert fresh(Appointment, appointment_id).status == AppointmentStatus.CANCELLED.value


def reply_is_posted(page) -> None:
    page.goto("/sciatica")
    page.get_by_label("Your name").fill("Sam Okafor")
    page.get_by_label("Email address").fill("sam.okafor@example.org")
    page.get_by_label("Your reply").fill("Six sessions and I walk to work again.")
    submit(page, page.get_by_role("button", name="Send my reply"))
    db.session.rollback()
    replies = db.session.scalars(sa.select(models.Testimonial)).all()
    assert [reply.author_name for reply in replies] == ["Sam Okafor"]


def test_every_form_works_over_https_in_production(https_page, production_site):
    _base_url, password, server = production_site
    page = https_page
    patient_books_manages_and_cancels(page)
    receptionist_books_by_phone_moves_and_cancels(page, password)
    reply_is_posted(page)
    assert page.failures == []
    headers = page.goto("/").headers
    assert headers["referrer-policy"] == "same-origin"
    assert "max-age=" in headers["strict-transport-security"]
    if isinstance(server, Nginx):
        # Plain HTTP on the proxy only redirects to HTTPS.
        redirect = get("127.0.0.1", server.http_port, "/book", tls=False)
        assert redirect.status == 301
        assert redirect.getheader("Location").startswith("https://127.0.0.1")


def test_once_two_factors_are_required_no_staff_page_opens_with_a_password_alone_over_https(
    https_page, production_site, make_staff, browser
):
    """Issue 16 over the production stack: TOTP enrolment and sign-in, a replayed cookie."""
    import pyotp

    from booking.clinic import second_factors

    base_url, password, _server = production_site
    second_factors.save_sign_in_policy(
        roles=["admin", "receptionist", "practitioner"],
        idle_minutes=30,
        lifetime_hours=12,
        passkey_only=False,
        staff_user=make_staff("admin"),
    )
    db.session.commit()
    # Each worker keeps the clinic's settings for a few seconds (CLINIC_SETTINGS_CACHE_SECONDS).
    time.sleep(SETTINGS_CACHE_SECONDS)
    page = https_page

    def password_step() -> None:
        page.goto("/staff/sign-in")
        page.get_by_label("Email address").fill(RECEPTIONIST_EMAIL)
        page.get_by_label("Password").fill(password)
        submit(page, page.get_by_role("button", name="Sign in"))

    password_step()
    assert page.url.endswith("/staff/enrol")
    for path in ("/diary/", "/diary/patients", "/diary/audit-log"):
        page.goto(path)
        assert page.url.endswith("/staff/enrol"), path
    submit(page, page.get_by_role("button", name="Set up an authenticator app"))
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("#recovery-codes")
    page.goto("/diary/")
    assert page.url.endswith("/diary/")

    # Cookies copied before signing out open nothing afterwards.
    copied = page.context.cookies()
    submit(
        page, page.get_by_role("navigation", name="Staff").get_by_role("button", name="Sign out")
    )
    thief_context = browser.new_context(base_url=base_url, ignore_https_errors=True)
    thief_context.add_cookies(copied)
    thief = thief_context.new_page()
    thief.goto("/diary/patients")
    assert "/staff/sign-in" in thief.url
    thief_context.close()

    # The password alone now leads only to the second step; the code opens the diary.
    password_step()
    assert "/staff/sign-in/second-factor" in page.url
    for path in ("/diary/", "/diary/patients"):
        page.goto(path)
        assert "/staff/sign-in" in page.url, path
    page.goto("/staff/sign-in/second-factor")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    submit(page, page.get_by_role("button", name="Continue"), re.compile(r"/diary/$"))
    assert page.failures == []
