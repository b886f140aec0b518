"""Patients: search by name, email or phone, and each patient's page.

Searches are POSTed, never put in the query string: a patient's name or phone number
must not end up in a URL, a browser history or a server log.
"""

import re

from flask import abort, render_template
from sqlalchemy import func, or_, select

from booking.auth.access import FRONT_DESK, staff_required
from booking.diary import blueprint, grid
from booking.diary.forms import PatientSearchForm
from booking.extensions import db
from booking.models import Appointment, Course, Patient

SEARCH_LIMIT = 30


def search_patients(text: str, *, limit: int = SEARCH_LIMIT) -> list[Patient]:
    """Patients whose name or email contains `text`, or whose phone contains its digits."""
    text = " ".join(text.split()).lower()
    if len(text) < 2:
        return []
    pattern = f"%{_escape_like(text)}%"
    conditions = [
        func.lower(Patient.name).like(pattern, escape="\\"),
        Patient.email.like(pattern, escape="\\"),
    ]
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 4:
        stored_digits = func.replace(
            func.replace(func.replace(Patient.phone, " ", ""), "-", ""), "+", ""
        )
        conditions.append(stored_digits.like(f"%{digits}%"))
    return list(
        db.session.scalars(
            select(Patient).where(or_(*conditions)).order_by(Patient.name, Patient.id).limit(limit)
        )
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
        "diary/patients.html", form=form, found=found, searched=searched, recent=recent
    ), (422 if form.is_submitted() and form.errors else 200)


@blueprint.get("/patients/<int:patient_id>")
@staff_required(*FRONT_DESK)
def patient(patient_id: int):
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
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
    return render_template(
        "diary/patient.html",
        patient=patient,
        appointments=appointments,
        courses=courses,
        course_places=grid.course_positions(appointments),
        status_labels=grid.STATUS_LABELS,
    )
