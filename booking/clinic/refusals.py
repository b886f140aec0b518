"""Why one practitioner cannot take one time: the real reason, in words for a person.

The availability engine answers "free or not"; when the answer is no, the person at the
desk (or the patient) needs to know which rule said so: the time has passed, it is
outside the practitioner's hours, it is not on the booking grid, it is inside the
minimum notice, the practitioner is away, or another appointment has it. Asked only
after a refusal, so its few queries cost nothing on the way to a booking.
"""

from datetime import datetime, time, timedelta

from sqlalchemy import select

from booking.clinic.availability import busy_intervals, hours_offering
from booking.clinic.errors import SLOT_TAKEN_MESSAGE
from booking.clinic.localtime import to_local
from booking.extensions import db
from booking.models import (
    Appointment,
    BusyTime,
    ClinicSettings,
    Practitioner,
    SessionType,
    TimeOff,
)

WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def _hhmm(at: time | datetime) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def why_not_free(
    practitioner: Practitioner,
    session_type: SessionType,
    starts_at: datetime,
    *,
    now: datetime,
    settings: ClinicSettings,
    by_staff: bool,
    ignore_appointment_id: int | None = None,
) -> tuple[str, bool]:
    """(the reason, whether it is "taken") for a time the engine refused."""
    if starts_at <= now:
        return "That time has already passed. Please choose another time.", False
    zone = settings.zone
    local = to_local(starts_at, zone)
    ends = to_local(starts_at + timedelta(minutes=session_type.duration_minutes), zone)
    hours = hours_offering([practitioner.id], session_type).get(practitioner.id, {})
    today = sorted(hours.get(local.weekday(), []))
    name = practitioner.name
    if not today:
        return f"{name} does not work on {WEEKDAYS[local.weekday()]}.", False
    start_minute = local.hour * 60 + local.minute
    end_minute = start_minute + session_type.duration_minutes
    spans = " and ".join(f"{_hhmm(opens)}–{_hhmm(closes)}" for opens, closes in today)
    within = [
        (opens, closes)
        for opens, closes in today
        if _minutes(opens) <= start_minute
        and end_minute <= _minutes(closes)
        and ends.date() == local.date()
    ]
    if not within:
        return (
            f"{_hhmm(local)} is outside {name}'s working hours on "
            f"{WEEKDAYS[local.weekday()]} ({spans}) for a {session_type.duration_minutes}-minute "
            "session.",
            False,
        )
    opens = within[0][0]
    step = max(5, settings.slot_step_minutes)
    offset = start_minute - _minutes(opens)
    if offset % step or local.second or local.microsecond:
        before = start_minute - offset % step
        return (
            f"{_hhmm(local)} is not on the booking grid: appointments start every {step} "
            f"minutes from {_hhmm(opens)} (for example {before // 60:02d}:{before % 60:02d} "
            f"or {(before + step) // 60:02d}:{(before + step) % 60:02d}).",
            False,
        )
    if not by_staff:
        notice = timedelta(minutes=settings.minimum_booking_notice_minutes)
        if starts_at < now + notice:
            return (
                "That time is too soon to book online. Please choose a later time, "
                f"or call us on {settings.phone}.",
                False,
            )
    window_end = starts_at + timedelta(minutes=session_type.duration_minutes)
    buffer = timedelta(minutes=settings.buffer_minutes)
    away = db.session.scalar(
        select(TimeOff).where(
            TimeOff.practitioner_id == practitioner.id,
            TimeOff.starts_at < window_end,
            TimeOff.ends_at > starts_at,
        )
    )
    if away is not None:
        reason = f" ({away.reason})" if away.reason else ""
        return f"{name} is away at that time{reason}.", False
    own = db.session.scalar(
        select(BusyTime.id).where(
            BusyTime.practitioner_id == practitioner.id,
            BusyTime.starts_at < window_end,
            BusyTime.ends_at > starts_at,
        )
    )
    if own is not None:
        return f"{name} is busy then in their own calendar.", False
    clash = db.session.scalar(
        select(Appointment)
        .where(
            Appointment.practitioner_id == practitioner.id,
            Appointment.is_live,
            Appointment.starts_at < window_end + buffer,
            Appointment.ends_at > starts_at - buffer,
            Appointment.id != (ignore_appointment_id or 0),
        )
        .order_by(Appointment.starts_at)
        .limit(1)
    )
    if clash is not None:
        if by_staff:
            # Not "just" taken: the appointment may have been there for weeks.
            return (
                f"That time is taken: {name} has an appointment from "
                f"{_hhmm(to_local(clash.starts_at, zone))} to "
                f"{_hhmm(to_local(clash.ends_at, zone))}.",
                True,
            )
        return SLOT_TAKEN_MESSAGE, True
    if busy_intervals(practitioner.id, starts_at - buffer, window_end + buffer):
        return SLOT_TAKEN_MESSAGE, True
    return "That time cannot be booked. Please choose another.", False
