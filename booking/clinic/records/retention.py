"""Retention and rights: the clinical record in a subject-access export, and its erasure.

A patient may ask to be erased, but a clinical record must be kept for a period after
the last treatment (UK practice for adults: at least eight years; the clinic's
`clinical_retention_years`). So an erasure (booking.clinic.patients.erase_patient) does
now what the law allows: contact details, messages and replies go at once. The clinical
record stays, with the patient's identity sealed beside it (their contact details being
gone), and a ClinicalErasure row says when its retention ends. The worker's daily job
deletes every record whose time has come, and audits it in counts.
"""

import json
import logging
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, func, select

from booking.clinic import audit
from booking.clinic.localtime import local_day_bounds
from booking.clinic.records import notes, outcomes
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import end_read, lock, unit_of_work
from booking.database import rows_changed, utcnow
from booking.encryption import opened
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    ClinicalErasure,
    Course,
    CourseReview,
    IntakeForm,
    NoteAmendment,
    OutcomeRecord,
    Patient,
    RedFlagCheck,
    StaffUser,
    TreatmentConsent,
    TreatmentNote,
)

# Every table of the clinical record, each row naming its patient.
CLINICAL_TABLES: tuple[type[Any], ...] = (
    IntakeForm,
    TreatmentConsent,
    RedFlagCheck,
    TreatmentNote,
    OutcomeRecord,
    CourseReview,
)

log = logging.getLogger("booking.records")


def years_after(instant: datetime, years: int) -> datetime:
    """The same moment `years` later; 29 February becomes 1 March in a common year."""
    try:
        return instant.replace(year=instant.year + years)
    except ValueError:
        return instant.replace(year=instant.year + years, month=3, day=1)


def last_treatment_at(patient_id: int) -> datetime | None:
    """When the patient was last treated: their latest attended or noted appointment."""
    noted = select(TreatmentNote.appointment_id).where(TreatmentNote.patient_id == patient_id)
    return db.session.scalar(
        select(func.max(Appointment.ends_at)).where(
            Appointment.patient_id == patient_id,
            (Appointment.status == AppointmentStatus.ATTENDED.value) | Appointment.id.in_(noted),
        )
    )


def has_clinical_record(patient_id: int) -> bool:
    for model in CLINICAL_TABLES:
        if db.session.scalar(select(model.id).where(model.patient_id == patient_id).limit(1)):
            return True
    return False


# A child's record is kept at least until their 25th birthday (UK practice for minors).
CHILD_UNTIL_AGE = 25
ADULT_AGE = 18


def date_of_birth(patient_id: int) -> date | None:
    """The patient's date of birth: on their record, else from their newest intake form."""
    on_record = db.session.scalar(select(Patient.date_of_birth).where(Patient.id == patient_id))
    if on_record is not None:
        return on_record
    sealed = db.session.scalar(
        select(IntakeForm.date_of_birth)
        .where(IntakeForm.patient_id == patient_id)
        .order_by(IntakeForm.submitted_at.desc(), IntakeForm.id.desc())
        .limit(1)
    )
    try:
        return date.fromisoformat(sealed) if sealed else None
    except ValueError:
        return None


def retention_ends(patient_id: int, *, now: datetime) -> datetime:
    """When the patient's clinical record may be erased: the clinic's N years after the last
    treatment, and for someone treated as a child not before their 25th birthday."""
    last = last_treatment_at(patient_id) or now
    ends = years_after(last, clinic_settings().clinical_retention_years)
    born = date_of_birth(patient_id)
    if born is not None and _birthday(born, ADULT_AGE) > last:
        ends = max(ends, _birthday(born, CHILD_UNTIL_AGE))
    return ends


def _birthday(born: date, age: int) -> datetime:
    """The instant the clinic's day of the `age`th birthday begins (London midnight, an hour
    before UTC's in summer); 29 February's falls on 1 March in a common year."""
    day = years_after(datetime.combine(born, time()), age).date()
    starts_at, _ = local_day_bounds(day, clinic_settings().zone)
    return starts_at


def scheduled_erasure(patient_id: int) -> ClinicalErasure | None:
    return db.session.scalar(
        select(ClinicalErasure).where(ClinicalErasure.patient_id == patient_id)
    )


def schedule_clinical_erasure(
    patient: Patient, *, staff_user: StaffUser, now: datetime
) -> ClinicalErasure | None:
    """Inside an erasure's unit of work, before the contact details go: keep the clinical
    record (if there is one) until its retention ends, with the identity sealed beside it."""
    if not has_clinical_record(patient.id):
        return None
    erasure = ClinicalErasure(
        patient_id=patient.id,
        requested_at=now,
        requested_by_id=staff_user.id,
        last_treatment_at=last_treatment_at(patient.id),
        erase_after=retention_ends(patient.id, now=now),
        kept_identity=json.dumps(
            {
                "name": patient.name,
                "email": patient.email,
                "phone": patient.phone,
                "date_of_birth": _day(date_of_birth(patient.id)),
                "address": getattr(patient, "address", "") or "",
            }
        ),
    )
    db.session.add(erasure)
    db.session.flush()
    audit.record(
        staff_user,
        "clinical_record.erasure_scheduled",
        patient,
        erase_after=erasure.erase_after,
        retention_years=clinic_settings().clinical_retention_years,
    )
    return erasure


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def kept_identity(patient_id: int) -> dict[str, Any] | None:
    """Who an erased patient's kept clinical record belongs to (None if not erased)."""
    erasure = scheduled_erasure(patient_id)
    if erasure is None or not erasure.kept_identity:
        return None
    identity: dict[str, Any] = json.loads(opened(erasure.kept_identity))
    return identity


def erase_due_clinical_records(now: datetime | None = None) -> int:
    """The worker's job: erase every kept clinical record whose retention has ended.

    One unit of work per patient, so one failure does not hold back the others; safe to
    run again (an erased row is skipped).
    """
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(ClinicalErasure.id).where(
                ClinicalErasure.erased_at.is_(None), ClinicalErasure.erase_after <= now
            )
        )
    )
    end_read()
    erased = 0
    for erasure_id in due:
        with unit_of_work():
            erasure = lock(ClinicalErasure, erasure_id)
            if erasure is None or erasure.erased_at is not None or erasure.erase_after > now:
                continue
            counts = _delete_clinical_record(erasure.patient_id)
            erasure.erased_at = now
            erasure.kept_identity = None
            patient = db.session.get(Patient, erasure.patient_id)
            audit.record(None, "clinical_record.erased", patient or erasure, **counts)
            erased += 1
    if erased:
        log.info("erased %d clinical records whose retention had ended", erased)
    return erased


def _delete_clinical_record(patient_id: int) -> dict[str, int]:
    note_ids = select(TreatmentNote.id).where(TreatmentNote.patient_id == patient_id)
    options = {"synchronize_session": False}
    amendments = rows_changed(
        db.session.execute(
            delete(NoteAmendment).where(NoteAmendment.note_id.in_(note_ids)),
            execution_options=options,
        )
    )
    counts = {"amendments": amendments}
    for name, model in (
        ("intake_forms", IntakeForm),
        ("consents", TreatmentConsent),
        ("red_flag_checks", RedFlagCheck),
        ("notes", TreatmentNote),
        ("outcomes", OutcomeRecord),
        ("reviews", CourseReview),
    ):
        counts[name] = rows_changed(
            db.session.execute(
                delete(model).where(model.patient_id == patient_id), execution_options=options
            )
        )
    db.session.expire_all()
    return counts


# The subject-access export -------------------------------------------------------------------


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def clinical_export(patient_id: int) -> dict[str, Any]:
    """The patient's clinical record, decrypted, as JSON-ready data (caller checks access)."""
    exported_notes = []
    for note in notes.notes_of_patient(patient_id):
        original = notes.content_of(note)
        exported_notes.append(
            {
                "appointment_reference": note.appointment.uid,
                "session_starts_at_utc": _instant(note.appointment.starts_at),
                "practitioner": note.appointment.practitioner.name,
                "status": note.status,
                "signed_at_utc": _instant(note.signed_at),
                "signed_by": note.signed_by.name if note.signed_by else None,
                "sections": {name: getattr(original, name) for name, _ in notes.SECTIONS},
                "amendments": [
                    {
                        "section": amendment.section,
                        "text": amendment.text,
                        "reason": amendment.reason,
                        "at_utc": _instant(amendment.created_at),
                        "by": amendment.author.name if amendment.author else None,
                    }
                    for amendment in note.amendments
                ],
            }
        )
    courses = list(
        db.session.scalars(
            select(Course).where(Course.patient_id == patient_id).order_by(Course.id)
        )
    )
    exported_outcomes = []
    for course in courses:
        points = outcomes.course_outcomes(course)
        review = db.session.scalar(select(CourseReview).where(CourseReview.course_id == course.id))
        if not points and review is None:
            continue
        exported_outcomes.append(
            {
                "course_reference": course.uid,
                "scores": [
                    {
                        "checkpoint": point.checkpoint.value,
                        "session_starts_at_utc": _instant(point.session_starts_at),
                        "recorded_at_utc": _instant(point.recorded_at),
                        "method": point.method,
                        "pain": point.pain,
                        "activities": [
                            {"name": activity.name, "score": activity.score}
                            for activity in point.activities
                        ],
                    }
                    for point in points
                ],
                "mid_course_review": (
                    {
                        "decision": review.decision,
                        "note": review.note,
                        "refundable_credits": review.refundable_credits,
                        "decided_at_utc": _instant(review.decided_at),
                    }
                    if review is not None
                    else None
                ),
            }
        )
    erasure = scheduled_erasure(patient_id)
    return {
        **_intake_and_consent(patient_id),
        "treatment_notes": exported_notes,
        "outcomes": exported_outcomes,
        "kept_until_utc": _instant(erasure.erase_after) if erasure else None,
    }


def _intake_and_consent(patient_id: int) -> dict[str, Any]:
    forms = db.session.scalars(
        select(IntakeForm)
        .where(IntakeForm.patient_id == patient_id)
        .order_by(IntakeForm.submitted_at, IntakeForm.id)
    )
    consents = db.session.scalars(
        select(TreatmentConsent)
        .where(TreatmentConsent.patient_id == patient_id)
        .order_by(TreatmentConsent.given_at, TreatmentConsent.id)
    )
    checks = db.session.scalars(
        select(RedFlagCheck)
        .where(RedFlagCheck.patient_id == patient_id)
        .order_by(RedFlagCheck.checked_at, RedFlagCheck.id)
    )
    return {
        "intake_questionnaires": [
            {
                "questions_version": form.questions_version,
                "submitted_at_utc": _instant(form.submitted_at),
                "method": form.method,
                "date_of_birth": form.date_of_birth,
                "gp_name": form.gp_name,
                "gp_practice": form.gp_practice,
                "problem": form.problem,
                "answers": form.answers,
                "flagged": form.has_flags,
            }
            for form in forms
        ],
        "consents": [
            {
                "treatment": consent.treatment,
                "wording_version": consent.wording_version,
                "given_at_utc": _instant(consent.given_at),
                "method": consent.method,
                "taken_by": consent.taken_by.name if consent.taken_by else None,
            }
            for consent in consents
        ],
        "red_flag_checks": [
            {
                "appointment_reference": check.appointment.uid,
                "checked_at_utc": _instant(check.checked_at),
                "method": check.method,
                "warning_sign": check.warning_sign,
                "answers": check.answers,
            }
            for check in checks
        ],
    }
