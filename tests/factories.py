"""Factories shared by the test modules: each builds one thing a test needs, and commits it.

    make_patient(name="Ada Lovelace")                       # a Patient row
    make_appointment(at(day, 10), practitioner="colette-assor", session="massage")
    make_course(paid=True)                                  # sold the way the desk sells one
    make_staff("receptionist")                              # tests/fixtures_staff.py

Tests ask for them as fixtures of the same names (tests/fixtures_factories.py), which
also makes sure the app and its database are there; helpers outside a test function can
import them from here. Slugs name the demo clinic's practitioners and session types (the
`demo` fixture loads them), or pass the objects themselves. `make_appointment` writes the
row straight to the table, so it takes times the booking rules would refuse (in the past,
inside the notice period); a test of those rules books through booking.clinic.appointments.
"""

import itertools
from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Course,
    CourseProduct,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
)

_numbers = itertools.count(1)


def _by_slug(model, value, what: str):
    if not isinstance(value, str):
        return value
    found = db.session.scalar(sa.select(model).filter_by(slug=value))
    if found is None:
        raise LookupError(f"no {what} {value!r}: does the test ask for the `demo` fixture?")
    return found


def make_patient(
    name: str | None = None, *, email: str | None = None, phone: str | None = None, **fields
) -> Patient:
    """A new patient; a unique name and email unless given (email="" for none)."""
    number = next(_numbers)
    patient = Patient(
        name=name or f"Test Patient {number}",
        email=(email if email is not None else f"patient-{number}@example.org") or None,
        phone=phone,
        **fields,
    )
    db.session.add(patient)
    db.session.commit()
    return patient


def make_appointment(
    starts_at: datetime,
    *,
    practitioner: Practitioner | str = "colette-assor",
    session: SessionType | str = "massage",
    patient: Patient | str | None = None,
    minutes: int | None = None,
    status: str = AppointmentStatus.BOOKED.value,
    source: str = "staff",
    **fields,
) -> Appointment:
    """An appointment written straight to the table.

    practitioner and session are slugs or objects (by default the demo clinic's Colette
    Assor and her massage); patient is a Patient, or a name for a new one, or None for a
    new one named for you. It ends after the session's length unless `minutes` is given.
    """
    session_type = _by_slug(SessionType, session, "session type")
    if not isinstance(patient, Patient):
        patient = make_patient(patient)
    length = minutes if minutes is not None else session_type.duration_minutes
    appointment = Appointment(
        practitioner=_by_slug(Practitioner, practitioner, "practitioner"),
        patient=patient,
        session_type=session_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=length),
        status=status,
        source=source,
        **fields,
    )
    db.session.add(appointment)
    db.session.commit()
    return appointment


def make_course(
    product: CourseProduct | None = None,
    *,
    patient: Patient | None = None,
    paid: bool = True,
    staff_user: StaffUser | None = None,
    now: datetime | None = None,
) -> Course:
    """A patient's course, bought through the domain the way most are.

    Requested online, then (unless paid=False) marked paid at the desk by `staff_user`,
    so its credits, ledger and messages are a real course's. The default product is the
    first on sale (the demo clinic's 10-session course).
    """
    from booking.clinic import courses

    product = product or db.session.scalar(
        sa.select(CourseProduct).where(CourseProduct.active).order_by(CourseProduct.id)
    )
    if product is None:
        raise LookupError("no course product on sale: does the test ask for `demo`?")
    patient = patient or make_patient()
    course = courses.request_course(product, patient, now=now)
    if not paid:
        return course
    if staff_user is None:
        raise ValueError("a course is marked paid by a member of staff: pass staff_user")
    return courses.activate_course(course, "card 1234", staff_user, now=now)
