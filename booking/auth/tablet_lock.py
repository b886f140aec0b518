"""The browser side of the desk's tablet handed to a patient (booking.clinic.records.tablet).

Handing over ends the staff session in this browser, as signing out does, and keeps in
Flask's signed cookie only which appointment's forms are open, who handed the tablet
over and until when. Staff pages then ask for a staff sign-in like any other browser's;
signing in clears the hand-over. Sending the last form, or the time running out, leaves
only the locked screen. Which forms open is worked out from the record each time, not
kept in the cookie: a copy of the cookie taken earlier opens only what is still missing
for that appointment, and only until the hand-over's time is up.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import session
from flask_login import logout_user

from booking.auth import session_cookie
from booking.clinic.records.tablet import HANDOVER_MINUTES
from booking.database import utcnow
from booking.extensions import db
from booking.models import Appointment, SessionEndReason, StaffUser

HANDOVER_KEY = "tablet_handover"
# After locking: which appointment the tablet was last used for, so that the member of
# staff who signs in to unlock it returns to that appointment's page.
LOCKED_KEY = "tablet_locked_for"


@dataclass(frozen=True)
class Handover:
    appointment: Appointment
    staff_user: StaffUser


def hand_to_patient(appointment: Appointment, staff_user: StaffUser) -> None:
    """End this browser's staff session and open the appointment's forms for the patient."""
    session_cookie.end_this_session(SessionEndReason.TABLET_HANDED_OVER)
    logout_user()
    until = utcnow() + timedelta(minutes=HANDOVER_MINUTES)
    session[HANDOVER_KEY] = {
        "appointment": appointment.id,
        "staff": staff_user.id,
        "until": int(until.timestamp()),
    }


def current_handover(now: datetime | None = None) -> Handover | None:
    """The hand-over this browser holds, if it is still open and its people still exist."""
    held = session.get(HANDOVER_KEY)
    if not isinstance(held, dict):
        return None
    now = now or utcnow()
    try:
        appointment_id, staff_id = int(held["appointment"]), int(held["staff"])
        open_until = int(held["until"])
    except (KeyError, TypeError, ValueError):
        return None
    if now.timestamp() >= open_until:
        lock()
        return None
    appointment = db.session.get(Appointment, appointment_id)
    staff_user = db.session.get(StaffUser, staff_id)
    if appointment is None or staff_user is None or not staff_user.active:
        lock()
        return None
    return Handover(appointment, staff_user)


def lock() -> None:
    """Close the hand-over: from now on the tablet shows only the locked screen."""
    held = session.pop(HANDOVER_KEY, None)
    if isinstance(held, dict) and "appointment" in held:
        session[LOCKED_KEY] = held["appointment"]


def locked_for() -> int | None:
    value = session.get(LOCKED_KEY)
    return value if isinstance(value, int) else None
