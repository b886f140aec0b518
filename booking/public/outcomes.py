"""The patient's score form at a checkpoint session, through its signed link."""

from flask import abort, render_template

from booking.clinic.records import outcomes
from booking.extensions import db
from booking.models import Appointment
from booking.public import blueprint
from booking.public.forms import OutcomeForm
from booking.record_forms import fill, render_filled


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
    filled = fill(
        form,
        lambda: outcomes.record_outcome(
            appointment, pain=form.pain_score(), activities=form.given(names), method=method
        ),
    )
    if filled.saved:
        return render_template("public/outcome_done.html", reason="thanks")
    return render_filled(
        "public/outcome_form.html",
        filled,
        appointment,
        names=names,
        checkpoint_label=outcomes.CHECKPOINT_LABELS[checkpoint],
    )
