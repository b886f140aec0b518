"""Duplicate patients: who is already on file with an email or phone, and merging two records.

Staff see the warning where they type a new patient (phone booking, course sale). The
public booking form does not say whether an email is on file: that would tell anyone
who types an address whether that person is a patient here. Online bookings already
reuse the record with the same email and name; other duplicates are merged by staff.
"""

import re

from sqlalchemy import func, or_, select, update

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.transaction import flush, lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import Model, db
from booking.models import AuditEvent, Patient, StaffUser
from booking.models.patients import patient_search_text


def patients_on_file(email: str | None, phone: str | None) -> list[Patient]:
    """Patients with this email address, or this phone number (digits compared)."""
    conditions = []
    email = (email or "").strip().lower()
    if email:
        conditions.append(func.lower(Patient.email) == email)
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 7:
        # The search text ends with the phone's digits: "name|email|digits".
        conditions.append(Patient.search_text.like(f"%|{digits}"))
    if not conditions:
        return []
    return list(
        db.session.scalars(select(Patient).where(or_(*conditions)).order_by(Patient.id).limit(5))
    )


class ContactIndex:
    """patients_on_file for many at once (an import's rows): every patient's email and
    phone digits read in one query, compared the same way, instead of a query a row."""

    def __init__(self) -> None:
        self._by_email: dict[str, set[int]] = {}
        self._by_digits: dict[str, set[int]] = {}
        rows = db.session.execute(select(Patient.id, Patient.email, Patient.search_text))
        for patient_id, email, search_text in rows:
            if email and email.strip():
                self._by_email.setdefault(email.strip().lower(), set()).add(patient_id)
            # The search text ends with the phone's digits: "name|email|digits".
            digits = (search_text or "").rpartition("|")[2]
            if digits:
                self._by_digits.setdefault(digits, set()).add(patient_id)

    def patients_on_file(self, email: str | None, phone: str | None) -> list[Patient]:
        """As the module's patients_on_file: by email, or by phone (digits compared)."""
        ids: set[int] = set()
        email = (email or "").strip().lower()
        if email:
            ids |= self._by_email.get(email, set())
        digits = re.sub(r"\D", "", phone or "")
        if len(digits) >= 7:
            ids |= self._by_digits.get(digits, set())
        chosen = sorted(ids)[:5]
        return [patient for pid in chosen if (patient := db.session.get(Patient, pid))]


def on_file_warning(matches: list[Patient]) -> str:
    names = ", ".join(f"{p.name} (patient number {p.id})" for p in matches)
    return (
        f"Already on file with this email or phone: {names}. Choose them instead, or confirm "
        "that this is a different person to add a new record."
    )


def _patient_columns() -> list[tuple[str, str]]:
    """Every (table, column) that refers to a patient, whoever's module defines it."""
    found = []
    for table in Model.metadata.sorted_tables:
        for column in table.columns:
            for foreign_key in column.foreign_keys:
                if foreign_key.column.table.name == "patients" and table.name != "patients":
                    found.append((table.name, column.name))
    return found


def merge_patients(
    survivor: Patient, duplicate: Patient, *, staff_user: StaffUser
) -> dict[str, int]:
    """Move everything of `duplicate` to `survivor` in one unit of work, then remove it.

    Every row that names the duplicate (appointments, courses and so their credits,
    messages through their appointments, waiting-list entries, records, payments, access
    events) is moved, whatever table it is in; its audit events are re-filed under the
    survivor; contact details the survivor lacks are taken from the duplicate. Returns
    how many rows moved, by table. Audited.
    """
    if survivor.id == duplicate.id:
        raise DomainError("Choose two different patients to merge.")
    moved: dict[str, int] = {}
    with unit_of_work():
        # Lowest id first, so two merges of the same pair queue rather than deadlock.
        first, second = sorted((survivor.id, duplicate.id))
        locked = {
            first: lock_or_refuse(Patient, first, "One of these patients no longer exists."),
            second: lock_or_refuse(Patient, second, "One of these patients no longer exists."),
        }
        survivor, duplicate = locked[survivor.id], locked[duplicate.id]
        for table_name, column_name in _patient_columns():
            table = Model.metadata.tables[table_name]
            column = table.c[column_name]
            result = db.session.execute(
                update(table).where(column == duplicate.id).values({column_name: survivor.id})
            )
            count = int(getattr(result, "rowcount", 0) or 0)
            if count:
                moved[table_name] = moved.get(table_name, 0) + count
        audited = db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.subject_type == "Patient", AuditEvent.subject_id == duplicate.id)
            .values(subject_id=survivor.id)
        )
        moved["audit_events"] = int(getattr(audited, "rowcount", 0) or 0)
        for name in ("email", "phone", "date_of_birth", "address", "postcode"):
            if not getattr(survivor, name) and getattr(duplicate, name):
                setattr(survivor, name, getattr(duplicate, name))
        # A confirmation belongs to the address it was sent to.
        if (
            survivor.email == duplicate.email
            and duplicate.email_confirmed_at
            and not survivor.email_confirmed_at
        ):
            survivor.email_confirmed_at = duplicate.email_confirmed_at
        if duplicate.health_consent_at and not survivor.health_consent_at:
            survivor.health_consent_at = duplicate.health_consent_at
        if duplicate.staff_notes:
            survivor.staff_notes = "\n".join(
                n for n in (survivor.staff_notes, duplicate.staff_notes) if n
            )
        survivor.search_text = patient_search_text(survivor.name, survivor.email, survivor.phone)
        survivor.updated_at = utcnow()
        duplicate_id = duplicate.id
        db.session.delete(duplicate)
        flush()
        audit.record(
            staff_user, "patient.merged", survivor, merged_patient=duplicate_id, moved=moved
        )
    return moved
