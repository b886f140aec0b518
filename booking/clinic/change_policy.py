"""Until when a patient may move or cancel online: the clinic's notice period, in one place.

Inside the notice period a patient must phone; staff may still make the change. Every
page and email that promises an online change asks here, so the promise is the policy.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.models import Appointment, AppointmentStatus, ClinicSettings


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
    until = appointment.starts_at - timedelta(hours=settings.cancellation_notice_hours)
    return OnlineChanges(allowed=now <= until, until=until)


def within_notice(appointment: Appointment, *, now: datetime, settings: ClinicSettings) -> bool:
    """Inside the notice period: too late for the patient to change it online."""
    return now > appointment.starts_at - timedelta(hours=settings.cancellation_notice_hours)
