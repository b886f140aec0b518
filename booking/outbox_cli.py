"""`flask outbox ...`: the mail worker and the reminder job."""

import logging
import time

import click
from flask import Flask

from booking.clinic import outbox
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
        """Keep sending queued email until stopped (run it beside the web server)."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        click.echo(f"Outbox worker started; checking every {interval:g} s.")
        try:
            while True:
                try:
                    outbox.send_due()
                except Exception:  # the worker outlives a database hiccup
                    log.exception("outbox pass failed; trying again shortly")
                    db.session.rollback()
                finally:
                    # Each pass reads fresh settings and rows.
                    db.session.remove()
                time.sleep(interval)
        except KeyboardInterrupt:
            click.echo("Outbox worker stopped.")

    @outbox_group.command("remind")
    def remind_command():
        """Queue reminders for appointments inside the reminder window (run from cron)."""
        queued = outbox.queue_reminders()
        click.echo(f"Queued {queued} reminder{'s' if queued != 1 else ''}.")
