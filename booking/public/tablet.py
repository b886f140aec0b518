"""The patient's side of the desk's tablet: their appointment's questionnaire, consent and
checkpoint scores, and the locked screen that follows.

Open only while the browser holds a hand-over (booking.auth.tablet_lock), made when a
member of staff handed the tablet over from the appointment page; this browser then has
no staff session. Nothing already on file is shown back; every form leads to the next
one still to do, and the last to the locked screen.
"""

from flask import redirect, render_template, url_for

from booking.auth import tablet_lock
from booking.clinic.records import consent, outcomes
from booking.clinic.records.tablet import HANDED_OVER_FOR, TabletStep, steps_left
from booking.extensions import limiter
from booking.models import RecordMethod
from booking.public import blueprint
from booking.public.forms import OutcomeForm
from booking.record_forms import fill, fill_consent, fill_intake, render_filled


def _next(handover: tablet_lock.Handover | None):
    """Where the tablet goes next: the first form still to do, or the locked screen."""
    if handover is not None and handover.appointment.status in HANDED_OVER_FOR:
        steps = steps_left(handover.appointment)
        if TabletStep.QUESTIONNAIRE in steps:
            return redirect(url_for(".tablet_questionnaire"))
        if TabletStep.CONSENT in steps:
            return redirect(url_for(".tablet_consent"))
        if TabletStep.SCORES in steps:
            return redirect(url_for(".tablet_scores"))
    tablet_lock.lock()
    return redirect(url_for(".tablet_locked"))


@blueprint.get("/tablet")
def tablet():
    return _next(tablet_lock.current_handover())


@blueprint.route("/tablet/questionnaire", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def tablet_questionnaire():
    handover = tablet_lock.current_handover()
    if handover is None or TabletStep.QUESTIONNAIRE not in steps_left(handover.appointment):
        return _next(handover)
    appointment = handover.appointment
    filled = fill_intake(appointment, method=RecordMethod.DESK, staff_user=handover.staff_user)
    if filled.saved:
        return _next(handover)
    return render_filled(
        "records/intake_form.html", filled, appointment, at_desk=False, on_tablet=True
    )


@blueprint.route("/tablet/consent", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def tablet_consent():
    handover = tablet_lock.current_handover()
    if handover is None or TabletStep.CONSENT not in steps_left(handover.appointment):
        return _next(handover)
    appointment = handover.appointment
    filled = fill_consent(
        appointment,
        consent.wordings_to_agree(appointment),
        method=RecordMethod.DESK,
        staff_user=handover.staff_user,
    )
    if filled.saved:
        return _next(handover)
    return render_filled(
        "records/consent_form.html", filled, appointment, at_desk=False, on_tablet=True
    )


@blueprint.route("/tablet/scores", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def tablet_scores():
    handover = tablet_lock.current_handover()
    if handover is None or TabletStep.SCORES not in steps_left(handover.appointment):
        return _next(handover)
    appointment = handover.appointment
    course, checkpoint = appointment.course, outcomes.checkpoint_of(appointment)
    assert course is not None and checkpoint is not None  # a SCORES step says so
    names = outcomes.named_activities(course)
    form = OutcomeForm()
    filled = fill(
        form,
        lambda: outcomes.record_outcome(
            appointment,
            pain=form.pain_score(),
            activities=form.given(names),
            method=RecordMethod.DESK,
            staff_user=handover.staff_user,
        ),
    )
    if filled.saved:
        return _next(handover)
    return render_filled(
        "public/outcome_form.html",
        filled,
        appointment,
        names=names,
        checkpoint_label=outcomes.CHECKPOINT_LABELS[checkpoint],
        on_tablet=True,
    )


@blueprint.get("/tablet/locked")
def tablet_locked():
    handover = tablet_lock.current_handover()
    if handover is not None:
        # Still handed over with forms to do: the patient carries on.
        return _next(handover)
    appointment_id = tablet_lock.locked_for()
    unlock_to = (
        url_for("diary.appointment", appointment_id=appointment_id)
        if appointment_id is not None
        else url_for("diary.day")
    )
    return render_template(
        "records/tablet_locked.html", sign_in=url_for("auth.sign_in", next=unlock_to)
    )
