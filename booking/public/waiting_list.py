"""The public waiting list: join when no time suits, claim an offered time, leave.

The patient's links carry only signed tokens of random uids (booking.clinic.tokens); a
link opened by a mail scanner changes nothing, since claiming and leaving are POSTs.
"""

from datetime import timedelta

from flask import abort, redirect, render_template, request, url_for
from wtforms import BooleanField
from wtforms.validators import DataRequired

from booking.clinic import DomainError
from booking.clinic.appointments import PatientDetails
from booking.clinic.localtime import local_today
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import (
    manage_token,
    offer_uid_from_token,
    waiting_token,
    waiting_uid_from_token,
)
from booking.clinic.waiting_list import (
    Wish,
    claim_offer,
    describe,
    entry_by_uid,
    join_waiting_list,
    offer_by_uid,
    remove_entry,
)
from booking.database import utcnow
from booking.extensions import limiter
from booking.models import OfferStatus, WaitingStatus
from booking.public import blueprint
from booking.public.forms import ConfirmForm, ContactDetailsForm
from booking.public.picker import ANY, practitioner_choice, session_type_or_404
from booking.waiting_list_form import WishForm

DEFAULT_WEEKS = 4


class JoinForm(WishForm, ContactDetailsForm):
    consent = BooleanField(
        "I agree that the clinic may keep my details to offer me a time, and email me when "
        "one comes free.",
        validators=[DataRequired("We need your agreement to keep your details on the list.")],
    )


@blueprint.route("/book/<slug>/waiting-list", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def waiting_join(slug: str):
    session_type = session_type_or_404(slug)
    practitioner = practitioner_choice(session_type, request.args.get("practitioner"))
    now = utcnow()
    form = JoinForm()
    if not form.is_submitted():
        today = local_today(now, clinic_settings().zone)
        form.until.data = today + timedelta(weeks=DEFAULT_WEEKS)
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            entry = join_waiting_list(
                Wish(
                    session_type=session_type,
                    practitioner=practitioner,
                    weekdays="".join(form.weekdays.data or []),
                    parts_of_day="".join(form.parts_of_day.data or []),
                    until=form.until.data,
                ),
                PatientDetails(name=form.name.data, email=form.email.data, phone=form.phone.data),
                now=now,
            )
        except DomainError as error:
            problem, status = error.message, 422
        else:
            return redirect(url_for(".waiting_leave", token=waiting_token(entry.uid), joined=1))
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template(
        "public/waiting_join.html",
        form=form,
        session_type=session_type,
        practitioner=practitioner,
        times_url=url_for(
            ".book_times", slug=slug, practitioner=practitioner.slug if practitioner else ANY
        ),
        problem=problem,
    ), status


def _entry_or_404(token: str):
    uid = waiting_uid_from_token(token)
    entry = entry_by_uid(uid) if uid else None
    if entry is None:
        abort(404)
    return entry


@blueprint.route("/waiting-list/<token>", methods=["GET", "POST"])
def waiting_leave(token: str):
    """The patient's place on the list, with a button to leave it."""
    entry = _entry_or_404(token)
    form = ConfirmForm()
    if form.validate_on_submit():
        remove_entry(entry)
        return redirect(url_for(".waiting_leave", token=token))
    return render_template(
        "public/waiting_entry.html",
        entry=entry,
        wish=describe(entry),
        form=form,
        joined=request.args.get("joined") == "1",
        waiting=entry.status == WaitingStatus.WAITING,
    )


@blueprint.route("/waiting-list/offer/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def waiting_offer(token: str):
    uid = offer_uid_from_token(token)
    offer = offer_by_uid(uid) if uid else None
    if offer is None:
        abort(404)
    form = ConfirmForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            appointment = claim_offer(offer)
        except DomainError as error:
            problem, status = error.message, 409
        else:
            return redirect(url_for(".booking_confirmed", token=manage_token(appointment)))
    now = utcnow()
    still_open = offer.status == OfferStatus.OPEN and offer.expires_at > now
    return render_template(
        "public/waiting_offer.html",
        offer=offer,
        entry=offer.entry,
        form=form,
        problem=problem,
        still_open=still_open and problem is None,
        leave_url=url_for(".waiting_leave", token=waiting_token(offer.entry.uid)),
    ), status
