"""Jobs the outbox worker runs on a schedule, so a clinic needs no cron.

Each job is registered with a name, how often it runs and a function of `now`. The
worker calls `run_due_jobs()` every pass; a job whose turn has come runs inside one
unit of work with its row in `scheduled_jobs` taken (FOR UPDATE on PostgreSQL, the
write lock on SQLite), so of two workers only one runs it for a turn: the other waits
for the row, then sees the next turn is not due. A job that fails is rolled back,
logged, and tried again at its next turn.

Reminders are the first job. Later work (waiting-list offers, fetching busy times
from a practitioner's calendar) registers its own with `register_job`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite

from booking.clinic.transaction import lock, unit_of_work
from booking.database import utcnow
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
            if _run_if_due(job, now):
                ran.append(job.name)
        except Exception:  # one broken job must not stop the others, nor the mail
            log.exception("scheduled job %s failed; it runs again at its next turn", job.name)
            _postpone(job, now)
    return ran


def _take(job: Job, now: datetime) -> ScheduledJob:
    """The job's row, created on first use, locked until the unit of work ends."""
    from booking.extensions import db

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


def _run_if_due(job: Job, now: datetime) -> bool:
    with unit_of_work():
        row = _take(job, now)
        if row.next_run_at > now:
            return False
        job.run(now)  # joins this unit of work: its changes commit with the turn
        row.next_run_at = now + job.every
        row.last_run_at = now
        row.runs += 1
    log.info("scheduled job %s ran", job.name)
    return True


def _postpone(job: Job, now: datetime) -> None:
    try:
        with unit_of_work():
            _take(job, now).next_run_at = now + job.every
    except Exception:
        log.exception("could not postpone scheduled job %s", job.name)


REMINDERS_EVERY = timedelta(minutes=5)


def _register_builtin_jobs() -> None:
    from booking.clinic.outbox import queue_reminders

    register_job("reminders", REMINDERS_EVERY, queue_reminders)
