"""Jobs the outbox worker runs on a schedule, so a clinic needs no cron.

Each job is registered with a name, how often it runs and a function of `now`. The
worker calls `run_due_jobs()` every pass. A job's turn is taken first, in a short unit
of work on its row in `scheduled_jobs` (FOR UPDATE on PostgreSQL, the write lock on
SQLite): the row moves on to the next turn and commits. So of two workers only one
runs a job for a turn (the other waits for the row, then sees the turn is taken), and
the job itself runs outside that transaction, free to take its own units of work and
to talk to slow outside services (a calendar server) without holding a lock.

A job that fails, or whose worker dies while running it, waits for its next turn; so
every job must be safe to run again, as reminders are (each has a dedupe key).

Reminders, busy-time fetches, waiting-list offers, the release of expired holds and the
retries of refused deposit refunds are registered here; later work registers its own
with `register_job`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite

from booking.clinic.transaction import discard_after_failure, lock, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import ScheduledJob

log = logging.getLogger("booking.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], object]


_JOBS: dict[str, Job] = {}


def register_job(name: str, every: timedelta, run: Callable[[datetime], object]) -> Job:
    """Run `run(now)` every `every`, from the first worker pass after registering."""
    job = Job(name, every, run)
    _JOBS[name] = job
    return job


def unregister_job(name: str) -> None:
    _JOBS.pop(name, None)


def registered_jobs() -> list[Job]:
    if "reminders" not in _JOBS:
        _register_builtin_jobs()
    return list(_JOBS.values())


def run_due_jobs(now: datetime | None = None) -> list[str]:
    """Run every job whose turn has come; the names of those that ran and succeeded."""
    now = now or utcnow()
    ran = []
    for job in registered_jobs():
        try:
            if not _take_turn(job, now):
                continue
        except Exception:  # the database is unwell: the next pass tries again
            log.exception("could not take the turn of scheduled job %s", job.name)
            continue
        try:
            job.run(now)
        except Exception:  # one broken job must not stop the others, nor the mail
            discard_after_failure()
            log.exception("scheduled job %s failed; it runs again at its next turn", job.name)
        else:
            log.info("scheduled job %s ran", job.name)
            ran.append(job.name)
    return ran


def _take(job: Job, now: datetime) -> ScheduledJob:
    """The job's row, created on first use, locked until the unit of work ends."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(ScheduledJob)
        .values(name=job.name, next_run_at=now, runs=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    row = lock(ScheduledJob, job.name)
    assert row is not None  # inserted just above, and rows are never deleted
    return row


def _take_turn(job: Job, now: datetime) -> bool:
    """Move the job on to its next turn if this one is due; False if it is not."""
    with unit_of_work():
        row = _take(job, now)
        if row.next_run_at > now:
            return False
        row.next_run_at = now + job.every
        row.last_run_at = now
        row.runs += 1
    return True


REMINDERS_EVERY = timedelta(minutes=5)
BUSY_TIMES_EVERY = timedelta(minutes=15)
FORGET_FORM_KEYS_EVERY = timedelta(hours=6)
CLINICAL_ERASURES_EVERY = timedelta(hours=6)


def _release_expired_holds(now: datetime) -> None:
    """Let expired holds go, then close the payment pages of deposits no longer wanted."""
    from booking.clinic.held_appointments import release_expired_holds
    from booking.clinic.payments.deposits import close_pages_of_released_holds

    release_expired_holds(now)
    close_pages_of_released_holds(now)


def _register_builtin_jobs() -> None:
    from booking.clinic.busy_time import fetch_busy_times
    from booking.clinic.held_appointments import RELEASE_EVERY
    from booking.clinic.outbox import queue_reminders
    from booking.clinic.payments.refund_retries import RETRIES_EVERY, retry_refused_refunds
    from booking.clinic.records.retention import erase_due_clinical_records
    from booking.clinic.submissions import forget_old
    from booking.clinic.waiting_list import OFFERS_EVERY, offer_free_times

    register_job("reminders", REMINDERS_EVERY, queue_reminders)
    register_job("busy-times", BUSY_TIMES_EVERY, fetch_busy_times)
    register_job("waiting-list-offers", OFFERS_EVERY, offer_free_times)
    register_job("forget-form-keys", FORGET_FORM_KEYS_EVERY, forget_old)
    register_job("clinical-erasures", CLINICAL_ERASURES_EVERY, erase_due_clinical_records)
    # Before the waiting-list offers' next turn, which then offers the freed times.
    register_job("release-expired-holds", RELEASE_EVERY, _release_expired_holds)
    # A deposit refund the provider refused, or that could not be asked: asked again.
    register_job("refund-retries", RETRIES_EVERY, retry_refused_refunds)
