"""What a patient's signed link names: an appointment or a course, or a 404.

Shared by the public view modules (booking, manage-my-booking, courses, payments,
records); the tokens themselves are made and read in booking.clinic.tokens.
"""

from flask import abort
from sqlalchemy import select

from booking.clinic import courses
from booking.clinic.tokens import (
    appointment_uid_from_token,
    appointment_uid_from_view_token,
    course_uid_from_token,
)
from booking.extensions import db
from booking.models import Appointment, Course


def appointment_from_token_or_404(token: str, *, read_only: bool = False) -> Appointment:
    """The appointment a manage token (or, `read_only`, a calendar event's view token) names."""
    uid = appointment_uid_from_view_token(token) if read_only else appointment_uid_from_token(token)
    return appointment_by_uid_or_404(uid)


def appointment_by_uid_or_404(uid: str | None) -> Appointment:
    """The appointment whose uid a signed link carried (None: the link did not verify)."""
    appointment = None
    if uid is not None:
        appointment = db.session.scalar(select(Appointment).where(Appointment.uid == uid))
    if appointment is None:
        abort(404)
    return appointment


def course_from_token_or_404(token: str) -> Course:
    uid = course_uid_from_token(token)
    course = courses.course_by_uid(uid) if uid is not None else None
    if course is None:
        abort(404)
    return course
