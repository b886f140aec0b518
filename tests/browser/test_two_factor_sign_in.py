"""Two-factor sign-in in a real Chromium: an authenticator app, a passkey, a recovery code,
a clinic that requires two factors, and a cookie replayed after sign-out.

The passkey is made by Chromium's virtual authenticator (the DevTools Protocol's WebAuthn
domain), which behaves as a laptop's built-in fingerprint reader would. WebAuthn needs a
secure context and a domain for its relying party, so the browser visits the live server
as http://localhost:PORT (secure by definition) and the app's WEBAUTHN_RP_ID is localhost.
"""

import time

import pyotp
import pytest
from playwright.sync_api import expect

from booking.clinic import second_factors
from booking.extensions import db
from booking.models import StaffUser
from tests.fixtures_staff import STAFF_PASSWORD


@pytest.fixture
def site(live_server, app, monkeypatch):
    """The live server's address as localhost, with the app's passkey settings to match."""
    url = live_server.replace("127.0.0.1", "localhost")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", url)
    monkeypatch.setitem(app.config, "WEBAUTHN_RP_ID", "localhost")
    monkeypatch.setitem(app.config, "WEBAUTHN_ORIGIN", url)
    return url


@pytest.fixture
def new_context(browser, site):
    contexts = []

    def make(**options):
        context = browser.new_context(base_url=site, locale="en-GB", **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.csp_violations = []
        page.on(
            "console",
            lambda message: (
                page.csp_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return context, page

    yield make
    for context in contexts:
        assert all(not page.csp_violations for page in context.pages), "CSP was broken"
        context.close()


def password_step(page, user: StaffUser, password: str = STAFF_PASSWORD) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def sign_out(page) -> None:
    page.get_by_role("navigation", name="Staff").get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/staff/sign-in")


def virtual_authenticator(context, page) -> str:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    created = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.cdp = cdp
    return created["authenticatorId"]


def test_totp_passkey_recovery_code_and_a_replayed_cookie_in_chromium(
    new_context, make_staff, admin_client, screenshot
):
    user = make_staff("receptionist")
    context, page = new_context()
    authenticator = virtual_authenticator(context, page)

    # With the clinic's default settings the password alone signs in.
    password_step(page, user)
    page.wait_for_url("**/diary/")

    # Enrol an authenticator app: the secret is read off the page, the code computed here.
    page.goto("/staff/account")
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.wait_for_url("**/staff/account/authenticator")
    assert page.locator("img.qr-code").evaluate("img => img.naturalWidth") > 0
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    assert page.locator("#totp-secret").inner_text().replace(" ", "") == secret
    screenshot(page, "1-authenticator")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("#recovery-codes")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "2-recovery-codes")

    # Enrol a passkey through the virtual authenticator.
    page.goto("/staff/account")
    page.get_by_label("Name for the passkey").fill("Test laptop")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_selector("text=The passkey is set up.")
    expect(page.get_by_text("Test laptop, added")).to_be_visible()
    credentials = page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1

    # A copy of the cookies taken before signing out opens nothing afterwards.
    copied = context.cookies()
    sign_out(page)
    thief_context, thief = new_context()
    thief_context.add_cookies(copied)
    thief.goto("/diary/patients")
    assert "/staff/sign-in" in thief.url
    expect(thief.get_by_role("heading", name="Staff sign-in")).to_be_visible()

    # Sign in with the authenticator app's code (the next one: each code works once).
    password_step(page, user)
    page.wait_for_url("**/staff/sign-in/second-factor")
    page.goto("/diary/")
    assert "/staff/sign-in" in page.url  # the password alone opened nothing
    page.goto("/staff/sign-in/second-factor")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/diary/")
    sign_out(page)

    # Sign in with the passkey as the second step.
    password_step(page, user)
    page.wait_for_url("**/staff/sign-in/second-factor")
    page.get_by_role("button", name="Use your passkey").click()
    page.wait_for_url("**/diary/")
    sign_out(page)

    # A recovery code, once.
    password_step(page, user)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/staff/account")
    expect(page.get_by_text("9 left")).to_be_visible()
    sign_out(page)
    password_step(page, user)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("has been used already")).to_be_visible()
    screenshot(page, "3-recovery-code-used-twice")


def test_once_the_clinic_requires_two_factors_a_password_alone_opens_no_staff_page(
    new_context, make_staff, admin_client, screenshot
):
    second_factors.save_sign_in_policy(
        roles=["admin", "receptionist", "practitioner"],
        idle_minutes=30,
        lifetime_hours=12,
        passkey_only=False,
        staff_user=admin_client.user,
    )
    db.session.commit()
    user = make_staff("receptionist")
    _context, page = new_context()
    password_step(page, user)
    page.wait_for_url("**/staff/enrol")
    for path in ("/diary/", "/diary/patients", "/diary/audit-log", "/staff/password"):
        page.goto(path)
        assert page.url.endswith("/staff/enrol"), path
    screenshot(page, "1-must-enrol")
    page.get_by_role("button", name="Set up an authenticator app").click()
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("#recovery-codes")
    page.goto("/diary/")
    assert page.url.endswith("/diary/")
    sign_out(page)
    # From now on the password leads only to the second step.
    password_step(page, user)
    page.wait_for_url("**/staff/sign-in/second-factor")
    for path in ("/diary/", "/diary/patients", "/staff/account"):
        page.goto(path)
        assert "/staff/sign-in" in page.url, path
    screenshot(page, "2-password-alone-refused")


def test_a_passkey_alone_signs_in_where_the_clinic_allows_it(new_context, make_staff, admin_client):
    user = make_staff("receptionist")
    context, page = new_context()
    virtual_authenticator(context, page)
    password_step(page, user)
    page.goto("/staff/account")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_selector("text=The passkey is set up.")
    sign_out(page)
    second_factors.save_sign_in_policy(
        roles=[],
        idle_minutes=30,
        lifetime_hours=12,
        passkey_only=True,
        staff_user=admin_client.user,
    )
    page.goto("/staff/sign-in")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url("**/diary/")
    expect(page.get_by_text(f"Signed in as {user.name}")).to_be_visible()
