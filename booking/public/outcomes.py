"""The patient's score form at a checkpoint session, through its signed link."""

from flask import abort, render_template

from booking.clinic import DomainError
from booking.clinic.records import outcomes
from booking.extensions import db
from booking.models import Appointment
from booking.public import blueprint
from booking.public.forms import OutcomeForm


@blueprint.route("/outcomes/<token>", methods=["GET", "POST"])
def outcome_scores(token: str):
    found = outcomes.read_outcome_token(token)
    if found is None:
        abort(404)
    uid, method = found
    appointment = db.session.query(Appointment).filter_by(uid=uid).one_or_none()
    if appointment is None or appointment.course is None:
        abort(404)
    checkpoint = outcomes.checkpoint_of(appointment)
    if checkpoint is None:
        return render_template("public/outcome_done.html", reason="not_checkpoint"), 410
    if outcomes.record_of(appointment.course, checkpoint) is not None:
        return render_template("public/outcome_done.html", reason="recorded")
    names = outcomes.named_activities(appointment.course)
    form = OutcomeForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            outcomes.record_outcome(
                appointment, pain=form.pain_score(), activities=form.given(names), method=method
            )
        except DomainError as error:
            problem, status = error.message, 422
        else:
            return render_template("public/outcome_done.html", reason="thanks")
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template(
        "public/outcome_form.html",
        form=form,
        appointment=appointment,
        names=names,
        checkpoint_label=outcomes.CHECKPOINT_LABELS[checkpoint],
        problem=problem,
    ), status
