"""`flask records ...`: looking after the clinical record's encryption keys."""

import click
from flask import Flask

from booking.clinic.records.key_rotation import BATCH_SIZE, rotate_keys
from booking.encryption import ClinicalKeyMissing


def register_records_commands(app: Flask) -> None:
    @app.cli.group("records")
    def records_group():
        """The clinical record."""

    @records_group.command("rotate-key")
    @click.option(
        "--batch-size",
        default=BATCH_SIZE,
        show_default=True,
        type=click.IntRange(min=1, max=10_000),
        help="Rows re-sealed per transaction.",
    )
    def rotate_key_command(batch_size: int):
        """Re-seal every encrypted value with the first key of CLINICAL_RECORD_KEYS.

        Put the new key first, keep the old ones after it, run this, then remove the old
        keys: nothing is sealed with them any more.
        """
        try:
            report = rotate_keys(batch_size=batch_size)
        except ClinicalKeyMissing as error:
            raise click.ClickException(
                f"{error} Nothing after the last finished batch was changed; add the old key "
                "after the new one and run this again."
            ) from error
        click.echo(
            f"Re-sealed {report.values} values in {report.rows} rows of {report.tables} tables "
            "with the first key."
        )
