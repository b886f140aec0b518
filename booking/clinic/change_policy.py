"""Until when a patient may move or cancel online: the clinic's notice period, in one place.

Inside the notice period a patient must phone; staff may still make the change. Every
page and email that promises an online change asks here, so the promise is the policy.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.models import Appointment, AppointmentStatus, CancelledBy, ClinicSettings


@dataclass(frozen=True)
class OnlineChanges:
    allowed: bool
    # The last moment a change may be made online (None for an appointment not booked).
    until: datetime | None


def online_changes(
    appointment: Appointment, *, now: datetime, settings: ClinicSettings
) -> OnlineChanges:
    """Whether the patient may still move or cancel online at `now`, and until when."""
    if appointment.status != AppointmentStatus.BOOKED:
        return OnlineChanges(allowed=False, until=None)
    until = notice_begins(appointment, settings=settings)
    return OnlineChanges(allowed=now <= until, until=until)


def notice_begins(appointment: Appointment, *, settings: ClinicSettings) -> datetime:
    """When the notice period before `appointment` begins: after it, patients must phone."""
    return appointment.starts_at - timedelta(hours=settings.cancellation_notice_hours)


def within_notice(appointment: Appointment, *, now: datetime, settings: ClinicSettings) -> bool:
    """Inside the notice period: too late for the patient to change it online."""
    return now > notice_begins(appointment, settings=settings)


def undo_until(appointment: Appointment, *, settings: ClinicSettings) -> datetime | None:
    """Until when the patient may undo their own online cancellation; None if they may not.

    Only a cancellation the patient made, of a time still to come, within the clinic's
    few minutes (`cancellation_undo_minutes`, 0 for no undo). Whether the time is still
    free is for the undo itself to find out.
    """
    if (
        appointment.status != AppointmentStatus.CANCELLED
        or appointment.cancelled_by != CancelledBy.PATIENT
        or appointment.cancelled_at is None
        or settings.cancellation_undo_minutes <= 0
    ):
        return None
    until = min(
        appointment.cancelled_at + timedelta(minutes=settings.cancellation_undo_minutes),
        appointment.starts_at,
    )
    return until


def can_undo_cancellation(
    appointment: Appointment, *, now: datetime, settings: ClinicSettings
) -> bool:
    until = undo_until(appointment, settings=settings)
    return until is not None and now <= until
