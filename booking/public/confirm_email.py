"""The link a new patient opens to keep a booking held until they confirm their email.

Opening it books the held time (`booking.clinic.email_confirmation`) and lands on the
booking's confirmed page; opening it again lands there too, changing nothing. A hold the
worker has released says so and offers the same treatment's times again.
"""

from flask import abort, redirect, render_template, url_for
from sqlalchemy import select

from booking.clinic import DomainError
from booking.clinic.email_confirmation import LinkOutcome, confirm_from_link
from booking.clinic.localtime import to_local
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import appointment_uid_from_confirm_email_token, manage_token
from booking.database import utcnow
from booking.extensions import db, limiter
from booking.models import Appointment
from booking.public import blueprint


@blueprint.get("/book/confirm-email/<token>")
@limiter.limit("30 per hour")
def confirm_email(token: str):
    uid = appointment_uid_from_confirm_email_token(token)
    appointment = None
    if uid is not None:
        appointment = db.session.scalar(select(Appointment).where(Appointment.uid == uid))
    if appointment is None:
        abort(404)
    try:
        outcome = confirm_from_link(appointment, now=utcnow())
    except DomainError as error:
        return render_template(
            "public/confirm_email.html", appointment=appointment, problem=error.message
        ), 409
    if outcome in (LinkOutcome.BOOKED, LinkOutcome.ALREADY):
        return redirect(url_for(".booking_confirmed", token=manage_token(appointment)))
    day = to_local(appointment.starts_at, clinic_settings().zone).date().isoformat()
    return render_template(
        "public/confirm_email.html",
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
