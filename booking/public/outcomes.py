"""The patient's score form at a checkpoint session, through its signed link."""

from flask import abort, render_template
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from booking.clinic import DomainError
from booking.clinic.records import outcomes
from booking.extensions import db
from booking.models import Appointment
from booking.public import blueprint
from booking.validators import Form

SCORES = [SelectChoice("", "Choose a score")] + [
    SelectChoice(str(score), str(score)) for score in range(11)
]


def _score_field(label: str) -> SelectField:
    return SelectField(label, choices=SCORES, default="")


class OutcomeForm(Form):
    pain = _score_field("Your pain today, from 0 (no pain) to 10 (the worst you can imagine)")
    activity_1 = StringField("Activity 1", validators=[Length(max=outcomes.LONGEST_ACTIVITY)])
    score_1 = _score_field("How well you can do it, from 0 (not at all) to 10 (as before)")
    activity_2 = StringField("Activity 2", validators=[Length(max=outcomes.LONGEST_ACTIVITY)])
    score_2 = _score_field("How well you can do it, from 0 (not at all) to 10 (as before)")
    activity_3 = StringField("Activity 3", validators=[Length(max=outcomes.LONGEST_ACTIVITY)])
    score_3 = _score_field("How well you can do it, from 0 (not at all) to 10 (as before)")


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


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
        given = [
            (
                getattr(form, f"activity_{number}").data or "",
                _number(getattr(form, f"score_{number}").data),
            )
            for number in range(1, 4)
        ]
        if names:
            given = given[: len(names)]
        try:
            outcomes.record_outcome(
                appointment, pain=_number(form.pain.data), activities=given, method=method
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
