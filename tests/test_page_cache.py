"""Information pages are served from a short-lived memory cache, never with someone's flash."""

import pytest
from sqlalchemy import event

from booking.extensions import db
from booking.models import ClinicSettings
from booking.public.page_cache import forget_cached_pages


@pytest.fixture
def caching(app):
    app.config["PAGE_CACHE_SECONDS"] = 30
    forget_cached_pages()
    yield app
    app.config["PAGE_CACHE_SECONDS"] = 0
    forget_cached_pages()


@pytest.fixture
def statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_a_cached_page_is_served_without_touching_the_database(caching, client, demo, statements):
    first = client.get("/treatments-and-prices")
    assert first.status_code == 200 and statements
    statements.clear()
    again = client.get("/treatments-and-prices")
    assert again.get_data() == first.get_data()
    assert statements == []


def test_an_edit_shows_once_the_cache_is_forgotten(caching, client, demo):
    assert "Example Road" in client.get("/contact").get_data(as_text=True)
    settings = db.session.get(ClinicSettings, 1)
    settings.address = "1 Changed Street, London"
    db.session.commit()
    assert "Changed Street" not in client.get("/contact").get_data(as_text=True)
    forget_cached_pages()
    assert "Changed Street" in client.get("/contact").get_data(as_text=True)


def test_a_page_with_a_flashed_message_is_neither_served_from_nor_stored_in_the_cache(
    caching, client, demo
):
    client.get("/")
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "Your appointment is cancelled.")]
    flashed = client.get("/").get_data(as_text=True)
    assert "Your appointment is cancelled." in flashed
    assert "Your appointment is cancelled." not in client.get("/").get_data(as_text=True)
