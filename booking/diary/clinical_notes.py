"""Treatment notes on the appointment page: write, sign, amend; the session types' templates.

Reception is refused every page here (403): it sees on the appointment page only whether
a note exists and is signed. A practitioner reads their own patients' notes and writes
their own appointments' notes; an admin reads every note and edits the templates.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from booking.auth.access import ALL_STAFF, staff_required
from booking.clinic import DomainError
from booking.clinic.records import notes, outcomes, reviews
from booking.clinic.records.access import ClinicalRecordRefused, may_read_record
from booking.diary import blueprint
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import Appointment, Course, CourseReview, ReviewDecision, Role, SessionType
from booking.validators import Form, whole_number

CLINICIANS = (Role.ADMIN, Role.PRACTITIONER)
CORRECT_BELOW = "Please correct the highlighted answers below."


def _section_field(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            Length(
                max=notes.LONGEST_SECTION,
                message=f"Please keep this to {notes.LONGEST_SECTION} characters or fewer.",
            )
        ],
    )


class NoteForm(Form):
    version = HiddenField()
    subjective = _section_field("Subjective")
    objective = _section_field("Objective")
    assessment = _section_field("Assessment")
    plan = _section_field("Plan")
    points = _section_field("Points used")
    needle_count = TextAreaField(
        "Needle count", validators=[Length(max=10, message="A whole number, please.")]
    )
    cupping_sites = _section_field("Cupping sites")
    massage_areas = _section_field("Massage areas")
    advice = _section_field("Advice given, including safety advice")

    def content(self) -> notes.NoteContent:
        return notes.NoteContent(
            **{name: getattr(self, name).data or "" for name, _ in notes.SECTIONS}
        )


class AmendForm(Form):
    section = SelectField(
        "Section to correct", choices=[SelectChoice(name, label) for name, label in notes.SECTIONS]
    )
    text = _section_field("Corrected text")
    reason = TextAreaField(
        "Reason for the correction",
        validators=[Length(max=notes.LONGEST_REASON, message="Up to 500 characters.")],
    )


class TemplateForm(Form):
    subjective = _section_field("Subjective")
    objective = _section_field("Objective")
    assessment = _section_field("Assessment")
    plan = _section_field("Plan")
    advice = _section_field("Advice given, including safety advice")


def _appointment_or_404(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    return appointment


def _render_note(
    appointment: Appointment,
    *,
    status: int = 200,
    note_form: NoteForm | None = None,
    amend_form: AmendForm | None = None,
    problem: str | None = None,
):
    staff_user = signed_in_staff()
    try:
        note = notes.open_note(appointment, staff_user)
    except ClinicalRecordRefused:
        abort(403)
    writer = notes.may_write(appointment, staff_user)
    if note_form is None:
        note_form = NoteForm(formdata=None)
        content = notes.content_of(note) if note else notes.blank_content(appointment)
        for name, _ in notes.SECTIONS:
            getattr(note_form, name).data = getattr(content, name)
        note_form.version.data = str(note.version) if note else ""
    return render_template(
        "diary/treatment_note.html",
        appointment=appointment,
        note=note,
        writer=writer,
        note_form=note_form,
        amend_form=amend_form or AmendForm(formdata=None),
        current=notes.current_content(note) if note else None,
        history=notes.history(note) if note else [],
        sections=notes.SECTIONS,
        checkpoint=outcomes.checkpoint_of(appointment),
        problem=problem,
    ), status


@blueprint.get("/appointments/<int:appointment_id>/treatment-note")
@staff_required(*CLINICIANS)
def treatment_note(appointment_id: int):
    return _render_note(_appointment_or_404(appointment_id))


@blueprint.post("/appointments/<int:appointment_id>/treatment-note")
@staff_required(*CLINICIANS)
def treatment_note_save(appointment_id: int):
    appointment = _appointment_or_404(appointment_id)
    staff_user = signed_in_staff()
    if not notes.may_write(appointment, staff_user):
        abort(403)
    form = NoteForm()
    if not form.validate_on_submit():
        return _render_note(appointment, status=422, note_form=form, problem=CORRECT_BELOW)
    seen = whole_number(form.version.data)
    try:
        note = notes.save_draft(
            appointment, form.content(), staff_user=staff_user, seen_version=seen
        )
    except DomainError as error:
        return _render_note(appointment, status=409, note_form=form, problem=error.message)
    if request.form.get("action") != "sign":
        flash("The draft note has been saved. Sign it when it is complete.", "success")
        return redirect(url_for(".treatment_note", appointment_id=appointment.id))
    try:
        notes.sign_note(appointment, staff_user=staff_user, seen_version=note.version)
    except DomainError as error:
        # The draft was saved: the form goes on from its new version, so saving it again
        # is not taken for a change made in another window.
        form.version.data = str(note.version)
        return _render_note(appointment, status=409, note_form=form, problem=error.message)
    flash("The note is signed and locked. Corrections from now on are amendments.", "success")
    return redirect(url_for(".treatment_note", appointment_id=appointment.id))


@blueprint.post("/appointments/<int:appointment_id>/treatment-note/amend")
@staff_required(*CLINICIANS)
def treatment_note_amend(appointment_id: int):
    appointment = _appointment_or_404(appointment_id)
    staff_user = signed_in_staff()
    if not notes.may_write(appointment, staff_user):
        abort(403)
    form = AmendForm()
    if not form.validate_on_submit():
        return _render_note(appointment, status=422, amend_form=form, problem=CORRECT_BELOW)
    try:
        notes.amend_note(
            appointment,
            section=form.section.data or "",
            text=form.text.data or "",
            reason=form.reason.data or "",
            staff_user=staff_user,
        )
    except DomainError as error:
        return _render_note(appointment, status=409, amend_form=form, problem=error.message)
    flash("The amendment has been added to the note's history.", "success")
    return redirect(url_for(".treatment_note", appointment_id=appointment.id))


@blueprint.route("/session-types/<int:session_type_id>/note-template", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def note_template(session_type_id: int):
    session_type = db.session.get(SessionType, session_type_id)
    if session_type is None:
        abort(404)
    form = TemplateForm()
    problem, status = None, 200
    if not form.is_submitted():
        for name, text in notes.template_prompts(session_type).items():
            getattr(form, name).data = text
    elif form.validate_on_submit():
        try:
            notes.save_template(
                session_type,
                {name: getattr(form, name).data or "" for name in notes.TEMPLATE_SECTIONS},
                staff_user=signed_in_staff(),
            )
        except DomainError as error:
            problem, status = error.message, 409
        else:
            flash(f"The note template for {session_type.name} has been saved.", "success")
            return redirect(url_for(".note_template", session_type_id=session_type.id))
    else:
        problem, status = CORRECT_BELOW, 422
    return render_template(
        "diary/note_template.html", session_type=session_type, form=form, problem=problem
    ), status


@blueprint.app_context_processor
def inject_clinical_panel():
    return {
        "clinical_panel": clinical_panel,
        "course_stopped": course_stopped,
        "reviews_due": reviews_due,
    }


def reviews_due(appointments: list[Appointment]) -> list[Appointment]:
    """Of the diary's appointments, the signed-in practitioner's middle sessions of a
    course whose mid-course review is not made yet: the diary's prompt."""
    staff_user = signed_in_staff()
    return [
        appointment
        for appointment in appointments
        if appointment.course_id is not None
        and notes.may_write(appointment, staff_user)
        and reviews.review_due(appointment)
    ]


def course_stopped(course: Course) -> CourseReview | None:
    """The practitioner's decision to stop this course, if made: reception refunds it.

    Only the decision and the refundable credits and amount; the review's note is clinical.
    """
    review = reviews.review_of(course)
    return review if review is not None and review.decision == ReviewDecision.STOP else None


def clinical_panel(appointment: Appointment) -> dict:
    """What the appointment page shows of the clinical record to the signed-in member of staff.

    Everyone sees whether a note exists and is signed (reception's "is it complete?");
    only those who may read the record get the link to it.
    """
    staff_user = signed_in_staff()
    note = notes.note_of(appointment)
    checkpoint = outcomes.checkpoint_of(appointment)
    recorded = (
        outcomes.record_of(appointment.course, checkpoint)
        if checkpoint is not None and appointment.course is not None
        else None
    )
    return {
        "may_read": may_read_record(staff_user, appointment.patient_id),
        "may_write": notes.may_write(appointment, staff_user),
        "note_status": "signed" if note and note.is_signed else "draft" if note else None,
        "checkpoint": checkpoint,
        "checkpoint_label": outcomes.CHECKPOINT_LABELS[checkpoint] if checkpoint else None,
        "scores_recorded": recorded is not None,
        "review_due": reviews.review_due(appointment) if checkpoint else False,
        "review": reviews.review_of(appointment.course) if appointment.course else None,
        "roles": ALL_STAFF,
    }
