"""My bookings: ask for a link by email, then one page with every appointment and course."""

import time

from flask import redirect, render_template, url_for
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from booking.clinic import my_bookings
from booking.clinic.tokens import course_token, manage_token
from booking.database import utcnow
from booking.extensions import limiter
from booking.public import blueprint
from booking.public.forms import ConfirmForm
from booking.validators import DeliverableEmail, Form

# Every answer to the form takes at least this long, so that how long it took does not
# tell whether the clinic knows the address (the known one also queues an email).
ANSWER_FLOOR_SECONDS = 0.4


class MyBookingsForm(Form):
    email = StringField(
        "Email address",
        validators=[
            DataRequired("Enter the email address you booked with."),
            Length(max=254, message="That email address is too long."),
            DeliverableEmail(),
        ],
    )


@blueprint.route("/my-bookings", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def my_bookings_request():
    started = time.monotonic()
    form = MyBookingsForm()
    if form.validate_on_submit():
        my_bookings.send_link(form.email.data)
        # The same page whether or not the address is known, after the same wait.
        time.sleep(max(0.0, ANSWER_FLOOR_SECONDS - (time.monotonic() - started)))
        return render_template("public/my_bookings_sent.html")
    problem = "Please correct the highlighted answer below." if form.is_submitted() else None
    return render_template("public/my_bookings_request.html", form=form, problem=problem), (
        422 if problem else 200
    )


@blueprint.route("/my-bookings/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def my_bookings_list(token: str):
    email = my_bookings.email_from_token(token)
    if email is None:
        return render_template("public/my_bookings_expired.html", form=MyBookingsForm()), 410
    now = utcnow()
    form = ConfirmForm()
    if form.validate_on_submit():
        # The link reached the patient at this address: it is theirs, as a confirmation
        # link would have shown. Only on the button: mail scanners open links too.
        my_bookings.confirm_address(email, now=now)
        return redirect(url_for(".my_bookings_list", token=token), 303)
    if my_bookings.address_to_confirm(email):
        return render_template("public/my_bookings_confirm.html", form=form)
    return render_template(
        "public/my_bookings_list.html",
        bookings=my_bookings.bookings_for(email, now=now),
        manage_token=manage_token,
        course_token=course_token,
        now=now,
    )
