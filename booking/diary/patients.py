"""Patients: search by name, email or phone; each patient's page; correct, export, erase.

Searches are POSTed, never put in the query string: a patient's name or phone number
must not end up in a URL, a browser history or a server log. For the same reason the
export's file name carries the patient's number, not their name.
"""

import json
import time
from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError, access_log, communications, postal, waiting_list
from booking.clinic import course_products as course_catalogue
from booking.clinic import patients as patient_records
from booking.clinic.duplicates import merge_patients, patients_on_file
from booking.clinic.localtime import local_today
from booking.clinic.patients import next_appointments, search_patients
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.diary import blueprint, grid
from booking.diary.forms import ConfirmForm, PatientSearchForm, no_patient_matches
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import Appointment, Course, Patient, Role
from booking.public.forms import phone_number
from booking.validators import DeliverableEmail, Form, VisibleName, whole_number

CORRECT_BELOW = "Please correct the highlighted answers below."
FORM_EXPIRED = "The form had expired. Please try again."


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ContactDetailsForm(Form):
    name = StringField(
        "Name",
        filters=[_strip],
        validators=[
            DataRequired("Enter the patient's name."),
            VisibleName(),
            Length(max=120, message="Up to 120 characters."),
        ],
    )
    email = StringField(
        "Email address",
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=254, message="That email address is too long."),
            DeliverableEmail(),
        ],
    )
    phone = StringField("Phone number", filters=[_strip], validators=[Optional(), phone_number])
    staff_notes = TextAreaField(
        "Staff notes", validators=[Length(max=5000, message="Up to 5000 characters.")]
    )
    date_of_birth = StringField("Date of birth (optional)", filters=[_strip])
    address = TextAreaField("Postal address (optional)")
    postcode = StringField("Postcode (optional)", filters=[_strip])

    def validate_date_of_birth(self, field) -> None:
        field.born = None
        if not field.data:
            return
        born = _typed_date(field.data)
        if born is None:
            raise ValidationError(
                f"“{field.data[:20]}” is not a date we can read. Write it like 25/03/1980."
            )
        try:
            field.born = postal.check_date_of_birth(
                born, today=local_today(utcnow(), clinic_settings().zone)
            )
        except DomainError as error:
            raise ValidationError(error.message) from None

    def validate_address(self, field) -> None:
        try:
            postal.clean_address(field.data)
        except DomainError as error:
            raise ValidationError(error.message) from None

    def validate_postcode(self, field) -> None:
        try:
            postal.normalise_postcode(field.data)
        except DomainError as error:
            raise ValidationError(error.message) from None


def _typed_date(text: str) -> date | None:
    """A date typed as 25/03/1980 (how the clinic writes them) or 1980-03-25 (a date picker)."""
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return date(*time.strptime(text, pattern)[:3])
        except ValueError:
            continue
    return None


class EraseForm(Form):
    confirm_name = StringField(
        "Type the patient's name to confirm",
        validators=[DataRequired("Type the patient's name to confirm.")],
    )


@blueprint.route("/patients", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def patients():
    form = PatientSearchForm()
    found, searched = [], False
    if form.validate_on_submit():
        found, searched = search_patients(form.query.data), True
    recent = []
    if not searched:
        recent = list(
            db.session.scalars(
                select(Patient).order_by(Patient.updated_at.desc(), Patient.id.desc()).limit(20)
            )
        )
    return render_template(
        "diary/patients.html",
        form=form,
        found=found,
        next_visits=next_appointments([patient.id for patient in found]),
        searched=searched,
        recent=recent,
        no_match=no_patient_matches(form.query.data or ""),
    ), (422 if form.is_submitted() and form.errors else 200)


def _patient_or_404(patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    return patient


def _render_patient(
    patient: Patient,
    *,
    contact_form: ContactDetailsForm | None = None,
    erase_form: EraseForm | None = None,
    problem: str | None = None,
    erase_problem: str | None = None,
    status: int = 200,
):
    appointments = list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient.id)
            .order_by(Appointment.starts_at.desc())
        )
    )
    courses = list(
        db.session.scalars(
            select(Course)
            .where(Course.patient_id == patient.id)
            .order_by(Course.requested_at.desc())
        )
    )
    if contact_form is None:
        contact_form = ContactDetailsForm(obj=patient, formdata=None)
        born = patient.date_of_birth
        contact_form.date_of_birth.data = born.strftime("%d/%m/%Y") if born else ""
    return render_template(
        "diary/patient.html",
        patient=patient,
        erased=patient_records.is_erased(patient),
        appointments=appointments,
        courses=courses,
        course_products=course_catalogue.products(),
        course_places=grid.course_positions(appointments),
        status_labels=grid.STATUS_LABELS,
        contact_form=contact_form,
        erase_form=erase_form or EraseForm(formdata=None),
        problem=problem,
        erase_problem=erase_problem,
        messages=communications.patient_log(patient),
        # A record made online (where the form cannot say who is on file) or before the
        # warning: the desk sees the likely duplicate, and an administrator merges it.
        waiting=[
            (entry, waiting_list.describe(entry)) for entry in waiting_list.waiting_for(patient)
        ],
        also_on_file=[
            other
            for other in patients_on_file(patient.email, patient.phone)
            if other.id != patient.id
        ],
    ), status


@blueprint.route("/patients/<int:patient_id>", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def patient(patient_id: int):
    patient = _patient_or_404(patient_id)
    form = ContactDetailsForm()
    if not form.is_submitted():
        access_log.record_read(signed_in_staff(), patient.id, "record")
        return _render_patient(patient)
    if not form.validate():
        if form.csrf_token.errors:
            return _render_patient(patient, contact_form=form, problem=FORM_EXPIRED, status=400)
        return _render_patient(patient, contact_form=form, problem=CORRECT_BELOW, status=422)
    details = patient_records.ContactDetails(
        name=form.name.data,
        email=form.email.data or None,
        phone=form.phone.data or None,
        staff_notes=form.staff_notes.data or "",
        date_of_birth=getattr(form.date_of_birth, "born", None),
        address=form.address.data or "",
        postcode=form.postcode.data or "",
    )
    try:
        changed = patient_records.change_contact_details(
            patient, details, staff_user=signed_in_staff()
        )
    except DomainError as error:
        return _render_patient(patient, contact_form=form, problem=error.message, status=422)
    flash(
        "The patient's details have been saved." if changed else "Nothing had changed.",
        "success",
    )
    return redirect(url_for(".patient", patient_id=patient.id))


@blueprint.get("/patients/<int:patient_id>/export.json")
@staff_required(*FRONT_DESK)
def patient_export(patient_id: int):
    patient = _patient_or_404(patient_id)
    access_log.record_read(signed_in_staff(), patient.id, "export")
    record = patient_records.export_record(patient, staff_user=signed_in_staff())
    return Response(
        json.dumps(record, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="patient-{patient.id}.json"',
            # Health data: neither the browser nor anything between may keep a copy.
            "Cache-Control": "no-store",
        },
    )


@blueprint.post("/patients/<int:patient_id>/erase")
@staff_required(Role.ADMIN)
def patient_erase(patient_id: int):
    patient = _patient_or_404(patient_id)
    form = EraseForm()
    if not form.validate():
        # The typed name is not put back into the page: an empty box asks for it afresh.
        if form.csrf_token.errors:
            return _render_patient(patient, erase_problem=FORM_EXPIRED, status=400)
        return _render_patient(
            patient, erase_problem=" ".join(form.confirm_name.errors), status=422
        )
    try:
        patient_records.erase_patient(
            patient, typed_name=form.confirm_name.data, staff_user=signed_in_staff()
        )
    except patient_records.PatientStillBooked as error:
        return _render_patient(patient, erase_problem=error.message, status=409)
    except DomainError as error:
        return _render_patient(patient, erase_problem=error.message, status=422)
    flash(
        "The record has been erased. Its appointments and courses stay, as an erased patient's.",
        "success",
    )
    return redirect(url_for(".patient", patient_id=patient.id))


@blueprint.route("/patients/<int:patient_id>/merge", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def patient_merge(patient_id: int):
    """Merge a duplicate record into this one: a review of both, then one button."""
    survivor = _patient_or_404(patient_id)
    other_id = whole_number(request.values.get("other"))
    duplicate = db.session.get(Patient, other_id) if other_id else None
    form = ConfirmForm()
    problem, status = None, 200
    if duplicate is None:
        problem, status = "Enter the patient number of the duplicate record.", 422
    elif duplicate.id == survivor.id:
        problem, status = "That is this patient: enter the duplicate's patient number.", 422
    elif form.validate_on_submit():
        try:
            moved = merge_patients(survivor, duplicate, staff_user=signed_in_staff())
        except DomainError as error:
            problem, status = error.message, 409
        else:
            rows = sum(count for name, count in moved.items() if name != "audit_events")
            flash(f"Merged: {rows} records moved to {survivor.name}.", "success")
            return redirect(url_for(".patient", patient_id=survivor.id))
    counts = {}
    if duplicate is not None:
        for who in (survivor, duplicate):
            counts[who.id] = db.session.scalar(
                select(func.count())
                .select_from(Appointment)
                .where(Appointment.patient_id == who.id)
            )
    return render_template(
        "diary/patient_merge.html",
        survivor=survivor,
        duplicate=duplicate,
        counts=counts,
        form=form,
        problem=problem,
    ), status
