"""Rate limits hold across gunicorn workers when their counts live in Redis.

Production runs several worker processes. With the default memory:// storage each
counts on its own, and ten tries a minute becomes ten per worker. The README tells
operators to set RATELIMIT_STORAGE_URI=redis://…; this serves the app the way
`make serve` does (gunicorn, two workers) with that setting and guesses passwords.
Skipped, saying so, when no Redis server answers on 127.0.0.1:6379.
"""

import http.cookiejar
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from redis import Redis

from bench.http import Gunicorn

REDIS = ("127.0.0.1", 6379)


def redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not redis_answers():
        reason = "Redis is not running on 127.0.0.1:6379: shared rate limits not tried"
        print(reason)
        pytest.skip(reason)
    return f"redis://{REDIS[0]}:{REDIS[1]}/0"


def status_of(opener, request) -> int:
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_ten_password_guesses_a_minute_across_two_workers(app, make_staff, redis_url):
    user = make_staff()
    prefix = f"test-{uuid.uuid4().hex}"
    environment = {
        "APP_ENV": "development",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "shared-by-both-workers-" + uuid.uuid4().hex,
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_STORAGE_URI": redis_url,
        # A fresh count for this run, apart from any other clinic on the same Redis.
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    with Gunicorn("wsgi:app", workers=2, env=environment) as server:
        base = f"http://127.0.0.1:{server.port}"
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        with opener.open(f"{base}/staff/sign-in", timeout=10) as page:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode())
        assert token, "the sign-in page has no form token"

        def guess(email: str) -> int:
            form = {"email": email, "password": "a guess", "csrf_token": token.group(1)}
            request = urllib.request.Request(  # noqa: S310 - our own loopback server
                f"{base}/staff/sign-in",
                data=urllib.parse.urlencode(form).encode(),
                method="POST",
            )
            return status_of(opener, request)

        # Each request is a new connection, which either worker may take.
        # Another account each time: this is the per-address limit (one account is also
        # throttled on its own after 5, see tests/test_sign_in_throttle.py).
        answers = [guess(f"guess-{n}@clinic.example") for n in range(10)] + [guess(user.email)]
        assert answers[:10] == [401] * 10
        assert answers[10] == 429

    # The count was kept in Redis, where both workers read it, not in either process.
    redis = Redis.from_url(redis_url)
    try:
        kept = redis.keys(f"*{prefix}*")
        assert kept, "no rate-limit counts in Redis"
        redis.delete(*kept)
    finally:
        redis.close()
