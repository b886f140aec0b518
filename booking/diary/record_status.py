"""What the diary shows of the clinical record: status for everyone, flags for readers.

A small module the diary's view modules share (the day and week grids, the appointment
page), so none imports another's helpers. Reception sees "intake: complete / missing"
and "consent: given / missing / outdated"; a marker that answers are flagged, or that a
warning sign was reported when booking, shows only to staff who may read the record, and
the flagged answers themselves only on the appointment page, where reading them is
audited.
"""

from dataclasses import dataclass, field

from booking.clinic.records import access, consent, intake, red_flags, tablet
from booking.clinic.records.consent import ConsentStatus, TreatmentConsentStatus
from booking.clinic.records.intake import Flag, IntakeStatus
from booking.clinic.records.red_flags import RecheckStatus
from booking.diary.signed_in import signed_in_staff
from booking.encryption import ClinicalKeyMissing
from booking.models import Appointment


@dataclass(frozen=True)
class RecordMark:
    """A block's marker in the diary grid."""

    intake_complete: bool
    consent: ConsentStatus
    # None when the signed-in member of staff may not know (reception).
    flagged: bool | None
    # The patient reported a warning sign a doctor has assessed (when booking): health
    # information as much as a flagged answer, so likewise None for reception.
    warning_sign_assessed: bool | None = None


def record_marks(appointments: list[Appointment]) -> dict[int, RecordMark]:
    """Each appointment's marker, in a few queries whatever the number of appointments."""
    patient_ids = [appointment.patient_id for appointment in appointments]
    intakes = intake.intake_statuses(patient_ids)
    consents = consent.appointments_consent(appointments)
    readable = access.readable_patient_ids(signed_in_staff(), patient_ids)
    return {
        appointment.id: RecordMark(
            intakes[appointment.patient_id].complete,
            consents[appointment.id],
            intakes[appointment.patient_id].has_flags
            if appointment.patient_id in readable
            else None,
            appointment.warning_sign_assessed if appointment.patient_id in readable else None,
        )
        for appointment in appointments
    }


@dataclass
class AppointmentRecord:
    """The clinical-record panel of the appointment page."""

    intake: IntakeStatus
    consents: list[TreatmentConsentStatus]
    consent: ConsentStatus
    recheck: RecheckStatus | None
    may_read: bool
    flags: list[Flag] = field(default_factory=list)
    questions_version: str | None = None
    # What the patient would fill in on the desk's tablet, in words; empty when there is
    # nothing, or the visit is over.
    tablet_steps: list[str] = field(default_factory=list)
    # The answers are sealed with a key this server does not have (CLINICAL_RECORD_KEYS).
    unreadable: bool = False


def appointment_record(appointment: Appointment) -> AppointmentRecord:
    """The panel's facts; the flagged answers only for a reader, and that read audited."""
    staff_user = signed_in_staff()
    consents = consent.appointment_consent(appointment)
    record = AppointmentRecord(
        intake=intake.intake_status(appointment.patient_id),
        consents=consents,
        consent=consent.overall(consents),
        recheck=red_flags.latest_recheck(appointment.id),
        may_read=access.may_read_record(staff_user, appointment.patient_id),
    )
    if appointment.status in tablet.HANDED_OVER_FOR:
        record.tablet_steps = [tablet.STEP_LABELS[step] for step in tablet.steps_left(appointment)]
    if record.may_read and record.intake.complete:
        access.open_record(staff_user, appointment.patient_id, "intake_flags")
        form = intake.latest_intake(appointment.patient_id)
        if form is not None:
            record.questions_version = form.questions_version
            try:
                record.flags = intake.flags_of(form)
            except ClinicalKeyMissing:
                # Never "nothing flagged" when the answers could not be read at all.
                record.unreadable = True
    return record
