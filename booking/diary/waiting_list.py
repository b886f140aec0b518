"""The waiting list at the desk: who is waiting, offer a time by hand, add a caller, remove."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError
from booking.clinic.local_wording import format_local_time
from booking.clinic.localtime import local_today
from booking.clinic.settings import clinic_settings
from booking.clinic.waiting_list import (
    Wish,
    add_caller,
    describe,
    free_matching_starts,
    offer_time_by_hand,
    offers_for,
    recently_booked,
    remove_entry,
    waiting_entries,
)
from booking.database import utcnow
from booking.diary import blueprint
from booking.diary.forms import ConfirmForm
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import Patient, Practitioner, SessionType, WaitingListEntry
from booking.presentation import format_start, parse_start
from booking.waiting_list_form import WishForm

ANYONE = 0


class CallerForm(WishForm):
    session_type_id = SelectField("Session", coerce=int)
    practitioner_id = SelectField("Practitioner", coerce=int)


def _entry_or_404(entry_id: int) -> WaitingListEntry:
    entry = db.session.get(WaitingListEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


@blueprint.get("/waiting-list")
@staff_required(*FRONT_DESK)
def waiting_list():
    entries = waiting_entries()
    return render_template(
        "diary/waiting_list.html",
        entries=entries,
        wishes={entry.id: describe(entry) for entry in entries},
        offers=offers_for(entries),
        booked=recently_booked(),
        form=ConfirmForm(),
        now=utcnow(),
    )


@blueprint.post("/waiting-list/<int:entry_id>/remove")
@staff_required(*FRONT_DESK)
def waiting_list_remove(entry_id: int):
    entry = _entry_or_404(entry_id)
    if ConfirmForm().validate_on_submit():
        try:
            remove_entry(entry, staff_user=signed_in_staff())
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"{entry.patient.name} is no longer on the waiting list.", "success")
    else:
        flash("The form had expired, so nothing was done. Please try again.", "error")
    return redirect(url_for(".waiting_list"))


@blueprint.route("/waiting-list/<int:entry_id>/offer", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def waiting_list_offer(entry_id: int):
    entry = _entry_or_404(entry_id)
    form = ConfirmForm()
    problem, status = None, 200
    if form.validate_on_submit():
        start = parse_start(request.form.get("start"))
        practitioner_id = request.form.get("practitioner_id", type=int)
        practitioner = db.session.get(Practitioner, practitioner_id) if practitioner_id else None
        if start is None or practitioner is None:
            problem, status = "Choose one of the free times below.", 422
        else:
            try:
                offer = offer_time_by_hand(entry, practitioner, start, staff_user=signed_in_staff())
            except DomainError as error:
                problem, status = error.message, 409
            else:
                # Queued, not yet sent: the outbox's worker sends it (the Outbox page shows it).
                flash(
                    f"The time is offered to {entry.patient.name}: an email to "
                    f"{entry.patient.email} is queued for sending. The offer is open until "
                    f"{format_local_time(offer.expires_at)}.",
                    "success",
                )
                return redirect(url_for(".waiting_list"))
    elif form.is_submitted():
        problem, status = "The form had expired, so nothing was done. Please try again.", 400
    now = utcnow()
    return render_template(
        "diary/waiting_list_offer.html",
        entry=entry,
        wish=describe(entry),
        times=free_matching_starts(entry, now=now, settings=clinic_settings(), limit=30),
        format_start=format_start,
        form=form,
        problem=problem,
    ), status


def _choices(form: CallerForm) -> None:
    session_types = db.session.scalars(
        select(SessionType).where(SessionType.active.is_(True)).order_by(SessionType.position)
    )
    form.session_type_id.choices = [SelectChoice(s.id, s.name) for s in session_types]
    practitioners = db.session.scalars(
        select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.position)
    )
    form.practitioner_id.choices = [SelectChoice(ANYONE, "Anyone")] + [
        SelectChoice(p.id, p.name) for p in practitioners
    ]


@blueprint.route("/patients/<int:patient_id>/waiting-list", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def waiting_list_add(patient_id: int):
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    form = CallerForm()
    _choices(form)
    if not form.is_submitted():
        today = local_today(utcnow(), clinic_settings().zone)
        form.until.data = today + timedelta(weeks=4)
    problem, status = None, 200
    if form.validate_on_submit():
        session_type = db.session.get(SessionType, form.session_type_id.data)
        practitioner = (
            db.session.get(Practitioner, form.practitioner_id.data)
            if form.practitioner_id.data
            else None
        )
        try:
            if session_type is None:
                raise DomainError("Choose a session.")
            add_caller(
                patient,
                Wish(
                    session_type=session_type,
                    practitioner=practitioner,
                    weekdays="".join(form.weekdays.data or []),
                    parts_of_day="".join(form.parts_of_day.data or []),
                    until=form.until.data,
                ),
                staff_user=signed_in_staff(),
            )
        except DomainError as error:
            problem, status = error.message, 422
        else:
            if patient.email:
                told = (
                    f"An email saying so to {patient.email} is queued for sending; times that "
                    "come free will be offered to them by email."
                )
            else:
                # The worker emails offers; without an address nobody is offered anything.
                told = (
                    "They have no email address, so no time can be offered to them by email: "
                    "when one comes free, phone them and book it from the diary."
                )
            flash(f"{patient.name} is on the waiting list. {told}", "success")
            return redirect(url_for(".waiting_list"))
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template(
        "diary/waiting_list_add.html", patient=patient, form=form, problem=problem
    ), status
