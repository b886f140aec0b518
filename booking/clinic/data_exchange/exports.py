"""CSV exports for the accountant: appointments, patients, payments and courses over a range
of days.

No health content: the patient's own words about their problem, staff notes and
cancellation reasons are left out; so is anything about a clinical record. Each export
is logged (who took which export of which days) in the access log, beside the reads of
patients' records, since an export is a read of many.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from booking.clinic import DomainError, access_log
from booking.clinic.data_exchange.spreadsheets import Cell, csv_text, local_date, local_time, pounds
from booking.clinic.payments.ledger import method_label
from booking.clinic.reports import DayRange, day_range
from booking.extensions import db
from booking.models import (
    Appointment,
    Course,
    CourseProduct,
    LedgerEntry,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
)

Rows = Iterator[Sequence[Cell]]


@dataclass(frozen=True)
class Export:
    name: str  # the file's name
    text: str  # the whole file


def _appointments(span: DayRange, zone: ZoneInfo) -> tuple[list[str], Rows]:
    headings = [
        "Appointment reference",
        "Starts",
        "Ends",
        "Practitioner",
        "Session",
        "Patient number",
        "Patient",
        "Status",
        "Booked by",
        "Price (£)",
        "Paid with a course",
        "Booked on",
        "Cancelled on",
        "Cancelled by",
        "Cancellation asked for by",
    ]
    statement = (
        select(Appointment, Practitioner.name, SessionType.name, Patient.name)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(SessionType, SessionType.id == Appointment.session_type_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.starts_at >= span.starts_at, Appointment.starts_at < span.ends_at)
        .order_by(Appointment.starts_at, Appointment.id)
    )

    def rows() -> Rows:
        for appointment, practitioner, session, patient in db.session.execute(statement):
            yield (
                appointment.uid,
                local_time(appointment.starts_at, zone),
                local_time(appointment.ends_at, zone),
                practitioner,
                session,
                appointment.patient_id,
                patient,
                appointment.status.replace("_", "-"),
                appointment.source.replace("_", " "),
                pounds(appointment.price_pence),
                "yes" if appointment.course_id is not None else "no",
                local_time(appointment.created_at, zone),
                local_time(appointment.cancelled_at, zone),
                appointment.cancelled_by or "",
                appointment.cancel_requested_by or "",
            )

    return headings, rows()


def _patients(span: DayRange, zone: ZoneInfo) -> tuple[list[str], Rows]:
    """Patients who joined in the range or have an appointment in it."""
    headings = ["Patient number", "Name", "Email", "Phone", "First recorded on", "Consent on"]
    seen = select(Appointment.patient_id).where(
        Appointment.starts_at >= span.starts_at, Appointment.starts_at < span.ends_at
    )
    statement = (
        select(Patient)
        .where(
            or_(
                Patient.id.in_(seen),
                (Patient.created_at >= span.starts_at) & (Patient.created_at < span.ends_at),
            )
        )
        .order_by(Patient.id)
    )

    def rows() -> Rows:
        for patient in db.session.scalars(statement):
            yield (
                patient.id,
                patient.name,
                patient.email or "",
                patient.phone or "",
                local_date(patient.created_at, zone),
                local_date(patient.health_consent_at, zone),
            )

    return headings, rows()


def _courses(span: DayRange, zone: ZoneInfo) -> tuple[list[str], Rows]:
    """Courses asked for or paid for in the range."""
    headings = [
        "Course reference",
        "Patient number",
        "Patient",
        "Course",
        "Status",
        "Sessions",
        "Credits left",
        "Price (£)",
        "Asked for on",
        "Paid on",
        "Expires on",
    ]
    statement = (
        select(Course, Patient.name, CourseProduct.name)
        .join(Patient, Patient.id == Course.patient_id)
        .join(CourseProduct, CourseProduct.id == Course.product_id)
        .where(
            or_(
                (Course.requested_at >= span.starts_at) & (Course.requested_at < span.ends_at),
                (Course.paid_at >= span.starts_at) & (Course.paid_at < span.ends_at),
            )
        )
        .order_by(Course.requested_at, Course.id)
    )

    def rows() -> Rows:
        for course, patient, product in db.session.execute(statement):
            yield (
                course.uid,
                course.patient_id,
                patient,
                product,
                course.status.replace("_", " "),
                course.sessions_total,
                course.credits_remaining,
                pounds(course.price_pence),
                local_date(course.requested_at, zone),
                local_date(course.paid_at, zone),
                local_date(course.expires_at, zone),
            )

    return headings, rows()


def _payments(span: DayRange, zone: ZoneInfo) -> tuple[list[str], Rows]:
    """The ledger's entries recorded in the range: payments, refunds and fees."""
    headings = [
        "Recorded",
        "Entry",
        "Method",
        "Fee for",
        "Amount (£)",
        "Waived on",
        "Patient number",
        "Patient",
        "For",
        "Reference",
        "Recorded by",
    ]
    statement = (
        select(LedgerEntry, Patient.name, Appointment.uid, Course.uid)
        .join(Patient, Patient.id == LedgerEntry.patient_id)
        .outerjoin(Appointment, Appointment.id == LedgerEntry.appointment_id)
        .outerjoin(Course, Course.id == LedgerEntry.course_id)
        .where(LedgerEntry.recorded_at >= span.starts_at, LedgerEntry.recorded_at < span.ends_at)
        .order_by(LedgerEntry.recorded_at, LedgerEntry.id)
    )

    def rows() -> Rows:
        for entry, patient, appointment_uid, course_uid in db.session.execute(statement):
            yield (
                local_time(entry.recorded_at, zone),
                entry.kind,
                method_label(entry.method),
                (entry.fee_kind or "").replace("_", " "),
                pounds(entry.amount_pence),
                local_date(entry.waived_at, zone),
                entry.patient_id,
                patient,
                f"appointment {appointment_uid}" if appointment_uid else f"course {course_uid}",
                entry.reference or "",
                entry.recorded_by_name,
            )

    return headings, rows()


Builder = Callable[[DayRange, ZoneInfo], tuple[list[str], Rows]]

# What can be exported, in the order the page lists them.
KINDS: dict[str, tuple[str, Builder]] = {
    "appointments": ("Appointments", _appointments),
    "patients": ("Patients", _patients),
    "payments": ("Payments, refunds and fees", _payments),
    "courses": ("Courses", _courses),
}


def export_csv(
    kind: str, first_day: date, last_day: date, *, zone: ZoneInfo, staff_user: StaffUser
) -> Export:
    """One CSV export of the range, logged as taken by `staff_user`."""
    if kind not in KINDS:
        raise DomainError("Choose what to export.")
    span = day_range(first_day, last_day, zone)
    _, build = KINDS[kind]
    headings, rows = build(span, zone)
    text = csv_text(headings, rows)
    access_log.record(
        staff_user,
        f"export.{kind}_csv",
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
    )
    return Export(name=f"{kind}-{first_day.isoformat()}-to-{last_day.isoformat()}.csv", text=text)
