"""The online booking flow: session type -> practitioner -> day -> time -> details.

Each step is a plain page with links or a form, so it works without JavaScript.
The choices travel in the URL (session type, practitioner, a UTC start time);
nothing about the patient ever does.
"""

from datetime import date, datetime, timedelta

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.clinic import DomainError, availability, holds
from booking.clinic.appointments import PatientDetails, book_appointment
from booking.clinic.localtime import local_today, to_local, within_reach
from booking.clinic.offerings import practitioners_offering
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import (
    appointment_uid_from_token,
    appointment_uid_from_view_token,
    manage_token,
)
from booking.database import utcnow
from booking.extensions import db, limiter
from booking.models import Appointment, AppointmentSource, Practitioner, SessionType
from booking.presentation import format_start, parse_start
from booking.public import blueprint
from booking.public.forms import PatientDetailsForm
from booking.public.safety import safety_stop, warning_sign_assessed

DAYS_SHOWN = 14
ANY = "any"


def parse_day(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if within_reach(day) else None


def bookable_session_types() -> list[SessionType]:
    return list(
        db.session.scalars(
            select(SessionType)
            .where(SessionType.active.is_(True), SessionType.bookable_online.is_(True))
            # The session the clinic recommends first, then the clinic's own order.
            .order_by(SessionType.recommended.desc(), SessionType.position, SessionType.name)
            .options(selectinload(SessionType.treatments))  # is_combination, "Includes"
        )
    )


def session_type_or_404(slug: str) -> SessionType:
    session_type = db.session.scalar(select(SessionType).where(SessionType.slug == slug))
    if session_type is None or not session_type.active or not session_type.bookable_online:
        abort(404)
    return session_type


def practitioners_for(session_type: SessionType) -> list[Practitioner]:
    return practitioners_offering(session_type)


def practitioner_choice(session_type: SessionType, value: str | None) -> Practitioner | None:
    """The chosen practitioner, None for "first available"; 404 for anyone else."""
    if not value or value == ANY:
        return None
    for practitioner in practitioners_for(session_type):
        if practitioner.slug == value:
            return practitioner
    abort(404)


def free_starts_by_day(
    session_type: SessionType,
    practitioner: Practitioner | None,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    ignore_appointment_id: int | None = None,
) -> dict[date, list[datetime]]:
    settings = clinic_settings()
    if practitioner is not None:
        return availability.practitioner_free_starts(
            practitioner,
            session_type,
            first_day,
            last_day,
            now=now,
            settings=settings,
            ignore_appointment_id=ignore_appointment_id,
        )
    return availability.anyone_free_starts(
        practitioners_for(session_type),
        session_type,
        first_day,
        last_day,
        now=now,
        settings=settings,
    )


def day_window(requested_from: date | None, *, now: datetime) -> tuple[date, date, date, date]:
    """The fortnight to show, clamped to today..the booking horizon: (first, last, today, limit)."""
    settings = clinic_settings()
    today = local_today(now, settings.zone)
    limit = today + timedelta(days=settings.booking_horizon_days)
    first = min(max(requested_from or today, today), limit)
    last = min(first + timedelta(days=DAYS_SHOWN - 1), limit)
    return first, last, today, limit


def open_weekdays(session_type: SessionType, practitioner: Practitioner | None) -> set[int]:
    """The weekdays (Monday is 0) on which the practitioner, or anyone giving the session, works.

    The picker shows other days as closed rather than full: "full" on a Sunday the
    clinic never opens would send a patient looking for a cancellation that never comes.
    """
    candidates = [practitioner] if practitioner else practitioners_for(session_type)
    return availability.working_weekdays([candidate.id for candidate in candidates])


def picker_context(
    free: dict[date, list[datetime]],
    first: date,
    last: date,
    today: date,
    limit: date,
    *,
    session_type: SessionType,
    practitioner: Practitioner | None,
):
    """What the day-and-time picker template needs; the chosen day comes from ?day=."""
    chosen_day = parse_day(request.args.get("day"))
    working_weekdays = open_weekdays(session_type, practitioner)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    if chosen_day not in free or not free.get(chosen_day):
        chosen_day = next((day for day in days if free.get(day)), None)
    return {
        "days": days,
        "closed_days": {day for day in days if day.weekday() not in working_weekdays},
        "free": free,
        "chosen_day": chosen_day,
        "times": free.get(chosen_day, []) if chosen_day else [],
        "previous_from": (first - timedelta(days=DAYS_SHOWN)) if first > today else None,
        "next_from": (last + timedelta(days=1)) if last < limit else None,
        "format_start": format_start,
    }


@blueprint.get("/book")
def book():
    return render_template("public/book_choose.html", session_types=bookable_session_types())


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


@blueprint.get("/book/<slug>/times")
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
            )
        except DomainError as error:
            problem, status = error.message, 409
        else:
            session.pop(DRAFT_KEY, None)
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
    ), status


def appointment_from_token_or_404(token: str, *, read_only: bool = False) -> Appointment:
    """The appointment a manage token (or, `read_only`, a calendar event's view token) names."""
    uid = appointment_uid_from_view_token(token) if read_only else appointment_uid_from_token(token)
    appointment = None
    if uid is not None:
        appointment = db.session.scalar(select(Appointment).where(Appointment.uid == uid))
    if appointment is None:
        abort(404)
    return appointment


@blueprint.get("/book/confirmed/<token>")
def booking_confirmed(token: str):
    appointment = appointment_from_token_or_404(token)
    return render_template("public/book_confirmed.html", appointment=appointment, token=token)
