"""The clinic's whole data in one zip, so that a clinic can leave: JSON and CSV per table.

Every table the application defines is written, as read in one snapshot (one repeatable
read on PostgreSQL, one read transaction on SQLite), except what is the site's own
machinery or a secret that would let someone act as staff or as a patient: sign-in
sessions and failures, second factors, password hashes, feed tokens, calendar
connections and their fetched busy times, the outbox's copies of emails and their
attachments (their links act for patients), patient forms' one-time keys, scheduled job
bookkeeping. `booking/backup.py` is the way to move the site itself; this is the
clinic's data in a form other software can read.

Clinical content (every encrypted column, the patient's own words about their problem,
and staff notes) is left out unless the administrator asks for it; then it is written
decrypted, and the manifest says so. Times are UTC in ISO 8601, as stored.
"""

import csv
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any

import sqlalchemy as sa

from booking.clinic import access_log
from booking.clinic.data_exchange.spreadsheets import BOM, neutralised
from booking.database import utcnow
from booking.encryption import EncryptedText
from booking.extensions import db
from booking.models import StaffUser

FORMAT = 1

LEFT_OUT_TABLES = frozenset(
    {
        "staff_sessions",
        "sign_in_failures",
        "totp_factors",
        "passkeys",
        "recovery_codes",
        "scheduled_jobs",
        "feed_revisions",
        "calendar_connections",
        "busy_times",
        "outbox_messages",
        # An email's attachments are copies of it too: a patient's calendar invitation
        # carries the link that acts for them.
        "outbox_attachments",
        # A patient form's one-time key finds what sending it did (a double tap): machinery.
        "form_submissions",
    }
)
LEFT_OUT_COLUMNS = frozenset(
    {
        ("staff_users", "password_hash"),
        ("staff_users", "session_version"),
        ("practitioners", "feed_token"),
    }
)
# Health content in plain columns; every EncryptedText column is clinical as well.
CLINICAL_COLUMNS = frozenset(
    {
        ("appointments", "patient_note"),
        ("appointments", "staff_note"),
        ("patients", "staff_notes"),
    }
)


@dataclass(frozen=True)
class FullExport:
    name: str
    file: IO[bytes]  # positioned at the start; the caller closes it
    tables: dict[str, int]


def is_clinical(table: sa.Table, column: sa.Column[Any]) -> bool:
    return isinstance(column.type, EncryptedText) or (table.name, column.name) in CLINICAL_COLUMNS


def _columns(table: sa.Table, include_clinical: bool) -> list[sa.Column[Any]]:
    return [
        column
        for column in table.columns
        if (table.name, column.name) not in LEFT_OUT_COLUMNS
        and (include_clinical or not is_clinical(table, column))
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def _csv_cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralised(str(value))


def _write_table(
    archive: zipfile.ZipFile,
    connection: sa.Connection,
    table: sa.Table,
    columns: list[sa.Column[Any]],
) -> int:
    order = list(table.primary_key.columns) or columns
    rows = [
        {column.name: _plain(value) for column, value in zip(columns, row, strict=True)}
        for row in connection.execute(sa.select(*columns).order_by(*order))
    ]
    archive.writestr(
        f"json/{table.name}.json",
        json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=False),
    )
    text = io.StringIO()
    text.write(BOM)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([column.name for column in columns])
    for row in rows:
        writer.writerow([_csv_cell(row[column.name]) for column in columns])
    archive.writestr(f"csv/{table.name}.csv", text.getvalue())
    return len(rows)


def export_everything(*, include_clinical: bool, staff_user: StaffUser) -> FullExport:
    """Write the zip to a temporary file and log who took it (and whether with clinical
    content). The file lives in memory up to a few megabytes, on disk beyond."""
    now = utcnow()
    spooled: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    counts: dict[str, int] = {}
    left_out_clinical: list[str] = []
    connection = db.engine.connect()
    if connection.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
    try:
        with connection.begin(), zipfile.ZipFile(spooled, "w", zipfile.ZIP_DEFLATED) as archive:
            for table in db.metadata.sorted_tables:
                if table.name in LEFT_OUT_TABLES:
                    continue
                columns = _columns(table, include_clinical)
                left_out_clinical += [
                    f"{table.name}.{column.name}"
                    for column in table.columns
                    if is_clinical(table, column) and not include_clinical
                ]
                counts[table.name] = _write_table(archive, connection, table, columns)
            manifest = {
                "format": FORMAT,
                "exported_at": now.isoformat(),
                "times": "UTC, ISO 8601",
                "clinical_content_included": include_clinical,
                "clinical_columns_left_out": left_out_clinical,
                "tables_left_out": sorted(LEFT_OUT_TABLES),
                "columns_left_out": sorted(f"{t}.{c}" for t, c in LEFT_OUT_COLUMNS),
                "rows": counts,
            }
            archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    finally:
        connection.close()
    access_log.record(staff_user, "export.everything", clinical=include_clinical or None)
    spooled.seek(0)
    return FullExport(name=f"clinic-export-{now:%Y-%m-%d}.zip", file=spooled, tables=counts)
