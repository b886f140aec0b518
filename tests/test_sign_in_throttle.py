"""Guessing one account is slow from any number of addresses, and never locks its owner out."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from booking import create_app
from booking.auth import throttle
from booking.auth.accounts import SIGN_IN_FAILED, SignInThrottled, authenticate
from booking.clinic.errors import DomainError
from booking.extensions import db
from tests.fixtures_staff import STAFF_PASSWORD
from tests.forms import csrf_token
from tests.test_rate_limits_shared import redis_answers

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def guess(counts, email, password="wrong guess", *, now, known_device=False):
    try:
        authenticate(email, password, counts=counts, now=now, known_device=known_device)
    except SignInThrottled:
        return "paused"
    except DomainError as error:
        assert error.message == SIGN_IN_FAILED
        return "wrong"
    return "in"


def test_delays_grow_and_are_capped():
    waits = [throttle.wait_after(n).total_seconds() for n in range(4, 16)]
    assert waits[:3] == [0, 15, 30]
    assert waits == sorted(waits)
    assert max(waits) == 15 * 60


def test_after_five_wrong_passwords_the_account_waits_then_the_owner_gets_in(app, make_staff):
    user = make_staff()
    counts = throttle.DatabaseCounts()
    answers = [guess(counts, user.email, now=NOON + timedelta(seconds=n)) for n in range(5)]
    assert answers == ["wrong"] * 5
    last = NOON + timedelta(seconds=4)
    # Even the right password is not looked at during the wait.
    assert guess(counts, user.email, STAFF_PASSWORD, now=last + timedelta(seconds=5)) == "paused"
    assert guess(counts, user.email, STAFF_PASSWORD, now=last + timedelta(seconds=16)) == "in"
    # Success clears the count.
    assert throttle.seconds_to_wait(counts, throttle.account_key(user.email), now=last) == 0


def test_refused_attempts_do_not_lengthen_the_wait(app, make_staff):
    user = make_staff()
    counts = throttle.DatabaseCounts()
    for _ in range(5):
        guess(counts, user.email, now=NOON)
    for second in range(1, 15):
        assert guess(counts, user.email, now=NOON + timedelta(seconds=second)) == "paused"
    assert guess(counts, user.email, STAFF_PASSWORD, now=NOON + timedelta(seconds=15)) == "in"


def test_the_longest_wait_is_fifteen_minutes_however_long_the_attack(app, make_staff):
    user = make_staff()
    counts = throttle.DatabaseCounts()
    now = NOON
    for _ in range(40):
        if guess(counts, user.email, now=now) == "paused":
            now += timedelta(minutes=15)
            continue
        now += timedelta(seconds=1)
    assert guess(counts, user.email, STAFF_PASSWORD, now=now + timedelta(minutes=15)) == "in"


def test_the_owners_usual_browser_is_not_held_back_by_someone_elses_guesses(app, make_staff):
    user = make_staff()
    counts = throttle.DatabaseCounts()
    for _ in range(12):
        guess(counts, user.email, now=NOON)
    assert guess(counts, user.email, STAFF_PASSWORD, now=NOON) == "paused"
    assert guess(counts, user.email, STAFF_PASSWORD, now=NOON, known_device=True) == "in"


def test_unknown_email_addresses_are_throttled_alike(app):
    counts = throttle.DatabaseCounts()
    answers = [guess(counts, "nobody@clinic.example", now=NOON) for _ in range(7)]
    assert answers == ["wrong"] * 5 + ["paused"] * 2


def test_a_known_browser_signs_in_over_http_while_a_stranger_is_paused(app, make_staff, sign_in):
    user = make_staff()
    usual = app.test_client()
    assert sign_in(usual, user).status_code == 302
    usual.post("/staff/sign-out", data={"csrf_token": csrf_token(usual.get("/diary/").text)})
    stranger = app.test_client()
    for n in range(5):
        assert sign_in(stranger, user, password=f"guess {n}").status_code == 401
    paused = sign_in(stranger, user)
    assert paused.status_code == 429
    assert "paused" in paused.get_data(as_text=True)
    assert sign_in(usual, user).status_code == 302


@pytest.fixture
def second_worker(app):
    """Another app process-alike on the same database, with its own memory:// limiter."""
    other = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_STORAGE_URI="memory://",
    )
    yield other
    with other.app_context():
        db.engine.dispose()


def test_two_workers_with_memory_storage_share_one_count(app, make_staff, sign_in, second_worker):
    user = make_staff()
    first, second = app.test_client(), second_worker.test_client()
    answers = []
    for n in range(6):
        client = (first, second)[n % 2]
        answers.append(sign_in(client, user, password=f"guess {n}").status_code)
    assert answers == [401] * 5 + [429]
    assert sign_in(first, user).status_code == 429


def test_redis_counts_are_shared_by_two_workers(app, make_staff):
    if not redis_answers():
        pytest.skip("Redis is not running on 127.0.0.1:6379: shared account counts not tried")
    config = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/7",
        "RATELIMIT_KEY_PREFIX": f"auth-test-{uuid.uuid4().hex}",
    }
    one, two = throttle.counts_for(config), throttle.counts_for(config)
    assert isinstance(one, throttle.RedisCounts)
    user = make_staff()
    try:
        answers = [guess((one, two)[n % 2], user.email, now=NOON) for n in range(6)]
        assert answers == ["wrong"] * 5 + ["paused"]
        assert guess(two, user.email, STAFF_PASSWORD, now=NOON + timedelta(seconds=16)) == "in"
    finally:
        one.redis.delete(*one.redis.keys(config["RATELIMIT_KEY_PREFIX"] + "*") or ["none"])
