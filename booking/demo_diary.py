"""The demo clinic's coming fortnight: invented patients and appointments, so a newcomer
opens a living diary. Loaded by `flask seed-demo`; running it again adds nothing."""

from datetime import date, datetime, timedelta

from sqlalchemy import select

from booking.clinic import credits
from booking.clinic.localtime import local_to_utc, to_local, wall_time_exists
from booking.clinic.payments import ledger
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentSource,
    Course,
    CourseProduct,
    Patient,
    PaymentMethod,
    Practitioner,
    StaffUser,
    TimeOff,
)

# Invented people: example.org addresses and Ofcom's drama numbers (07700 900xxx).
PATIENTS = [
    ("Priya Shah", "priya.shah@example.org", "07700 900101"),
    ("Tom Hartley", "tom.hartley@example.org", "07700 900102"),
    ("Maria Novak", "maria.novak@example.org", "07700 900103"),
    ("Owen Price", "owen.price@example.org", "07700 900104"),
    ("Aisha Bello", "aisha.bello@example.org", "07700 900105"),
    ("Gareth Lloyd", "gareth.lloyd@example.org", "07700 900106"),
    ("Helen Carter", "helen.carter@example.org", "07700 900107"),
    ("Ravi Menon", "ravi.menon@example.org", "07700 900108"),
]
FORTNIGHT_DAYS = 14
SPACING_MINUTES = 150  # leaves room between appointments, so none overlap


def fill_demo_diary(now: datetime | None = None) -> int:
    """Book the coming fortnight for the demo patients; returns how many were booked.

    Does nothing once the demo patients exist, so running seed-demo twice adds nothing.
    """
    now = now or utcnow()
    if db.session.scalar(select(Patient).filter_by(email=PATIENTS[0][1])) is not None:
        return 0
    zone = clinic_settings().zone
    today = to_local(now, zone).date()
    with unit_of_work() as session:
        patients = [Patient(name=n, email=e, phone=p) for n, e, p in PATIENTS]
        session.add_all(patients)
        practitioners = session.scalars(
            select(Practitioner).where(Practitioner.active).order_by(Practitioner.position)
        ).all()
        booked = 0
        for offset in range(FORTNIGHT_DAYS):
            day = today + timedelta(days=offset)
            for practitioner in practitioners:
                openings = _openings(practitioner, day, zone, now)
                for index, (starts_at, session_type) in enumerate(openings):
                    if offset >= 7 and index % 2:
                        # The second week is lighter: every other time stays free, so
                        # "Book again, same time next week" works for half of this week's.
                        continue
                    session.add(
                        Appointment(
                            practitioner=practitioner,
                            patient=patients[booked % len(patients)],
                            session_type=session_type,
                            starts_at=starts_at,
                            ends_at=starts_at + timedelta(minutes=session_type.duration_minutes),
                            source=AppointmentSource.STAFF.value,
                            price_pence=session_type.price_pence,
                        )
                    )
                    booked += 1
    _sell_a_course(patients[0], now)
    _wait_for_a_time(patients[2], today, now)
    return booked


def _wait_for_a_time(patient: Patient, today: date, now: datetime) -> None:
    """One patient on the waiting list: a massage with anyone, weekday mornings, a fortnight."""
    from booking.clinic.waiting_list import Wish, add_caller
    from booking.models import SessionType

    session_type = db.session.scalar(select(SessionType).filter_by(slug="massage"))
    desk = db.session.scalar(select(StaffUser).filter_by(email="reception@clinic.example"))
    if session_type is None or desk is None:
        return
    add_caller(
        patient,
        Wish(
            session_type=session_type,
            practitioner=None,
            weekdays="01234",
            parts_of_day="m",
            until=today + timedelta(days=FORTNIGHT_DAYS),
        ),
        staff_user=desk,
        now=now,
    )


def _openings(practitioner: Practitioner, day: date, zone, now: datetime):
    """Every SPACING_MINUTES through the day's working hours, future and free times only."""
    offered = sorted((s for s in practitioner.session_types if s.active), key=lambda s: s.position)
    if not offered:
        return
    session_type = offered[0]
    length = timedelta(minutes=session_type.duration_minutes)
    for hours in practitioner.working_hours:
        if hours.weekday != day.weekday() or not wall_time_exists(day, hours.starts_at, zone):
            continue
        starts_at = local_to_utc(day, hours.starts_at, zone)
        closes_at = local_to_utc(day, hours.ends_at, zone)
        while starts_at + length <= closes_at:
            if starts_at > now and practitioner_free(practitioner, starts_at, starts_at + length):
                yield starts_at, session_type
            starts_at += timedelta(minutes=SPACING_MINUTES)


def practitioner_free(practitioner: Practitioner, starts_at: datetime, ends_at: datetime) -> bool:
    taken = select(Appointment.id).where(
        Appointment.practitioner_id == practitioner.id,
        Appointment.is_live,
        Appointment.starts_at < ends_at,
        Appointment.ends_at > starts_at,
    )
    blocked = select(TimeOff.id).where(
        TimeOff.practitioner_id == practitioner.id,
        TimeOff.starts_at < ends_at,
        TimeOff.ends_at > starts_at,
    )
    return db.session.scalar(taken.limit(1)) is None and db.session.scalar(blocked.limit(1)) is None


def _sell_a_course(patient: Patient, now: datetime) -> None:
    product = db.session.scalar(select(CourseProduct).order_by(CourseProduct.id).limit(1))
    desk = db.session.scalar(select(StaffUser).filter_by(email="reception@clinic.example"))
    if product is None or desk is None:
        return
    # Through the ledger, as the desk sells one: the demo course shows as paid in cash.
    course = ledger.sell_course_paid(
        product, patient, method=PaymentMethod.CASH, staff_user=desk, reference="cash", now=now
    )
    _book_course_sessions(course, desk)


def _book_course_sessions(course: Course, desk: StaffUser) -> None:
    """Make the sold course one in progress: two of its patient's visits become sessions."""
    session_type = course.session_type
    with unit_of_work() as session:
        visits = session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == course.patient_id)
            .order_by(Appointment.starts_at)
        ).all()
        for visit in [v for v in visits if session_type in v.practitioner.session_types][:2]:
            # Slots are SPACING_MINUTES apart, longer than any demo session: still no overlap.
            visit.session_type = session_type
            visit.ends_at = visit.starts_at + timedelta(minutes=session_type.duration_minutes)
            visit.price_pence = 0
            visit.course_id = course.id
            session.flush()
            credits.spend_credit(course, visit, staff_user=desk)
