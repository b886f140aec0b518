"""Outcomes on the staff side: the course's chart, the desk's score form, the mid-course review."""

from typing import TYPE_CHECKING

from flask import abort, flash, make_response, redirect, render_template, url_for
from markupsafe import Markup
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from booking.auth.access import ALL_STAFF, staff_required
from booking.clinic import DomainError
from booking.clinic.records import outcomes, reviews
from booking.clinic.records.access import ClinicalRecordRefused, open_record
from booking.diary import blueprint
from booking.diary.hand_over import to_the_hand_over
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import Appointment, Course, Patient, ReviewDecision, Role
from booking.validators import Form

if TYPE_CHECKING:
    from booking.clinic.records import documents

CLINICIANS = (Role.ADMIN, Role.PRACTITIONER)


class ReviewForm(Form):
    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice(decision.value, label)
            for decision, label in reviews.DECISION_LABELS.items()
        ],
        validators=[InputRequired("Choose continue, change the plan or stop.")],
    )
    note = TextAreaField(
        "Note (optional)",
        validators=[Length(max=reviews.LONGEST_REVIEW_NOTE, message="Up to 1000 characters.")],
    )


@blueprint.get("/courses/<int:course_id>/outcomes")
@staff_required(*CLINICIANS)
def course_outcomes(course_id: int):
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    try:
        open_record(signed_in_staff(), course.patient_id, "outcomes")
    except ClinicalRecordRefused:
        abort(403)
    points = outcomes.course_outcomes(course)
    activity_names = []
    for point in points:
        for activity in point.activities:
            if activity.name not in activity_names:
                activity_names.append(activity.name)
    return render_template(
        "diary/course_outcomes.html",
        course=course,
        points=points,
        activity_names=activity_names,
        chart=Markup(outcomes.chart_svg(points)) if points else None,  # noqa: S704 - escaped
        summary=outcomes.summary(points),
        labels=outcomes.CHECKPOINT_LABELS,
        review=reviews.review_of(course),
        decision_labels=reviews.DECISION_LABELS,
    )


@blueprint.get("/appointments/<int:appointment_id>/outcome-form")
@staff_required(*ALL_STAFF)
def outcome_desk_form(appointment_id: int):
    """Once the patient's score form opened in a staff session; now the tablet hand-over."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or outcomes.checkpoint_of(appointment) is None:
        abort(404)
    return to_the_hand_over(appointment, "score form")


@blueprint.post("/appointments/<int:appointment_id>/review")
@staff_required(*CLINICIANS)
def course_review(appointment_id: int):
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    form = ReviewForm()
    if not form.validate_on_submit():
        problems = [message for errors in form.errors.values() for message in errors]
        flash(" ".join(str(problem) for problem in problems) or "Choose a decision.", "error")
        return redirect(url_for(".appointment", appointment_id=appointment.id))
    try:
        review = reviews.record_review(
            appointment,
            ReviewDecision(form.decision.data),
            note=form.note.data or "",
            staff_user=signed_in_staff(),
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        label = reviews.DECISION_LABELS[ReviewDecision(review.decision)]
        message = f"Mid-course review recorded: {label.lower()}."
        if review.decision == ReviewDecision.STOP:
            message += (
                f" {review.refundable_credits} unused credits are marked refundable; reception "
                "arranges the refund and cancels any sessions still booked."
            )
        flash(message, "success")
    return redirect(url_for(".appointment", appointment_id=appointment.id))


def _pdf_response(document: "documents.Document"):
    response = make_response(document.content)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


@blueprint.get("/patients/<int:patient_id>/clinical-record.pdf")
@staff_required(*CLINICIANS)
def patient_record_pdf(patient_id: int):
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    try:
        open_record(signed_in_staff(), patient.id, "record_pdf")
    except ClinicalRecordRefused:
        abort(403)
    from booking.clinic.records import documents  # fpdf2 loads only to draw a PDF

    return _pdf_response(documents.patient_record_pdf(patient))


@blueprint.get("/courses/<int:course_id>/gp-letter.pdf")
@staff_required(*CLINICIANS)
def gp_letter(course_id: int):
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    try:
        open_record(signed_in_staff(), course.patient_id, "gp_letter")
    except ClinicalRecordRefused:
        abort(403)
    from booking.clinic.records import documents  # fpdf2 loads only to draw a PDF

    return _pdf_response(documents.gp_letter_pdf(course))
