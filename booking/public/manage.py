"""Manage-my-booking: view, cancel or reschedule through the signed link."""

from flask import flash, make_response, redirect, render_template, request, url_for

from booking.clinic import DomainError
from booking.clinic.appointments import (
    cancel_appointment,
    move_appointment,
    too_late_message,
    undo_cancellation,
)
from booking.clinic.change_policy import can_undo_cancellation, online_changes, undo_until
from booking.clinic.payments import deposit_policy
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db, limiter
from booking.models import AppointmentStatus, CancelledBy
from booking.presentation import format_start, parse_start
from booking.public import blueprint
from booking.public.forms import AppointmentChangeForm
from booking.public.links import appointment_from_token_or_404
from booking.public.picker import day_window, free_starts_by_day, parse_day, picker_context
from booking.validators import whole_number


def _changeable(appointment, now) -> bool:
    """Whether the patient may still change it online (outside the notice period)."""
    return online_changes(appointment, now=now, settings=clinic_settings()).allowed


@blueprint.get("/manage/<token>")
def manage(token: str):
    appointment = appointment_from_token_or_404(token)
    now = utcnow()
    cancelled = appointment.status == AppointmentStatus.CANCELLED
    return render_template(
        "public/manage.html",
        appointment=appointment,
        token=token,
        form=AppointmentChangeForm(),
        changeable=_changeable(appointment, now),
        upcoming=appointment.starts_at > now,
        undo_until=(
            undo_until(appointment, settings=clinic_settings())
            if can_undo_cancellation(appointment, now=now, settings=clinic_settings())
            else None
        ),
        # What a cancelled booking's deposit became: refunded, or still to refund.
        deposit=deposit_policy.standing(appointment) if cancelled else None,
    )


@blueprint.get("/appointment/<token>")
def view_appointment(token: str):
    """The read-only page that calendar events link to: nothing here changes the booking."""
    appointment = appointment_from_token_or_404(token, read_only=True)
    return render_template(
        "public/appointment_view.html",
        appointment=appointment,
        upcoming=appointment.starts_at > utcnow(),
    )


CANCELLED_MESSAGE = "Your appointment is cancelled. We have emailed you to confirm."


@blueprint.route("/manage/<token>/cancel", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def manage_cancel(token: str):
    """GET: the review ("Cancel this appointment?"); POST: the cancellation itself."""
    appointment = appointment_from_token_or_404(token)
    form = AppointmentChangeForm()
    if request.method == "GET":
        if not _changeable(appointment, utcnow()):
            return redirect(url_for(".manage", token=token))
        return render_template(
            "public/manage_cancel.html",
            appointment=appointment,
            token=token,
            form=form,
            # A patient cancelling online gives notice, so no fee: what the deposit does.
            deposit_words=deposit_policy.outcome(
                appointment, late=False, fee_pence=0
            ).patient_words(),
        )
    if form.validate_on_submit():
        try:
            cancel_appointment(
                appointment,
                reason="Cancelled online by the patient",
                seen_sequence=whole_number(form.sequence.data),
            )
        except DomainError as error:
            # A second tap (or a retry after a timeout) finds it cancelled by the first:
            # that is the result the patient asked for, not a failure.
            if _cancelled_by_patient(appointment):
                flash(CANCELLED_MESSAGE, "success")
            else:
                flash(error.message, "error")
        else:
            flash(CANCELLED_MESSAGE, "success")
    return redirect(url_for(".manage", token=token))


RESTORED_MESSAGE = "Your appointment is booked again. We have emailed you to confirm."


@blueprint.post("/manage/<token>/undo-cancel")
@limiter.limit("20 per hour")
def manage_undo_cancel(token: str):
    """Undo the patient's own cancellation of a few minutes ago, if the time is still free."""
    appointment = appointment_from_token_or_404(token)
    form = AppointmentChangeForm()
    if form.validate_on_submit():
        try:
            undo_cancellation(appointment)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(RESTORED_MESSAGE, "success")
    return redirect(url_for(".manage", token=token))


def _cancelled_by_patient(appointment) -> bool:
    db.session.refresh(appointment)
    return (
        appointment.status == AppointmentStatus.CANCELLED
        and appointment.cancelled_by == CancelledBy.PATIENT
    )


def _booked_at(appointment, start) -> bool:
    db.session.refresh(appointment)
    return appointment.status == AppointmentStatus.BOOKED and appointment.starts_at == start


MOVED_MESSAGE = "Your appointment has been moved. We have emailed you the new time."


@blueprint.get("/manage/<token>/reschedule/review")
def manage_reschedule_review(token: str):
    """The review before a move: from this time to that one, with one button to confirm."""
    appointment = appointment_from_token_or_404(token)
    start = parse_start(request.args.get("start"))
    if not _changeable(appointment, utcnow()) or start is None:
        return redirect(url_for(".manage_reschedule", token=token))
    return render_template(
        "public/manage_reschedule_review.html",
        appointment=appointment,
        token=token,
        form=AppointmentChangeForm(),
        start=start,
        ends_at=start + (appointment.ends_at - appointment.starts_at),
        deposit_paid=deposit_policy.paid_pence(appointment),
        format_start=format_start,
    )


@blueprint.route("/manage/<token>/reschedule", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def manage_reschedule(token: str):
    appointment = appointment_from_token_or_404(token)
    now = utcnow()
    if not _changeable(appointment, now):
        if appointment.status == AppointmentStatus.BOOKED:
            flash(too_late_message("moved"), "error")
        return redirect(url_for(".manage", token=token))

    form = AppointmentChangeForm()
    if request.method == "POST" and form.validate_on_submit():
        start = parse_start(request.form.get("start"))
        if start is None:
            flash("That time is not available. Please choose another.", "error")
        elif start == appointment.starts_at:
            # A second tap on "Move": the first already moved it here.
            flash(MOVED_MESSAGE, "success")
            return redirect(url_for(".manage", token=token))
        else:
            try:
                move_appointment(
                    appointment,
                    starts_at=start,
                    now=now,
                    seen_sequence=whole_number(form.sequence.data),
                )
            except DomainError as error:
                # A second tap sent before the first's answer: it read the old time, then
                # found the appointment changed by the first, which moved it here.
                if _booked_at(appointment, start):
                    flash(MOVED_MESSAGE, "success")
                    return redirect(url_for(".manage", token=token))
                flash(error.message, "error")
            else:
                flash(MOVED_MESSAGE, "success")
                return redirect(url_for(".manage", token=token))

    first, last, today, limit = day_window(parse_day(request.args.get("first")), now=now)
    free = free_starts_by_day(
        appointment.session_type,
        appointment.practitioner,
        first,
        last,
        now=now,
        ignore_appointment_id=appointment.id,
    )
    return render_template(
        "public/manage_reschedule.html",
        appointment=appointment,
        token=token,
        form=form,
        **picker_context(
            free,
            first,
            last,
            today,
            limit,
            session_type=appointment.session_type,
            practitioner=appointment.practitioner,
        ),
    )


@blueprint.get("/manage/<token>/appointment.ics")
def manage_calendar_file(token: str):
    """The appointment as an .ics file for "Add to calendar"."""
    from booking.clinic import calendar

    appointment = appointment_from_token_or_404(token)
    response = make_response(calendar.download([appointment]))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
