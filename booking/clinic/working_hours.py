"""Practitioners' weekly working hours: several intervals a weekday, never overlapping."""

from datetime import time

from booking.clinic import DomainError, audit
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.extensions import db
from booking.models import Practitioner, StaffUser, WorkingHours

WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

Intervals = dict[int, list[tuple[time, time]]]


def check_intervals(week: Intervals) -> None:
    """DomainError naming the first weekday whose intervals are back to front or overlap."""
    for weekday, intervals in week.items():
        ordered = sorted(intervals)
        for start, end in ordered:
            if end <= start:
                raise DomainError(
                    f"{WEEKDAY_NAMES[weekday]}: {start:%H:%M}–{end:%H:%M} must end after it starts."
                )
        for (_, earlier_end), (later_start, later_end) in zip(ordered, ordered[1:], strict=False):
            if later_start < earlier_end:
                raise DomainError(
                    f"{WEEKDAY_NAMES[weekday]}: {later_start:%H:%M}–{later_end:%H:%M} overlaps "
                    "another interval that day."
                )


def set_working_hours(
    practitioner: Practitioner, week: Intervals, *, staff_user: StaffUser
) -> list[WorkingHours]:
    """Replace the practitioner's weekly hours with `week` (weekday -> intervals, local time).

    Existing appointments are left where they are, even outside the new hours.
    """
    check_intervals(week)
    with unit_of_work():
        practitioner = lock_or_refuse(
            Practitioner, practitioner.id, "This practitioner no longer exists."
        )
        before = describe(practitioner.working_hours)
        practitioner.working_hours = [
            WorkingHours(weekday=weekday, starts_at=start, ends_at=end)
            for weekday in sorted(week)
            for start, end in sorted(week[weekday])
        ]
        db.session.flush()
        audit.record(
            staff_user,
            "working_hours.changed",
            practitioner,
            before=before,
            after=describe(practitioner.working_hours),
        )
    return practitioner.working_hours


def describe(hours: list[WorkingHours]) -> dict[str, str]:
    """Weekday name -> "09:00-13:00, 14:00-18:00": for the audit log and the edit form."""
    by_day: dict[int, list[str]] = {}
    for row in sorted(hours, key=lambda h: (h.weekday, h.starts_at)):
        by_day.setdefault(row.weekday, []).append(f"{row.starts_at:%H:%M}-{row.ends_at:%H:%M}")
    return {WEEKDAY_NAMES[day]: ", ".join(parts) for day, parts in sorted(by_day.items())}
