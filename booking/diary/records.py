"""The clinical record at the desk: the tablet handed to the patient, consent recorded by
staff, and the practitioner's reading of the answers.

Handing over the tablet (locked to the patient's forms) or recording consent given in
person is open to all staff and never shows anything already on file. Reading the answers is for the
patient's practitioner and admins only, and every read is audited (records/access.py).
"""

from flask import abort, flash, redirect, render_template, url_for

from booking.auth import tablet_lock
from booking.auth.access import ALL_STAFF, require_practitioner_access, staff_required
from booking.clinic import DomainError
from booking.clinic.records import access, consent, intake, tablet
from booking.diary import blueprint
from booking.diary.hand_over import to_the_hand_over
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    ConsentTreatment,
    Patient,
    RecordMethod,
    Role,
)
from booking.record_forms import fill_consent, render_filled

CLINICAL_READERS = (Role.ADMIN, Role.PRACTITIONER)


def _booked_appointment_or_404(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    require_practitioner_access(appointment.practitioner)
    return appointment


def _back(appointment: Appointment):
    return redirect(url_for(".appointment", appointment_id=appointment.id))


@blueprint.route("/appointments/<int:appointment_id>/intake", methods=["GET", "POST"])
@staff_required(*ALL_STAFF)
def desk_intake(appointment_id: int):
    """Once the questionnaire in a staff session; now the locked tablet hand-over."""
    appointment = _booked_appointment_or_404(appointment_id)
    return to_the_hand_over(appointment, "health questionnaire")


@blueprint.route("/appointments/<int:appointment_id>/consent", methods=["GET", "POST"])
@staff_required(*ALL_STAFF)
def desk_consent(appointment_id: int):
    """Staff record consent the patient gave them in person (explained and agreed aloud).

    Staff fill this in themselves, in their own session; for the patient to read and
    agree on their own, the appointment page hands them the locked tablet instead.
    """
    appointment = _booked_appointment_or_404(appointment_id)
    wordings = consent.wordings_to_agree(appointment)
    if appointment.status != AppointmentStatus.BOOKED or not wordings:
        flash("Consent to this appointment's treatments is already on file.", "success")
        return _back(appointment)
    filled = fill_consent(
        appointment, wordings, method=RecordMethod.DESK, staff_user=signed_in_staff()
    )
    if filled.saved:
        flash("Consent recorded, taken in person by you.", "success")
        return _back(appointment)
    return render_filled("records/consent_form.html", filled, appointment, at_desk=True)


@blueprint.post("/appointments/<int:appointment_id>/tablet")
@staff_required(*ALL_STAFF)
def hand_tablet_over(appointment_id: int):
    """Lock this browser to the patient's forms of this appointment: the staff session ends
    here, and a staff sign-in is needed to use it again (booking.auth.tablet_lock)."""
    appointment = _booked_appointment_or_404(appointment_id)
    staff_user = signed_in_staff()
    try:
        tablet.hand_over(appointment, staff_user=staff_user)
    except DomainError as error:
        flash(error.message, "error")
        return _back(appointment)
    tablet_lock.hand_to_patient(appointment, staff_user)
    return redirect(url_for("public.tablet"))


@blueprint.get("/patients/<int:patient_id>/intake")
@staff_required(*CLINICAL_READERS)
def patient_intake(patient_id: int):
    """Every answer of the patient's newest questionnaire, with its version's questions."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    try:
        access.open_record(signed_in_staff(), patient.id, "intake")
    except access.ClinicalRecordRefused:
        abort(403)
    form = intake.latest_intake(patient.id)
    return render_template(
        "records/patient_intake.html",
        patient=patient,
        form=form,
        lines=intake.history_lines(form) if form else [],
        flags=intake.flags_of(form) if form else [],
        consents=consent.consent_statuses(patient.id, list(ConsentTreatment)),
    )
