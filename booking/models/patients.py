"""Patients: only what the clinic needs to book and reach them."""

from datetime import date, datetime

from sqlalchemy import Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model


class Patient(Model):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # Stored lower-cased so that a returning patient is found whatever they type.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    # When the patient agreed that the clinic may store their health information.
    health_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    staff_notes: Mapped[str] = mapped_column(Text, default="")
    # Optional, asked only where a receipt for an insurer needs them.
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def initials(self) -> str:
        return "".join(part[0].upper() for part in self.name.split() if part) or "?"
