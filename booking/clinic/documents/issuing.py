"""Issuing a document: one unit of work takes the next number and writes the copy.

Everything a document shows is copied onto it here, as it is at this moment: the
clinic's name, address and VAT registration, the practitioner's name, professional body
and registration number, the patient's name, address and date of birth, the lines and
their amounts. A later change to any of them leaves issued documents as they were.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from booking.clinic import audit
from booking.clinic.documents.numbering import reference, take_next_number
from booking.clinic.documents.vat import split_gross
from booking.clinic.errors import DomainError
from booking.clinic.localtime import local_today, to_local
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Course,
    Document,
    DocumentKind,
    DocumentLine,
    LedgerEntry,
    Patient,
    Practitioner,
    StaffUser,
)

# Longest insurer name, membership number and authorisation code we print.
CLAIM_LIMITS = {
    "insurer": ("The insurer's name", 120),
    "membership_number": ("The membership number", 60),
    "authorisation_code": ("The authorisation code", 60),
}


@dataclass(frozen=True)
class ClaimDetails:
    """What a patient claiming from an insurer or cash plan asks us to print (all optional)."""

    insurer: str = ""
    membership_number: str = ""
    authorisation_code: str = ""

    def tidied(self) -> "ClaimDetails":
        """The details trimmed and checked; a DomainError names the first that is too long."""
        values = {}
        for name, (label, longest) in CLAIM_LIMITS.items():
            text = " ".join((getattr(self, name) or "").split())
            if len(text) > longest:
                raise DomainError(f"{label} is too long: at most {longest} characters.")
            if not text.isprintable():
                raise DomainError(f"{label} contains a character we cannot print.")
            values[name] = text
        return ClaimDetails(**values)


@dataclass(frozen=True)
class Line:
    description: str
    amount_pence: int
    treatment_on: date | None = None
    practitioner_name: str = ""


def practitioner_registration(practitioner: Practitioner | None) -> tuple[str, str]:
    """(professional body, registration number) of a practitioner, "" where not held."""
    if practitioner is None:
        return "", ""
    return practitioner.professional_body, practitioner.registration_number


def _patient_address(patient: Patient) -> str:
    """The patient's postal address with its postcode on the last line, "" if none held."""
    lines = [patient.address.strip(), patient.postcode.strip()]
    return "\n".join(line for line in lines if line)


def _patient_date_of_birth(patient: Patient) -> date | None:
    return patient.date_of_birth


def issue(
    kind: DocumentKind,
    *,
    patient: Patient,
    lines: Sequence[Line],
    staff_user: StaffUser | None,
    practitioner: Practitioner | None = None,
    claim: ClaimDetails = ClaimDetails(),
    paid_pence: int = 0,
    method: str = "",
    paid_on: date | None = None,
    appointment: Appointment | None = None,
    course: Course | None = None,
    original: Document | None = None,
    ledger_entry: LedgerEntry | None = None,
    now: datetime | None = None,
) -> Document:
    """Write one document of `kind` with the next number, copying every detail as it is now.

    Joins the caller's unit of work when there is one (a payment and its receipt are
    then one change, all or nothing), so the number is spent only if the whole change
    commits.
    """
    claim = claim.tidied()
    if not lines:
        raise DomainError("A document needs at least one line.")
    if any(line.amount_pence < 0 for line in lines) or paid_pence < 0:
        raise DomainError("A document's amounts cannot be negative.")
    now = now or utcnow()
    with unit_of_work():
        settings = clinic_settings()
        # A credit note corrects its original at the VAT the original charged.
        vat_number, vat_rate = (
            (original.vat_number, original.vat_rate_basis_points)
            if original is not None
            else (settings.vat_number, settings.vat_rate_basis_points)
        )
        gross = sum(line.amount_pence for line in lines)
        split = split_gross(gross, vat_rate)
        body, registration = practitioner_registration(practitioner)
        number = take_next_number(kind)
        document = Document(
            kind=kind.value,
            number=number,
            reference=reference(kind, number),
            issued_at=now,
            issued_on=local_today(now, settings.zone),
            issued_by_id=staff_user.id if staff_user is not None else None,
            patient_id=patient.id,
            appointment_id=appointment.id if appointment is not None else None,
            course_id=course.id if course is not None else None,
            original_id=original.id if original is not None else None,
            ledger_entry_id=ledger_entry.id if ledger_entry is not None else None,
            clinic_name=settings.name,
            clinic_address=settings.address,
            clinic_phone=settings.phone or "",
            clinic_email=settings.email or "",
            vat_number=vat_number,
            vat_rate_basis_points=vat_rate,
            practitioner_name=practitioner.name if practitioner is not None else "",
            practitioner_body=body,
            practitioner_registration=registration,
            patient_name=patient.name,
            patient_address=_patient_address(patient),
            patient_date_of_birth=_patient_date_of_birth(patient),
            insurer=claim.insurer,
            membership_number=claim.membership_number,
            authorisation_code=claim.authorisation_code,
            net_pence=split.net_pence,
            vat_pence=split.vat_pence,
            gross_pence=split.gross_pence,
            paid_pence=paid_pence,
            method=method,
            paid_on=paid_on,
            lines=[
                DocumentLine(
                    position=position,
                    description=line.description,
                    treatment_on=line.treatment_on,
                    practitioner_name=line.practitioner_name,
                    amount_pence=line.amount_pence,
                )
                for position, line in enumerate(lines, start=1)
            ],
        )
        db.session.add(document)
        db.session.flush()
        audit.record(
            staff_user,
            "document.issued",
            document,
            reference=document.reference,
            kind=kind.value,
            gross_pence=document.gross_pence,
        )
    return document


def appointment_line(appointment: Appointment) -> Line:
    """The line for one appointment: its session, its day (clinic's time), its price."""
    zone = clinic_settings().zone
    return Line(
        description=appointment.session_type.name,
        amount_pence=appointment.price_pence,
        treatment_on=to_local(appointment.starts_at, zone).date(),
        practitioner_name=appointment.practitioner.name,
    )


def course_line(course: Course) -> Line:
    """The line for a course bought ahead: the product and its number of sessions."""
    name = course.product.name
    if str(course.sessions_total) not in name:
        name = f"{name} ({course.sessions_total} sessions)"
    return Line(description=name, amount_pence=course.price_pence)


def course_practitioner(course: Course) -> Practitioner | None:
    """The practitioner of a course's sessions, when they are all with one."""
    practitioners = {
        appointment.practitioner_id: appointment.practitioner
        for appointment in course.appointments
        if appointment.status != AppointmentStatus.CANCELLED
    }
    if len(practitioners) == 1:
        return next(iter(practitioners.values()))
    return None
