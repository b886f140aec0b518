"""Least privilege for the clinical record: who may read it, and the audit of each read.

- an admin reads every patient's record;
- a practitioner reads the records of their own patients (anyone with an appointment
  with them, past or future, cancelled too: a red-flag cancellation must still reach
  them), or of every patient when the clinic's setting `practitioners_read_all_records`
  says so;
- reception never reads clinical content: they see that a record exists and whether it
  is complete (`booking.clinic.records.intake.record_status`), nothing else.

Every read of content goes through `open_record`, which refuses or writes an access
event (`patient.<what>_read`) that the patient's own export lists. Views call it before
they load anything sealed; the domain never decides on the strength of a template.
"""

from collections.abc import Iterable

from sqlalchemy import select

from booking.clinic import access_log
from booking.clinic.errors import DomainError
from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import Appointment, Role, StaffUser

REFUSED_MESSAGE = (
    "Only the patient's practitioner or an administrator may read their clinical record."
)


class ClinicalRecordRefused(DomainError):
    """This member of staff may not read this patient's clinical content."""

    def __init__(self, message: str = REFUSED_MESSAGE):
        super().__init__(message)


def may_read_any_record(staff_user: StaffUser | None) -> bool:
    """Whether the role can read clinical content at all (reception never can)."""
    if staff_user is None or not staff_user.active:
        return False
    if staff_user.role == Role.ADMIN.value:
        return True
    return staff_user.role == Role.PRACTITIONER.value and staff_user.practitioner_id is not None


def readable_patient_ids(staff_user: StaffUser | None, patient_ids: Iterable[int]) -> set[int]:
    """Of `patient_ids`, the ones whose clinical content `staff_user` may read (one query)."""
    wanted = {patient_id for patient_id in patient_ids if patient_id is not None}
    if not wanted or staff_user is None or not may_read_any_record(staff_user):
        return set()
    if staff_user.role == Role.ADMIN.value or clinic_settings().practitioners_read_all_records:
        return wanted
    own = db.session.scalars(
        select(Appointment.patient_id)
        .where(
            Appointment.practitioner_id == staff_user.practitioner_id,
            Appointment.patient_id.in_(wanted),
        )
        .distinct()
    )
    return set(own)


def may_read_record(staff_user: StaffUser | None, patient_id: int) -> bool:
    """Whether `staff_user` may read this patient's clinical content."""
    return patient_id in readable_patient_ids(staff_user, [patient_id])


def require_record_access(staff_user: StaffUser | None, patient_id: int) -> None:
    """Refuse (ClinicalRecordRefused) unless `staff_user` may read the patient's record."""
    if not may_read_record(staff_user, patient_id):
        raise ClinicalRecordRefused()


def open_record(staff_user: StaffUser | None, patient_id: int, what: str) -> None:
    """Check and audit one read of clinical content, before it is loaded.

    `what` names the part read ("intake", "consent", "notes", "outcomes", "record_pdf",
    ...); the access log keeps `patient.<what>_read`, who and when, never the content.
    """
    require_record_access(staff_user, patient_id)
    assert staff_user is not None  # for mypy: require_record_access refused None
    access_log.record_read(staff_user, patient_id, what)
