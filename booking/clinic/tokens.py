"""Unguessable signed tokens for patients' links: the only patient reference in a URL."""

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from booking.models import Appointment, Course

MANAGE_SALT = "manage-appointment"
# A second, separate token for the link inside calendar events: it only shows the
# booking. Calendars are shared with family and colleagues and synced to other
# devices, so the link there must not be able to cancel anything.
VIEW_SALT = "view-appointment"
COURSE_SALT = "patient-course"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def manage_token(appointment: Appointment) -> str:
    """Signs the appointment's random public uid; its database id never appears."""
    return _serializer(MANAGE_SALT).dumps(appointment.uid)


def manage_url(appointment: Appointment) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/manage/{manage_token(appointment)}"


def appointment_uid_from_token(token: str) -> str | None:
    """The uid a manage token was signed for, or None if it is tampered or too old."""
    max_age = current_app.config["MANAGE_TOKEN_MAX_AGE_DAYS"] * 86400
    try:
        uid = _serializer(MANAGE_SALT).loads(token, max_age=max_age)
    except BadSignature:  # includes SignatureExpired
        return None
    return uid if isinstance(uid, str) else None


def view_token(appointment: Appointment) -> str:
    return _serializer(VIEW_SALT).dumps(appointment.uid)


def view_url(appointment: Appointment) -> str:
    """The read-only page of an appointment, for calendar events."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/appointment/{view_token(appointment)}"


def appointment_uid_from_view_token(token: str) -> str | None:
    max_age = current_app.config["MANAGE_TOKEN_MAX_AGE_DAYS"] * 86400
    try:
        uid = _serializer(VIEW_SALT).loads(token, max_age=max_age)
    except BadSignature:
        return None
    return uid if isinstance(uid, str) else None


def course_token(course: Course) -> str:
    return _serializer(COURSE_SALT).dumps(course.uid)


def course_uid_from_token(token: str) -> str | None:
    max_age = current_app.config["MANAGE_TOKEN_MAX_AGE_DAYS"] * 86400
    try:
        uid = _serializer(COURSE_SALT).loads(token, max_age=max_age)
    except BadSignature:
        return None
    return uid if isinstance(uid, str) else None


# The clinical record's links: the intake questionnaire and consent (from the confirmation
# email), and the red-flag re-check before a visit (from the reminder). Each signs only the
# appointment's random uid, under a salt of its own, so one link never opens another page.
INTAKE_SALT = "patient-intake"
CHECK_SALT = "pre-visit-check"


def _appointment_uid(salt: str, token: str) -> str | None:
    max_age = current_app.config["MANAGE_TOKEN_MAX_AGE_DAYS"] * 86400
    try:
        uid = _serializer(salt).loads(token, max_age=max_age)
    except BadSignature:
        return None
    return uid if isinstance(uid, str) else None


def intake_token(appointment: Appointment) -> str:
    return _serializer(INTAKE_SALT).dumps(appointment.uid)


def appointment_uid_from_intake_token(token: str) -> str | None:
    return _appointment_uid(INTAKE_SALT, token)


def check_token(appointment: Appointment) -> str:
    return _serializer(CHECK_SALT).dumps(appointment.uid)


def appointment_uid_from_check_token(token: str) -> str | None:
    return _appointment_uid(CHECK_SALT, token)


# The link that keeps a booking held until a new patient confirms their email address:
# it signs the appointment's uid under its own salt, so it opens nothing else.
CONFIRM_EMAIL_SALT = "confirm-booking-email"


def confirm_email_token(appointment: Appointment) -> str:
    return _serializer(CONFIRM_EMAIL_SALT).dumps(appointment.uid)


def confirm_email_url(appointment: Appointment) -> str:
    base = current_app.config["PUBLIC_BASE_URL"]
    return f"{base}/book/confirm-email/{confirm_email_token(appointment)}"


def appointment_uid_from_confirm_email_token(token: str) -> str | None:
    return _appointment_uid(CONFIRM_EMAIL_SALT, token)


WAITING_SALT = "waiting-list-entry"
OFFER_SALT = "waiting-list-offer"


def waiting_token(entry_uid: str) -> str:
    """For the patient's "leave the waiting list" link: signs the entry's random uid."""
    return _serializer(WAITING_SALT).dumps(entry_uid)


def waiting_uid_from_token(token: str) -> str | None:
    return _uid_from(WAITING_SALT, token)


def offer_token(offer_uid: str) -> str:
    """For the claim link in a waiting-list offer: signs the offer's random uid."""
    return _serializer(OFFER_SALT).dumps(offer_uid)


def offer_uid_from_token(token: str) -> str | None:
    return _uid_from(OFFER_SALT, token)


def _uid_from(salt: str, token: str) -> str | None:
    max_age = current_app.config["MANAGE_TOKEN_MAX_AGE_DAYS"] * 86400
    try:
        uid = _serializer(salt).loads(token, max_age=max_age)
    except BadSignature:
        return None
    return uid if isinstance(uid, str) else None


FEE_SALT = "fee-payment"


def fee_token(appointment: Appointment, fee_kind: str) -> str:
    """For the link to pay a fee: signs the appointment's random uid and the fee's kind."""
    return _serializer(FEE_SALT).dumps(f"{appointment.uid}:{fee_kind}")


def fee_url(appointment: Appointment, fee_kind: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/fee/{fee_token(appointment, fee_kind)}"


def fee_of_token(token: str) -> tuple[str, str] | None:
    """(appointment uid, fee kind) a fee link was signed for, or None."""
    signed = _uid_from(FEE_SALT, token)
    if signed is None or ":" not in signed:
        return None
    uid, _, kind = signed.rpartition(":")
    return uid, kind
