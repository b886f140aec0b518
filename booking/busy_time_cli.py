"""`flask busy-time fetch`: read every practitioner's connected calendar once.

`flask outbox run` does this every 15 minutes (the "busy-times" job in
booking.clinic.jobs); the command is for a one-off fetch, or for cron without a worker.
"""

import click
from flask import Flask

from booking.clinic.busy_time import fetch_busy_times


def register_busy_time_commands(app: Flask) -> None:
    @app.cli.group("busy-time")
    def busy_time_group():
        """Busy time from practitioners' own calendars."""

    @busy_time_group.command("fetch")
    def fetch_command():
        """Fetch every connected calendar once and store its busy times."""
        report = fetch_busy_times()
        click.echo(f"Fetched {report.fetched} calendar(s); {report.failed} failed.")
