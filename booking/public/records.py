"""The patient's side of the clinical record: intake and consent, and the pre-visit check.

Reached only through signed links (the confirmation and reminder emails); the address
holds a token signing the appointment's random uid, nothing about the patient. Nothing
already on file is ever shown back here: whoever holds the link can add answers, never
read them.
"""

from flask import redirect, render_template, url_for

from booking.clinic import DomainError
from booking.clinic.records import consent, intake, red_flags
from booking.clinic.tokens import (
    appointment_uid_from_check_token,
    appointment_uid_from_intake_token,
)
from booking.database import utcnow
from booking.extensions import limiter
from booking.models import RecordMethod
from booking.public import blueprint
from booking.public.forms import RedFlagQuestions
from booking.public.links import appointment_by_uid_or_404
from booking.record_forms import PROBLEM, fill_consent, fill_intake, render_filled


@blueprint.route("/intake/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def intake_questions(token: str):
    appointment = appointment_by_uid_or_404(appointment_uid_from_intake_token(token))
    if intake.intake_status(appointment.patient_id).complete:
        return redirect(url_for(".intake_consent", token=token))
    filled = fill_intake(appointment, method=RecordMethod.ONLINE)
    if filled.saved:
        return redirect(url_for(".intake_consent", token=token))
    return render_filled("records/intake_form.html", filled, appointment, at_desk=False)


@blueprint.route("/intake/<token>/consent", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def intake_consent(token: str):
    appointment = appointment_by_uid_or_404(appointment_uid_from_intake_token(token))
    if not intake.intake_status(appointment.patient_id).complete:
        return redirect(url_for(".intake_questions", token=token))
    wordings = consent.wordings_to_agree(appointment)
    if not wordings:
        return redirect(url_for(".intake_done", token=token))
    filled = fill_consent(appointment, wordings, method=RecordMethod.ONLINE)
    if filled.saved:
        return redirect(url_for(".intake_done", token=token))
    return render_filled("records/consent_form.html", filled, appointment, at_desk=False)


@blueprint.get("/intake/<token>/done")
def intake_done(token: str):
    appointment = appointment_by_uid_or_404(appointment_uid_from_intake_token(token))
    return render_template(
        "records/intake_done.html",
        appointment=appointment,
        complete=intake.intake_status(appointment.patient_id).complete,
        consent_needed=bool(consent.wordings_to_agree(appointment)),
        token=token,
    )


@blueprint.route("/check/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def pre_visit_check(token: str):
    appointment = appointment_by_uid_or_404(appointment_uid_from_check_token(token))
    if not red_flags.can_recheck(appointment, utcnow()):
        return render_template("records/check_closed.html", appointment=appointment)
    form = RedFlagQuestions()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            outcome = red_flags.record_recheck(
                appointment,
                {"cauda_equina": form.cauda_equina.data, "other_warning": form.other_warning.data},
            )
        except DomainError as error:
            problem, status = error.message, 409
        else:
            if outcome.advice is not None:
                return render_template(
                    "public/urgent_care.html", group=outcome.advice, cancelled=appointment
                )
            return render_template("records/check_clear.html", appointment=appointment)
    elif form.is_submitted():
        problem, status = PROBLEM, 422
    return render_template(
        "records/check_form.html", form=form, problem=problem, appointment=appointment
    ), status
