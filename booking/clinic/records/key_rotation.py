"""Re-sealing the clinical record with the newest key (`flask records rotate-key`).

Every column of type `EncryptedText`, in every table (the notes' and outcomes' too, as
they are added), is read as its stored token and written back sealed with the first key
of CLINICAL_RECORD_KEYS. The text inside never changes and is never decrypted into the
ORM: each value goes token -> MultiFernet.rotate -> token. Rows go in batches, each batch
one unit of work holding its rows (FOR UPDATE on PostgreSQL), so a long rotation never
holds the whole record locked, and a rotation stopped half-way can simply be run again.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import Column, Row, Table, Text, literal, select, type_coerce, update

from booking.clinic.transaction import unit_of_work
from booking.encryption import ClinicalKeyMissing, EncryptedText, reseal_text
from booking.extensions import db

BATCH_SIZE = 200


@dataclass
class RotationReport:
    rows: int = 0
    values: int = 0
    tables: int = 0


def sealed_columns() -> Iterator[tuple[Table, list[Column[Any]]]]:
    """Each table with sealed columns, and those columns."""
    for table in db.metadata.sorted_tables:
        columns = [column for column in table.columns if isinstance(column.type, EncryptedText)]
        if columns:
            yield table, columns


def _reseal(token: str, table: str) -> str:
    try:
        return reseal_text(token)
    except InvalidToken as error:
        raise ClinicalKeyMissing(
            f"A value in {table} opens with none of the configured CLINICAL_RECORD_KEYS."
        ) from error


def _rotate_batch(
    table: Table, columns: list[Column[Any]], after: object, size: int
) -> list[Row[Any]]:
    (key,) = table.primary_key.columns
    with unit_of_work() as session:
        statement = (
            select(key, *[type_coerce(column, Text).label(column.name) for column in columns])
            .order_by(key)
            .limit(size)
            .with_for_update()
        )
        if after is not None:
            statement = statement.where(key > after)
        rows = session.execute(statement).all()
        for row in rows:
            values = {
                column.name: literal(_reseal(token, table.name), Text)
                for column, token in zip(columns, row[1:], strict=True)
                if token is not None
            }
            if values:
                session.execute(update(table).where(key == row[0]).values(values))
    return list(rows)


def rotate_keys(batch_size: int = BATCH_SIZE) -> RotationReport:
    """Re-seal every sealed value with the first key; each batch of rows one unit of work."""
    report = RotationReport()
    for table, columns in sealed_columns():
        report.tables += 1
        after = None
        while True:
            rows = _rotate_batch(table, columns, after, batch_size)
            if not rows:
                break
            report.rows += len(rows)
            report.values += sum(
                1 for row in rows for position in range(1, len(columns) + 1) if row[position]
            )
            after = rows[-1][0]
    return report
