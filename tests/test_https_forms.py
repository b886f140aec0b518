"""Forms over HTTPS: the token plus a same-origin Referer, which the referrer policy allows.

Production serves only HTTPS, where Flask-WTF also refuses a POST whose Referer is missing
or names another site. The site's Referrer-Policy is same-origin, so a browser sends the
Referer back to us (and never to another site); with the old no-referrer every HTTPS POST
answered "This form has expired". tests/browser/test_production_https.py shows the same in
Chromium behind nginx and with TLS straight to gunicorn.
"""

from tests.fixtures_staff import STAFF_PASSWORD
from tests.forms import csrf_token

HTTPS = "https://booking.clinic.example"


def sign_in_over_https(client, email: str, *, referrer: str | None):
    page = client.get("/staff/sign-in", base_url=HTTPS)
    headers = {"Referer": referrer} if referrer else {}
    return client.post(
        "/staff/sign-in",
        base_url=HTTPS,
        headers=headers,
        data={"email": email, "password": STAFF_PASSWORD, "csrf_token": csrf_token(page.text)},
    )


def test_an_https_post_from_the_site_itself_is_accepted(client, make_staff):
    user = make_staff()
    response = sign_in_over_https(client, user.email, referrer=f"{HTTPS}/staff/sign-in")
    assert response.status_code == 302
    assert "/diary" in response.headers["Location"]


def test_an_https_post_from_another_site_is_refused_even_with_a_token(client, make_staff):
    user = make_staff()
    response = sign_in_over_https(client, user.email, referrer="https://elsewhere.example/form")
    assert response.status_code == 400
    assert "This form has expired" in response.text


def test_an_https_post_without_a_referer_is_refused(client, make_staff):
    user = make_staff()
    response = sign_in_over_https(client, user.email, referrer=None)
    assert response.status_code == 400


def test_the_referrer_policy_keeps_the_referer_on_the_site(client, demo):
    response = client.get("/", base_url=HTTPS)
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in response.text
