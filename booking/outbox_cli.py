"""`flask outbox ...`: the worker (mail and scheduled jobs) and the reminder job."""

import logging
import time

import click
from flask import Flask

from booking.clinic import jobs, outbox
from booking.extensions import db

log = logging.getLogger("booking.outbox")


def register_outbox_commands(app: Flask) -> None:
    @app.cli.group("outbox")
    def outbox_group():
        """Send queued email and queue reminders."""

    @outbox_group.command("send")
    def send_command():
        """Send every message that is due now, once, and stop."""
        report = outbox.send_due()
        click.echo(
            f"Sent {report.sent}; {report.retrying} will be retried; {report.failed} failed."
        )

    @outbox_group.command("run")
    @click.option(
        "--interval",
        default=5.0,
        show_default=True,
        type=click.FloatRange(min=0.1),
        help="Seconds to wait between passes when there is nothing to send.",
    )
    def run_command(interval):
        """Keep sending queued messages and running scheduled jobs (reminders) until stopped."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        names = ", ".join(job.name for job in jobs.registered_jobs())
        click.echo(f"Outbox worker started; checking every {interval:g} s; jobs: {names}.")
        worker = outbox.new_worker_token()
        try:
            while True:
                try:
                    jobs.run_due_jobs()
                    outbox.send_due(worker=worker)
                except Exception:  # the worker outlives a database hiccup
                    log.exception("outbox pass failed; trying again shortly")
                finally:
                    # Each pass reads fresh settings and rows.
                    db.session.remove()
                time.sleep(interval)
        except KeyboardInterrupt:
            click.echo("Outbox worker stopped.")

    @outbox_group.command("remind")
    def remind_command():
        """Queue reminders now (`flask outbox run` does this every 5 minutes; or run from cron)."""
        queued = outbox.queue_reminders()
        click.echo(f"Queued {queued} reminder{'s' if queued != 1 else ''}.")
