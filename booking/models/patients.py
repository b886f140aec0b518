"""Patients: only what the clinic needs to book and reach them."""

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, String, Text, event
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
    # When the patient opened a link emailed to this address (a held booking's confirm
    # link): the address is theirs, so their later online bookings need no confirming.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    staff_notes: Mapped[str] = mapped_column(Text, default="")
    # Optional, asked only where a receipt for an insurer needs them.
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Name, email and phone digits folded by `searchable` ("Zoë O'Neill" -> "zoeoneill"),
    # kept up to date on every insert and update below, so a search ignores accents,
    # case and spacing the same way on SQLite and PostgreSQL with a plain LIKE.
    search_text: Mapped[str] = mapped_column(String(420), default="", index=True)

    @property
    def initials(self) -> str:
        return "".join(part[0].upper() for part in self.name.split() if part) or "?"


def searchable(text: str | None) -> str:
    """Text folded for search: accents off, case folded, only letters, digits, @ and dots."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^a-z0-9@.]", "", plain.replace("ß", "ss"))


def patient_search_text(name: str | None, email: str | None, phone: str | None) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return f"{searchable(name)}|{searchable(email)}|{digits}"[:420]


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _keep_search_text(_mapper: Any, _connection: Any, patient: Patient) -> None:
    patient.search_text = patient_search_text(patient.name, patient.email, patient.phone)
