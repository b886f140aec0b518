"""Document numbers: one series per kind, never a gap, never a number used twice.

Each kind has its prefix and its own series:

    invoice      INV-000001, INV-000002, ...
    receipt      REC-000001, ...
    credit note  CN-000001, ...

The next number comes from the kind's row in `document_counters`, read FOR UPDATE and
raised by one inside the unit of work that writes the document. Two people issuing at
the same moment queue on that row (on SQLite the whole write is one at a time anyway),
so each sees the other's number; and since the counter is raised in the same
transaction as the document is written, a document that is not written (a refusal, a
crash, a rollback) gives its number back with it. The unique (kind, number) constraint
on `documents` is the database's last word.

The clinic runs one series per kind: the system serves one clinic (one settings row).
"""

from sqlalchemy.dialects import postgresql, sqlite

from booking.clinic.transaction import in_unit_of_work, lock
from booking.extensions import db
from booking.models import DocumentCounter, DocumentKind

PREFIXES = {
    DocumentKind.INVOICE: "INV",
    DocumentKind.RECEIPT: "REC",
    DocumentKind.CREDIT_NOTE: "CN",
}
DIGITS = 6


def reference(kind: DocumentKind, number: int) -> str:
    """The number as printed: "INV-000123" (more digits once past 999,999)."""
    return f"{PREFIXES[kind]}-{number:0{DIGITS}d}"


def take_next_number(kind: DocumentKind) -> int:
    """The next number of `kind`'s series, held until the caller's unit of work ends."""
    if not in_unit_of_work():
        raise RuntimeError("a document number is only taken inside the unit of work that uses it")
    # The counter row is made on first use. "On conflict do nothing" makes two first
    # uses at once safe: the second waits for the first's row and then locks it.
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(DocumentCounter)
        .values(kind=kind.value, last_number=0)
        .on_conflict_do_nothing(index_elements=["kind"])
    )
    counter = lock(DocumentCounter, kind.value)
    if counter is None:  # pragma: no cover - the row was made just above
        raise RuntimeError(f"the {kind} counter is missing")
    counter.last_number += 1
    return counter.last_number
