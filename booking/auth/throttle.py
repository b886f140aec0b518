"""A per-account sign-in throttle beside the per-address rate limit.

The address limit stops one machine guessing fast; this stops many machines guessing one
account. After FREE_FAILURES wrong passwords for an email address, each further attempt
must wait: 15 seconds, then 30, 60 ... at most 15 minutes. Attempts made during the wait
are refused without looking at the password and do not lengthen it, so an attacker can
slow an account but never lock its owner out for good; and a browser the owner has
signed in with before (it carries a signed "known device" cookie for the account) is not
held back by other people's guesses at all.

The counts must be shared by every worker process: in Redis when the rate limiter's
storage is redis://, otherwise in the database (a memory:// count per process would
multiply the allowance by the number of workers).
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from booking.clinic.transaction import unit_of_work
from booking.extensions import db
from booking.models import SignInFailures

FREE_FAILURES = 5
FIRST_WAIT = timedelta(seconds=15)
LONGEST_WAIT = timedelta(minutes=15)
# Failures older than this are forgotten.
MEMORY = timedelta(hours=24)


def account_key(email: str) -> str:
    """The throttle's key for an email address: hashed, so no address is stored in clear."""
    normal = (email or "").strip().lower()
    return "account:" + hashlib.sha256(normal.encode("utf-8")).hexdigest()[:40]


def wait_after(failures: int) -> timedelta:
    """How long to wait after this many failures in a row."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    doubling = min(failures - FREE_FAILURES, 10)
    return min(FIRST_WAIT * 2**doubling, LONGEST_WAIT)


@dataclass(frozen=True)
class Failures:
    count: int
    last_at: datetime | None


class DatabaseCounts:
    """Counts in the sign_in_failures table: shared by every worker using the database."""

    def read(self, key: str) -> Failures:
        row = db.session.scalar(select(SignInFailures).where(SignInFailures.key == key))
        if row is None:
            return Failures(0, None)
        return Failures(row.failures, row.last_failure_at)

    def add(self, key: str, now: datetime) -> None:
        with unit_of_work() as session:
            row = session.scalar(
                select(SignInFailures).where(SignInFailures.key == key).with_for_update()
            )
            if row is None:
                session.add(SignInFailures(key=key, failures=1, last_failure_at=now))
                return
            if now - row.last_failure_at > MEMORY:
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now

    def clear(self, key: str) -> None:
        with unit_of_work() as session:
            row = session.scalar(
                select(SignInFailures).where(SignInFailures.key == key).with_for_update()
            )
            if row is not None:
                session.delete(row)


class RedisCounts:
    """Counts in Redis (the rate limiter's server), under the clinic's key prefix."""

    def __init__(self, url: str, prefix: str):
        from redis import Redis

        self.redis = Redis.from_url(url, socket_timeout=5)
        self.prefix = f"{prefix}:sign-in-failures:"

    def read(self, key: str) -> Failures:
        # redis-py types every reply as "a value or an awaitable" (its sync and async clients
        # share one signature); this client is the synchronous one.
        count, last = self.redis.hmget(self.prefix + key, ["count", "last"])  # type: ignore[misc]
        if count is None:
            return Failures(0, None)
        return Failures(int(count), datetime.fromtimestamp(float(last), UTC))

    def add(self, key: str, now: datetime) -> None:
        name = self.prefix + key
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(name, "count", 1)
            pipe.hset(name, "last", str(now.timestamp()))
            pipe.expire(name, int(MEMORY.total_seconds()))
            pipe.execute()

    def clear(self, key: str) -> None:
        self.redis.delete(self.prefix + key)


def counts_for(config) -> DatabaseCounts | RedisCounts:
    """Where this app keeps its counts: Redis when the limiter uses it, else the database."""
    uri = config.get("RATELIMIT_STORAGE_URI") or ""
    if uri.startswith(("redis://", "rediss://")):
        return RedisCounts(uri, config.get("RATELIMIT_KEY_PREFIX") or "clinic-booking")
    return DatabaseCounts()


def seconds_to_wait(counts, key: str, *, now: datetime) -> int:
    """Whole seconds before the next attempt on this account is looked at (0: now)."""
    failures = counts.read(key)
    if failures.last_at is None or now - failures.last_at > MEMORY:
        return 0
    left = failures.last_at + wait_after(failures.count) - now
    return max(0, int(left.total_seconds() + 0.999))
