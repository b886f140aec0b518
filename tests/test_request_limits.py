"""A request body over MAX_CONTENT_LENGTH is refused with the site's own 413 page."""

from tests.forms import csrf_token
from tests.test_security import _slot_url


def test_an_oversized_booking_form_gets_a_styled_413_and_nothing_is_saved(app, client, demo):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    url = _slot_url()
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "name": "Ruth Adeyemi",
            "email": "ruth@example.org",
            "note": "x" * (1024 * 1024 + 1),
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "That was too much to send" in html
    assert "none of it has been saved" in html
    assert '<link rel="stylesheet"' in html and "Go to the home page" in html
    assert "no-store" in response.headers["Cache-Control"]


def test_an_oversized_sign_in_is_refused_before_it_is_read(client):
    response = client.post(
        "/staff/sign-in",
        data=b"email=" + b"a" * (2 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert "That was too much to send" in response.get_data(as_text=True)


def test_a_long_but_reasonable_form_is_still_read(client, demo):
    # A reply of the longest allowed length is far below the cap.
    page = client.get("/sciatica")
    response = client.post(
        "/sciatica/replies",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "name": "Sam",
            "email": "sam@example.org",
            "reply": "y" * 4000,
        },
    )
    assert response.status_code == 303
