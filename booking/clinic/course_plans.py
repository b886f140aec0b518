"""Planning a course's sessions: "every Tuesday at 10:00 from 1 December", then booking it.

A plan proposes one time per remaining credit. The times are wall-clock times in the
clinic's zone, so Tuesday 10:00 stays 10:00 when the clocks change. Booking a plan is one
unit of work: every session or none.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.clinic import (
    DomainError,
    appointments,
    audit,
    availability,
    notifications,
    submissions,
)
from booking.clinic.courses import last_valid_day, plan_problem
from booking.clinic.credits import COURSE_GONE_MESSAGE
from booking.clinic.errors import SlotTaken
from booking.clinic.localtime import local_to_utc, local_today, to_local
from booking.clinic.offerings import practitioners_offering
from booking.clinic.patients import lock_bookable
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.models import Appointment, AppointmentSource, Course, Practitioner, StaffUser

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALTERNATIVES_SHOWN = 3


class PlanSlotTaken(DomainError):
    """One time of a plan was taken before the plan was booked; nothing was booked."""

    def __init__(self, message: str, starts_at: datetime):
        super().__init__(message)
        self.starts_at = starts_at


@dataclass(frozen=True)
class PlannedSession:
    """One session of a plan: the time the rule asked for and, if taken, what is near."""

    wanted: datetime
    free: bool
    # Nearest first; empty when the wanted time is free.
    alternatives: tuple[datetime, ...] = ()

    @property
    def proposed(self) -> datetime:
        return self.wanted if self.free else self.alternatives[0]

    @property
    def choices(self) -> tuple[datetime, ...]:
        return (self.wanted,) if self.free else self.alternatives


@dataclass(frozen=True)
class CoursePlan:
    course: Course
    practitioner: Practitioner
    weekdays: tuple[int, ...]
    at: time
    first_day: date
    sessions: list[PlannedSession]
    # Wanted times in weeks with nothing free: the plan ran one occurrence further instead.
    skipped: list[datetime] = field(default_factory=list)
    # Credits the plan could not place before the course ends or the booking horizon.
    unplaced: int = 0

    @property
    def clashes(self) -> list[PlannedSession]:
        return [session for session in self.sessions if not session.free]

    def describe_rule(self) -> str:
        days = " and ".join(WEEKDAY_NAMES[day] for day in self.weekdays)
        return f"every {days} at {self.at:%H:%M}"


def plannable_practitioners(course: Course) -> list[Practitioner]:
    if not course.session_type.active:
        return []
    return practitioners_offering(course.session_type)


def _week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _distance(start: datetime, wanted: datetime, zone: ZoneInfo) -> tuple[int, int, datetime]:
    local, wanted_local = to_local(start, zone), to_local(wanted, zone)
    days = abs((local.date() - wanted_local.date()).days)
    minutes = abs((local.hour * 60 + local.minute) - (wanted_local.hour * 60 + wanted_local.minute))
    return days, minutes, start


def propose_plan(
    course: Course,
    *,
    practitioner: Practitioner,
    weekdays: Sequence[int],
    at: time,
    first_day: date,
    now: datetime | None = None,
    by_staff: bool = False,
) -> CoursePlan:
    """Propose one session per remaining credit following a weekly rule.

    `weekdays` holds one day (weekly) or two (twice a week). A week where the
    wanted time is not free offers up to three free times in that week nearest to
    it (nearest day, then nearest time of day); a week with nothing free is
    skipped and the plan runs one occurrence longer. Nothing is written:
    `book_plan` books what the patient accepts.
    """
    now = now or utcnow()
    weekdays = tuple(sorted(set(weekdays)))
    if not 1 <= len(weekdays) <= 2 or any(not 0 <= day <= 6 for day in weekdays):
        raise DomainError("Choose one day a week, or two.")
    problem = plan_problem(course, now=now)
    if problem:
        raise DomainError(problem)
    session_type = course.session_type
    if not availability.offers(practitioner, session_type):
        raise DomainError(f"{practitioner.name} does not offer {session_type.name}.")

    settings = clinic_settings()
    zone = settings.zone
    today = local_today(now, zone)
    start_day = max(first_day, today)
    end_day = last_valid_day(course, zone) or today
    if not by_staff:
        end_day = min(end_day, today + timedelta(days=settings.booking_horizon_days))
    if end_day < start_day:
        raise DomainError("That start date is after the last day this course can be used.")
    free = availability.practitioner_free_starts(
        practitioner,
        session_type,
        _week_of(start_day)[0],
        _week_of(end_day)[1],
        now=now,
        settings=settings,
        ignore_minimum_notice=by_staff,
    )

    needed = course.credits_remaining
    sessions: list[PlannedSession] = []
    skipped: list[datetime] = []
    planned_days: set[date] = set()
    day = start_day
    while len(sessions) < needed and day <= end_day:
        if day.weekday() in weekdays:
            wanted = local_to_utc(day, at, zone)
            if wanted in free.get(day, []):
                sessions.append(PlannedSession(wanted=wanted, free=True))
                planned_days.add(day)
            else:
                monday, sunday = _week_of(day)
                # Keep the other wanted day of a twice-weekly plan for its own session.
                reserved = planned_days | (
                    {monday + timedelta(days=weekday) for weekday in weekdays} - {day}
                )
                nearby = [
                    start
                    for other in (monday + timedelta(days=n) for n in range(7))
                    if start_day <= other <= end_day and other not in reserved
                    for start in free.get(other, [])
                ]
                # Nearest day first, then the nearest time of day: a patient who wanted
                # Tuesday 10:00 would rather have Wednesday 10:00 than Monday 17:00.
                nearby.sort(key=lambda start: _distance(start, wanted, zone))
                if nearby:
                    alternatives = tuple(nearby[:ALTERNATIVES_SHOWN])
                    sessions.append(PlannedSession(wanted, False, alternatives))
                    planned_days.add(to_local(alternatives[0], zone).date())
                else:
                    skipped.append(wanted)
        day += timedelta(days=1)
    return CoursePlan(
        course=course,
        practitioner=practitioner,
        weekdays=weekdays,
        at=at,
        first_day=start_day,
        sessions=sessions,
        skipped=skipped,
        unplaced=needed - len(sessions),
    )


def _describe(instant: datetime) -> str:
    local = to_local(instant, clinic_settings().zone)
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"


def book_plan(
    course: Course,
    *,
    practitioner: Practitioner,
    starts: Sequence[datetime],
    now: datetime | None = None,
    staff_user: StaffUser | None = None,
    health_consent: bool = False,
    submission_key: str | None = None,
    warning_sign_assessed: bool = False,
) -> list[Appointment]:
    """Book the accepted sessions of a plan in one transaction: all of them or none.

    Each session spends one credit. If any time was taken since the plan was
    proposed, nothing is booked and PlanSlotTaken names that time. With
    `submission_key` (the form's random key) a second send of the same plan books
    nothing and returns the sessions the first send booked.
    """
    now = now or utcnow()
    starts = sorted(set(starts))
    if not starts:
        raise DomainError("Choose at least one session to book.")
    try:
        with unit_of_work():
            claimed = None
            if submission_key is not None:
                claimed = submissions.claim(submission_key, "course_plan")
            booked = _book_plan(
                course,
                practitioner,
                starts,
                now,
                staff_user,
                health_consent,
                warning_sign_assessed=warning_sign_assessed,
            )
            if claimed is not None:
                claimed.course_id = course.id
    except submissions.AlreadySubmitted:
        earlier = submissions.earlier(submission_key) if submission_key else None
        if earlier is None or earlier.course is None or earlier.course_id != course.id:
            raise
        return [
            appointment
            for appointment in earlier.course.appointments
            if appointment.starts_at in starts and appointment.is_live
        ]
    return booked


def _book_plan(
    course: Course,
    practitioner: Practitioner,
    starts: list[datetime],
    now: datetime,
    staff_user: StaffUser | None,
    health_consent: bool,
    *,
    warning_sign_assessed: bool = False,
) -> list[Appointment]:
    """The body of book_plan, inside its unit of work."""
    course = lock_or_refuse(Course, course.id, COURSE_GONE_MESSAGE)
    patient = lock_bookable(course.patient)
    if health_consent and patient.health_consent_at is None:
        patient.health_consent_at = now
    problem = plan_problem(course, now=now)
    if problem:
        raise DomainError(problem)
    if len(starts) > course.credits_remaining:
        raise DomainError(
            f"Your course has {course.credits_remaining} sessions left, "
            f"so you can book up to {course.credits_remaining}."
        )
    booked = []
    for starts_at in starts:
        try:
            booked.append(
                appointments.add_appointment(
                    session_type=course.session_type,
                    starts_at=starts_at,
                    candidates=[practitioner],
                    patient=course.patient,
                    source=AppointmentSource.COURSE_PLAN,
                    now=now,
                    staff_user=staff_user,
                    course=course,
                    warning_sign_assessed=warning_sign_assessed,
                )
            )
        except SlotTaken as error:
            raise PlanSlotTaken(
                f"{_describe(starts_at)} was taken while you were choosing, so nothing "
                "has been booked. Here is the plan again with the times free now.",
                starts_at,
            ) from error
    notifications.course_planned(course, booked)
    if staff_user is not None:
        audit.record(
            staff_user,
            "course.planned",
            course,
            sessions=len(booked),
            first=booked[0].starts_at,
            last=booked[-1].starts_at,
        )
    return booked
