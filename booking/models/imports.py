"""What came in from another system: one row per record imported, by its id over there."""

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.enums import ImportedKind, ImportSource, one_of


class ImportedRecord(Model):
    """A patient or appointment imported from `source` (cliniko, jane, generic), under the
    id it had there: an import run twice finds it here and adds nothing the second time."""

    __tablename__ = "imported_records"
    __table_args__ = (
        UniqueConstraint("source", "kind", "external_id"),
        one_of("source", ImportSource, "source_known"),
        one_of("kind", ImportedKind, "kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))  # an ImportedKind
    external_id: Mapped[str] = mapped_column(String(120))
    record_id: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    staff_user_id: Mapped[int | None] = mapped_column(Integer)
