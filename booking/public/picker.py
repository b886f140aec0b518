"""The day-and-time picker the booking pages share: booking, changing a booking, courses.

Which session and practitioner the URL names, the fortnight of days to show and the free
starts in it, and what the picker template needs. The view modules of the public blueprint
share these through this module rather than through each other.
"""

from datetime import date, datetime, timedelta

from flask import abort, g, request
from sqlalchemy import select

from booking.clinic import availability
from booking.clinic.localtime import local_today, within_reach
from booking.clinic.offerings import bookable_online, practitioners_offering
from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import Practitioner, SessionType
from booking.presentation import format_start

DAYS_SHOWN = 14
ANY = "any"


def parse_day(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if within_reach(day) else None


def session_type_or_404(slug: str) -> SessionType:
    session_type = db.session.scalar(select(SessionType).where(SessionType.slug == slug))
    if session_type is None or not bookable_online(session_type):
        abort(404)
    return session_type


def practitioners_for(session_type: SessionType) -> list[Practitioner]:
    """Who gives the session, read once per request (the times page asks twice: for the
    free times and for the days anyone works)."""
    offering: dict[int, list[Practitioner]] = g.setdefault("practitioners_offering", {})
    if session_type.id not in offering:
        offering[session_type.id] = practitioners_offering(session_type)
    return offering[session_type.id]


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
