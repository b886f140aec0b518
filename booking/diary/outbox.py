"""The outbox page: messages waiting, given up and sent, in plain words; a search by patient
(by POST, so no name lands in a URL) and resend."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError, communications
from booking.clinic import outbox as outbox_domain
from booking.clinic.patients import search_patients
from booking.diary import blueprint
from booking.diary.forms import PatientSearchForm, no_patient_matches
from booking.validators import site_path


@blueprint.route("/outbox", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def outbox():
    messages = outbox_domain.waiting_messages()
    form = PatientSearchForm()
    found, searched = [], False
    if form.validate_on_submit():
        patients = search_patients(form.query.data)
        found, searched = communications.patients_log(patients), True
    return render_template(
        "diary/outbox.html",
        messages=messages,
        failed=[m for m in messages if m.status == "failed"],
        pending=[m for m in messages if m.status == "pending"],
        sent=communications.sent_messages(),
        words=communications.in_words,
        form=form,
        found=found,
        searched=searched,
        no_match=no_patient_matches(form.query.data or ""),
        max_attempts=outbox_domain.MAX_ATTEMPTS,
    ), (422 if form.is_submitted() and form.errors else 200)


@blueprint.post("/outbox/<int:message_id>/retry")
@staff_required(*FRONT_DESK)
def outbox_retry(message_id: int):
    try:
        outbox_domain.retry(message_id, staff_user=current_user._get_current_object())
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("The message is back in the queue and will be sent again shortly.", "success")
    return redirect(url_for(".outbox"))


@blueprint.post("/messages/<int:message_id>/resend")
@staff_required(*FRONT_DESK)
def message_resend(message_id: int):
    """Send a copy of a message again (a patient says they never had it)."""
    from booking.diary.forms import ConfirmForm

    back = site_path(request.form.get("back"), under="/diary/") or url_for(".outbox")
    if not ConfirmForm().validate_on_submit():
        flash("The form had expired, so nothing was done. Please try again.", "error")
        return redirect(back)
    try:
        copy = communications.resend(message_id, staff_user=current_user._get_current_object())
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            f"A copy is queued for sending to {communications.masked(copy.recipient)}.",
            "success",
        )
    return redirect(back)
