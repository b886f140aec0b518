"""Book again from an appointment: the same time in one, two or N weeks, or the next free
time with the same practitioner, for the same patient and session.

`propose` works out the time and whether it can be had (and if not, the real reason and
the free times that day instead); `book_again` books it through `book_appointment`, so
every rule and the database's guarantee apply as for any booking.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from booking.clinic import availability, courses, refusals
from booking.clinic.appointments import book_appointment
from booking.clinic.errors import DomainError
from booking.clinic.localtime import local_to_utc, to_local, wall_time_exists
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.models import Appointment, AppointmentSource, Course, StaffUser

LONGEST_WAIT_WEEKS = 52
NEXT_FREE_SEARCH_DAYS = 56


@dataclass
class Proposal:
    """A time to book again at; `problem` says why it cannot be had, if it cannot."""

    starts_at: datetime | None
    problem: str | None = None
    # Other free times with the same practitioner on that day, to pick from instead.
    same_day: list[datetime] = field(default_factory=list)


def _free_that_day(appointment: Appointment, day: date, now: datetime) -> list[datetime]:
    by_day = availability.practitioner_free_starts(
        appointment.practitioner,
        appointment.session_type,
        day,
        day,
        now=now,
        settings=clinic_settings(),
        ignore_minimum_notice=True,
    )
    return by_day.get(day, [])


def _check(appointment: Appointment, starts_at: datetime, now: datetime) -> Proposal:
    settings = clinic_settings()
    if availability.is_free_start(
        appointment.practitioner,
        appointment.session_type,
        starts_at,
        now=now,
        settings=settings,
        ignore_minimum_notice=True,
    ):
        return Proposal(starts_at)
    reason, _ = refusals.why_not_free(
        appointment.practitioner,
        appointment.session_type,
        starts_at,
        now=now,
        settings=settings,
        by_staff=True,
    )
    day = to_local(starts_at, settings.zone).date()
    return Proposal(starts_at, reason, _free_that_day(appointment, day, now))


def same_time_in(appointment: Appointment, weeks: int, *, now: datetime | None = None) -> Proposal:
    """The same local time, `weeks` weeks on (a clock change keeps the wall-clock time)."""
    now = now or utcnow()
    if not 1 <= weeks <= LONGEST_WAIT_WEEKS:
        raise DomainError(f"Choose between 1 and {LONGEST_WAIT_WEEKS} weeks.")
    zone = clinic_settings().zone
    local = to_local(appointment.starts_at, zone)
    day = local.date() + timedelta(weeks=weeks)
    if not wall_time_exists(day, local.time(), zone):
        return Proposal(None, "That time does not exist that day: the clocks go forward.")
    return _check(appointment, local_to_utc(day, local.time(), zone), now)


def chosen_time(
    appointment: Appointment, starts_at: datetime, *, now: datetime | None = None
) -> Proposal:
    """A time picked from the day's free times on the review page."""
    return _check(appointment, starts_at, now or utcnow())


def next_free_time(appointment: Appointment, *, now: datetime | None = None) -> Proposal:
    """The first free time with the same practitioner after the appointment (or now)."""
    now = now or utcnow()
    settings = clinic_settings()
    after = max(now, appointment.ends_at)
    first = to_local(after, settings.zone).date()
    by_day = availability.practitioner_free_starts(
        appointment.practitioner,
        appointment.session_type,
        first,
        first + timedelta(days=NEXT_FREE_SEARCH_DAYS),
        now=now,
        settings=settings,
        ignore_minimum_notice=True,
    )
    for day in sorted(by_day):
        for start in by_day[day]:
            if start >= after:
                return Proposal(start)
    return Proposal(
        None,
        f"{appointment.practitioner.name} has no free time for "
        f"{appointment.session_type.name} in the next {NEXT_FREE_SEARCH_DAYS // 7} weeks.",
    )


def _course_for(appointment: Appointment, starts_at: datetime, now: datetime) -> Course | None:
    """The appointment's course, if it can still pay for a session at that time."""
    course = appointment.course
    if course is None or courses.booking_problem(course, now=now):
        return None
    try:
        courses.check_course_session(course, appointment.session_type, starts_at, now=now)
    except DomainError:
        return None
    return course


def book_again(
    appointment: Appointment,
    starts_at: datetime,
    *,
    staff_user: StaffUser,
    now: datetime | None = None,
) -> Appointment:
    """Book the same patient and session with the same practitioner at `starts_at`.

    A course session spends another credit of the course while it has one.
    """
    now = now or utcnow()
    return book_appointment(
        session_type=appointment.session_type,
        starts_at=starts_at,
        practitioner=appointment.practitioner,
        patient=appointment.patient,
        source=AppointmentSource.STAFF,
        staff_user=staff_user,
        now=now,
        course=_course_for(appointment, starts_at, now),
    )
