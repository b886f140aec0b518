"""The online booking flow: session type -> practitioner -> day -> time -> details.

Each step is a plain page with links or a form, so it works without JavaScript.
The choices travel in the URL (session type, practitioner, a UTC start time);
nothing about the patient ever does.
"""

from collections.abc import Hashable
from datetime import datetime

from flask import flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address

from booking.clinic import DomainError, availability, holds
from booking.clinic.appointments import PatientDetails, book_appointment
from booking.clinic.feed_revisions import free_times_version
from booking.clinic.localtime import to_local
from booking.clinic.offerings import session_types_bookable_online
from booking.clinic.payments import deposit_policy, deposits
from booking.clinic.settings import clinic_settings, settings_generation, settings_values
from booking.clinic.tokens import manage_token
from booking.database import utcnow
from booking.extensions import limiter
from booking.models import AppointmentSource, HoldReason
from booking.presentation import parse_start
from booking.public import blueprint
from booking.public.checkout import pay_deposit
from booking.public.forms import PatientDetailsForm
from booking.public.links import appointment_from_token_or_404
from booking.public.page_cache import cached_until_changed
from booking.public.picker import (
    ANY,
    day_window,
    free_starts_by_day,
    parse_day,
    picker_context,
    practitioner_choice,
    practitioners_for,
    session_type_or_404,
)
from booking.public.safety import safety_stop, warning_sign_assessed


@blueprint.get("/book")
def book():
    return render_template("public/book_choose.html", session_types=session_types_bookable_online())


@blueprint.get("/book/<slug>")
def book_practitioner(slug: str):
    session_type = session_type_or_404(slug)
    practitioners = practitioners_for(session_type)
    if len(practitioners) == 1:
        # Nothing to choose: go straight to the days.
        return redirect(url_for(".book_times", slug=slug, practitioner=practitioners[0].slug))
    return render_template(
        "public/book_practitioner.html", session_type=session_type, practitioners=practitioners
    )


def _times_page_version(slug: str) -> Hashable | None:
    """Everything the times page shows that can change, but the address: who gives the
    session and their revisions (booking.clinic.feed_revisions), the minute (times drop out
    as the notice period moves on; the day turns), and the clinic's settings."""
    settings = clinic_settings()  # first: a clinic's very first read writes the row
    givers = free_times_version(slug)
    if givers is None:
        return None
    minute = utcnow().replace(second=0, microsecond=0)
    return (givers, minute, settings_generation(), settings_values(settings))


@blueprint.get("/book/<slug>/times")
@cached_until_changed(_times_page_version)
def book_times(slug: str):
    session_type = session_type_or_404(slug)
    practitioner = practitioner_choice(session_type, request.args.get("practitioner"))
    now = utcnow()
    first, last, today, limit = day_window(parse_day(request.args.get("first")), now=now)
    free = free_starts_by_day(session_type, practitioner, first, last, now=now)
    return render_template(
        "public/book_times.html",
        session_type=session_type,
        practitioner=practitioner,
        practitioner_value=practitioner.slug if practitioner else ANY,
        **picker_context(
            free, first, last, today, limit, session_type=session_type, practitioner=practitioner
        ),
    )


def _still_free(session_type, practitioner, start, now) -> bool:
    settings = clinic_settings()
    candidates = [practitioner] if practitioner else practitioners_for(session_type)
    return any(
        availability.is_free_start(p, session_type, start, now=now, settings=settings)
        for p in candidates
    )


# What a patient typed on the details page, kept while they choose another time. Only
# the contact details and note: the safety answers and consent are asked afresh for the
# new time. It lives in the signed session cookie, on the patient's own browser, until
# they book or close it.
DRAFT_KEY = "booking_draft"
DRAFT_FIELDS = {"name": 120, "email": 254, "phone": 40, "note": 500}


def _times_url_for_day(slug: str, practitioner_value: str, start: datetime | None) -> str:
    """The times page on the day of `start`, scrolled to its times (or the first fortnight)."""
    if start is None:
        return url_for(".book_times", slug=slug, practitioner=practitioner_value)
    day = to_local(start, clinic_settings().zone).date().isoformat()
    return (
        url_for(".book_times", slug=slug, practitioner=practitioner_value, first=day, day=day)
        + "#times"
    )


@blueprint.post("/book/<slug>/details/change-time")
def book_details_change_time(slug: str):
    """Keep what was typed, then go back to the same day's times."""
    session_type = session_type_or_404(slug)
    practitioner = practitioner_choice(session_type, request.args.get("practitioner"))
    practitioner_value = practitioner.slug if practitioner else ANY
    session[DRAFT_KEY] = {
        name: value[:limit]
        for name, limit in DRAFT_FIELDS.items()
        if isinstance(value := request.form.get(name), str) and value.strip()
    }
    start = parse_start(request.args.get("start"))
    return redirect(_times_url_for_day(slug, practitioner_value, start))


@blueprint.route("/book/<slug>/details", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def book_details(slug: str):
    session_type = session_type_or_404(slug)
    practitioner = practitioner_choice(session_type, request.args.get("practitioner"))
    practitioner_value = practitioner.slug if practitioner else ANY
    start = parse_start(request.args.get("start"))
    times_url = _times_url_for_day(slug, practitioner_value, start)
    now = utcnow()
    if start is None or (
        request.method == "GET" and not _still_free(session_type, practitioner, start, now)
    ):
        flash("That time is not available. Please choose another.", "error")
        return redirect(times_url)

    draft = session.get(DRAFT_KEY) if request.method == "GET" else None
    form = PatientDetailsForm(data=draft if isinstance(draft, dict) else None)
    submission_key = form.submission_key()
    form.with_key()
    problem, status = None, 200
    # With online payment set up, a session type with a deposit is held while it is paid.
    deposit = deposits.deposit_for(session_type)
    if form.validate_on_submit():
        if (stop := safety_stop(form)) is not None:
            return stop
        try:
            appointment = book_appointment(
                session_type=session_type,
                starts_at=start,
                practitioner=practitioner,
                patient=PatientDetails(
                    name=form.name.data, email=form.email.data, phone=form.phone.data
                ),
                patient_note=form.note.data or "",
                health_consent=True,
                source=AppointmentSource.ONLINE,
                now=now,
                submission_key=submission_key,
                warning_sign_assessed=warning_sign_assessed(form),
                hold_limits=holds.HoldLimits(client_key=holds.client_key(get_remote_address())),
                hold=deposits.hold_for_deposit(now) if deposit else None,
            )
        except DomainError as error:
            problem, status = error.message, 409
        else:
            session.pop(DRAFT_KEY, None)
            if _awaiting_deposit(appointment):
                # A second send of the form finds the same hold and the same payment page.
                return pay_deposit(appointment)
            return redirect(url_for(".booking_confirmed", token=manage_token(appointment)))
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template(
        "public/book_details.html",
        form=form,
        session_type=session_type,
        practitioner=practitioner,
        start=start,
        times_url=times_url,
        change_time_url=url_for(
            ".book_details_change_time",
            slug=slug,
            practitioner=practitioner_value,
            start=request.args.get("start"),
        ),
        problem=problem,
        deposit=deposit,
        deposit_policy=deposit_policy.policy_sentences() if deposit else [],
        hold_minutes=deposits.hold_minutes(),
    ), status


def _awaiting_deposit(appointment) -> bool:
    return appointment.is_held and appointment.hold_reason == HoldReason.DEPOSIT


@blueprint.get("/book/confirmed/<token>")
def booking_confirmed(token: str):
    appointment = appointment_from_token_or_404(token)
    if _awaiting_deposit(appointment):
        return redirect(url_for(".deposit", token=token))
    return render_template("public/book_confirmed.html", appointment=appointment, token=token)
