"""My bookings: one page listing every appointment and course of the patient with an email.

The patient types their email; if the clinic knows it, a short-lived link is emailed to
it. The link's token is the email sealed (Fernet: encrypted and signed, with its issue
time) under a key derived from the app's secret for this purpose alone, so the URL
names nobody and says nothing, and expires after MY_BOOKINGS_LINK_MINUTES. Whether the
email is known is never told on the page: the answer is the same either way.
"""

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import select

from booking.clinic import notifications
from booking.clinic.patients import is_erased
from booking.clinic.transaction import unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import Appointment, Course, Patient

KIND = "my_bookings"
# One email per address in each of these windows, however often the form is sent.
RESEND_WINDOW_SECONDS = 300


def _box() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    key = hashlib.sha256(b"my-bookings-link:" + secret).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def link_token(email: str, *, now: datetime | None = None) -> str:
    now = now or utcnow()
    return _box().encrypt_at_time(email.encode("utf-8"), int(now.timestamp())).decode("ascii")


def email_from_token(token: str, *, now: datetime | None = None) -> str | None:
    """The email a link was sent to, or None if the token is forged, altered or expired."""
    now = now or utcnow()
    ttl = int(current_app.config["MY_BOOKINGS_LINK_MINUTES"]) * 60
    try:
        value = _box().decrypt_at_time(token.encode("ascii"), ttl, int(now.timestamp()))
    except (InvalidToken, UnicodeError, ValueError, TypeError):
        return None
    return value.decode("utf-8")


def _patients_with(email: str) -> list[Patient]:
    patients = db.session.scalars(select(Patient).where(Patient.email == email.strip().lower()))
    return [patient for patient in patients if not is_erased(patient)]


def send_link(email: str, *, now: datetime | None = None) -> None:
    """Email the My bookings link to `email` if a patient has it; otherwise do nothing.

    The caller shows the same answer either way.
    """
    now = now or utcnow()
    email = email.strip().lower()
    with unit_of_work():
        patients = _patients_with(email)
        if not patients:
            return
        digest = hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]
        window = int(now.timestamp()) // RESEND_WINDOW_SECONDS
        notifications.queue_message(
            kind=KIND,
            recipient=email,
            subject="Your bookings: the link you asked for",
            template=KIND,
            context={
                "name": patients[0].name,
                "link": notifications.my_bookings_url(link_token(email, now=now)),
                "minutes": current_app.config["MY_BOOKINGS_LINK_MINUTES"],
            },
            dedupe_key=f"{KIND}:{digest}:{window}",
        )


def address_to_confirm(email: str) -> bool:
    """Whether a patient with `email` has not yet confirmed it (reading only).

    Opening the link shows the list at once when nothing is left to confirm; otherwise a
    page with one button that confirms (a mail scanner opening the link changes nothing).
    """
    return any(patient.email_confirmed_at is None for patient in _patients_with(email))


def confirm_address(email: str, *, now: datetime | None = None) -> int:
    """The patient pressed the My bookings link's button: the address sent to is theirs.

    Marks every patient with the address as having confirmed it
    (`Patient.email_confirmed_at`, as booking.clinic.email_confirmation does), so an
    online booking with it is not held to be confirmed again. Safe to repeat: a patient
    already confirmed keeps their first date. How many patients were marked.
    """
    now = now or utcnow()
    marked = 0
    with unit_of_work():
        for patient in _patients_with(email):
            if patient.email_confirmed_at is None:
                patient.email_confirmed_at = now
                marked += 1
    return marked


@dataclass(frozen=True)
class Bookings:
    upcoming: list[Appointment]
    past: list[Appointment]
    courses: list[Course]


def bookings_for(email: str, *, now: datetime | None = None) -> Bookings:
    """Every appointment (upcoming first, soonest first; then past, latest first) and course."""
    now = now or utcnow()
    ids = [patient.id for patient in _patients_with(email)]
    appointments = list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id.in_(ids))
            .order_by(Appointment.starts_at)
        )
    )
    courses = list(
        db.session.scalars(
            select(Course).where(Course.patient_id.in_(ids)).order_by(Course.id.desc())
        )
    )
    return Bookings(
        upcoming=[a for a in appointments if a.ends_at > now],
        past=sorted((a for a in appointments if a.ends_at <= now), key=lambda a: a.starts_at)[::-1],
        courses=courses,
    )
