"""The link a new patient opens to keep a booking held until they confirm their email.

Opening it (GET) only shows the held booking with one button, "Confirm my booking": mail
scanners open links before the patient does, so a GET must change nothing. The button
(a POST with its CSRF token) books the held time (`booking.clinic.email_confirmation`)
and lands on the booking's confirmed page; opening the link after that lands there too.
A hold the worker has released says so and offers the same treatment's times again.
"""

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import select

from booking.clinic import DomainError
from booking.clinic.email_confirmation import LinkOutcome, confirm_from_link, link_standing
from booking.clinic.localtime import to_local
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import appointment_uid_from_confirm_email_token, manage_token
from booking.database import utcnow
from booking.extensions import db, limiter
from booking.models import Appointment
from booking.public import blueprint
from booking.public.forms import ConfirmForm

TEMPLATE = "public/confirm_email.html"
NOT_SENT = "Your confirmation did not reach us. Please press the button again."


@blueprint.route("/book/confirm-email/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour")
def confirm_email(token: str):
    uid = appointment_uid_from_confirm_email_token(token)
    appointment = None
    if uid is not None:
        appointment = db.session.scalar(select(Appointment).where(Appointment.uid == uid))
    if appointment is None:
        abort(404)
    form = ConfirmForm()
    problem = None
    try:
        if request.method == "POST" and form.validate_on_submit():
            outcome = confirm_from_link(appointment, now=utcnow())
        else:
            outcome = link_standing(appointment)
            if request.method == "POST":
                problem = NOT_SENT
    except DomainError as error:
        return render_template(TEMPLATE, appointment=appointment, problem=error.message), 409
    if outcome in (LinkOutcome.BOOKED, LinkOutcome.ALREADY):
        # 303 after the button: the browser follows with a GET.
        code = 303 if request.method == "POST" else 302
        return redirect(url_for(".booking_confirmed", token=manage_token(appointment)), code)
    if outcome == LinkOutcome.WAITING:
        return render_template(
            TEMPLATE, appointment=appointment, outcome=outcome.value, form=form, problem=problem
        ), (400 if problem else 200)
    day = to_local(appointment.starts_at, clinic_settings().zone).date().isoformat()
    return render_template(
        TEMPLATE,
        appointment=appointment,
        outcome=outcome.value,
        # The same day's times, where the released time may still be free.
        times_url=url_for(
            ".book_times",
            slug=appointment.session_type.slug,
            practitioner=appointment.practitioner.slug,
            first=day,
            day=day,
        )
        + "#times",
    )
