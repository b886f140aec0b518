"""The demo clinic's recent past: visits already made, with their clinical record and money,
so a newcomer signed in as the practitioner, the receptionist or the admin finds something on
every screen. Loaded by `flask seed-demo` after the diary; running it again adds nothing.

Everything clinical goes through the functions a real visit uses (the questionnaire,
consent, treatment notes, outcome scores), so it is sealed at rest like any other record;
money goes through the ledger and the receipts. Only the visits themselves are written
straight to the table, as the demo diary's are: booking refuses a time in the past.
All dates are worked out from the time the seed runs, in the clinic's zone.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from booking.clinic import credits
from booking.clinic.appointments import record_attendance
from booking.clinic.documents.from_ledger import issue_receipt
from booking.clinic.documents.issuing import ClaimDetails
from booking.clinic.errors import DomainError
from booking.clinic.localtime import local_to_utc, to_local
from booking.clinic.payments import ledger
from booking.clinic.records import consent, intake, notes, outcomes
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import unit_of_work
from booking.database import utcnow
from booking.demo_diary import practitioner_free
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Course,
    CourseProduct,
    Patient,
    Practitioner,
    RecordMethod,
    SessionType,
    StaffUser,
)

# Invented people, as in the demo diary: example.org addresses, Ofcom's drama numbers.
COURSE_PATIENT = ("Nadia Rahman", "nadia.rahman@example.org", "07700 900111", date(1978, 4, 12))
SINGLE_PATIENT = ("Daniel Osei", "daniel.osei@example.org", "07700 900112", date(1985, 9, 3))
DESK_PATIENT = ("Grace Whitfield", "grace.whitfield@example.org", "07700 900113", date(1962, 1, 28))
COURSE_WEEKS = 5  # weekly sessions of the course already made, the last one on the latest day
# The visits' wished-for times; one taken already (a database seeded days ago, whose
# diary has since become the past) moves to the first free time of the day.


@dataclass(frozen=True)
class DemoStaff:
    desk: StaffUser
    colette: StaffUser


def fill_demo_records(desk: StaffUser, colette: StaffUser, now: datetime | None = None) -> bool:
    """Add the demo clinic's past visits and their records; False when they are there already.

    One unit of work: either all of it is added or none (the domain functions join it).
    """
    now = now or utcnow()
    if db.session.scalar(select(Patient.id).filter_by(email=COURSE_PATIENT[1])) is not None:
        return False
    staff = DemoStaff(desk=desk, colette=colette)
    zone = clinic_settings().zone
    today = to_local(now, zone).date()
    latest = _weekday_before(today, range(5))  # Colette works Monday to Friday
    sams_day = _weekday_before(today, (1, 2, 3))  # Sam works Tuesday to Thursday
    with unit_of_work():
        _course_in_progress(staff, latest, zone)
        _single_visit_paid_and_receipted(staff, latest, zone)
        _visit_taken_at_the_desk_part_paid(staff, sams_day, zone)
    return True


def _weekday_before(today: date, weekdays) -> date:
    """The latest day before today that falls on one of `weekdays` (Monday is 0)."""
    day = today - timedelta(days=1)
    while day.weekday() not in weekdays:
        day -= timedelta(days=1)
    return day


def _patient(details: tuple[str, str, str, date], address: str = "") -> Patient:
    name, email, phone, born = details
    patient = Patient(
        name=name,
        email=email,
        phone=phone,
        date_of_birth=born,
        address=address,
        postcode="NW0 1AB" if address else "",
    )
    db.session.add(patient)
    db.session.flush()
    return patient


def _visit(
    patient: Patient,
    practitioner_slug: str,
    session_slug: str,
    day: date,
    at: time,
    zone,
    course: Course | None = None,
) -> Appointment:
    practitioner = db.session.scalar(select(Practitioner).filter_by(slug=practitioner_slug))
    session_type = db.session.scalar(select(SessionType).filter_by(slug=session_slug))
    if practitioner is None or session_type is None:
        raise LookupError(f"the demo clinic has no {practitioner_slug} or {session_slug}")
    starts_at = _free_start(practitioner, day, at, session_type.duration_minutes, zone)
    appointment = Appointment(
        practitioner=practitioner,
        patient=patient,
        session_type=session_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=session_type.duration_minutes),
        source=AppointmentSource.STAFF.value,
        price_pence=0 if course is not None else session_type.price_pence,
        course_id=course.id if course is not None else None,
    )
    db.session.add(appointment)
    db.session.flush()
    return appointment


def _free_start(
    practitioner: Practitioner, day: date, wanted: time, minutes: int, zone
) -> datetime:
    """`wanted` on `day` if the practitioner is free then, else the first free quarter hour
    of their working hours that day (an earlier seed's diary may have taken the time)."""
    length = timedelta(minutes=minutes)
    candidates = [local_to_utc(day, wanted, zone)]
    for hours in sorted(practitioner.working_hours, key=lambda h: h.starts_at):
        if hours.weekday != day.weekday():
            continue
        starts_at = local_to_utc(day, hours.starts_at, zone)
        while starts_at + length <= local_to_utc(day, hours.ends_at, zone):
            candidates.append(starts_at)
            starts_at += timedelta(minutes=15)
    for starts_at in candidates:
        if practitioner_free(practitioner, starts_at, starts_at + length):
            return starts_at
    raise DomainError(f"{practitioner.name} has no free time on {day.isoformat()}.")


def _answers(born: date, problem: str, yes: dict[str, str] | None = None) -> intake.IntakeAnswers:
    yes = yes or {}
    return intake.IntakeAnswers(
        date_of_birth=born,
        gp_name="Dr Example",
        gp_practice="Example Road Surgery, London",
        problem=problem,
        history={
            question.key: intake.HistoryAnswer(
                "yes" if question.key in yes else "no", yes.get(question.key, "")
            )
            for question in intake.current_questionnaire().history
        },
    )


def _attended(appointment: Appointment, staff: DemoStaff) -> None:
    record_attendance(
        appointment, AppointmentStatus.ATTENDED, staff_user=staff.desk, now=appointment.ends_at
    )


def _note(
    appointment: Appointment, content: notes.NoteContent, staff: DemoStaff, *, sign: bool
) -> None:
    written = appointment.ends_at + timedelta(minutes=10)
    note = notes.save_draft(
        appointment, content, staff_user=staff.colette, seen_version=None, now=written
    )
    if sign:
        notes.sign_note(
            appointment,
            staff_user=staff.colette,
            seen_version=note.version,
            now=written + timedelta(minutes=5),
        )


def _course_note(number: int, pain: int) -> notes.NoteContent:
    return notes.NoteContent(
        subjective=(
            "Presenting complaint: left-sided sciatica, buttock to calf, since the spring\n"
            f"Change since last visit: {'first visit' if number == 1 else 'sleeping better'}\n"
            f"Pain today (0-10): {pain}"
        ),
        objective="Range of movement: forward bending to mid-shin, eased after treatment",
        assessment="Working impression: lumbar nerve root irritation, no warning signs",
        plan="Next session: same points; add cupping over the lower back\n"
        "Home advice: walk twenty minutes a day, knee hugs morning and evening",
        points="BL23, BL25, BL40, GB30, GB34",
        needle_count="10",
        cupping_sites="Lower back either side of the spine, five minutes",
        massage_areas="Lower back, left buttock and hamstring",
        advice="Safety advice given: mild marks from cupping fade within a week; "
        "call 999 if numbness in the saddle area or bladder changes.",
    )


def _course_in_progress(staff: DemoStaff, latest: date, zone) -> None:
    """Nadia: a paid course of ten, five weekly sessions made; intake with one flagged
    answer, consent online; scores at the first and middle sessions; four notes signed
    (the first amended) and yesterday's left as a draft; the mid-course review is due."""
    product = db.session.scalar(select(CourseProduct).order_by(CourseProduct.id).limit(1))
    if product is None:
        return
    patient = _patient(COURSE_PATIENT, address="3 Example Terrace, London")
    days = [latest - timedelta(weeks=COURSE_WEEKS - 1 - week) for week in range(COURSE_WEEKS)]
    sold_at = local_to_utc(days[0] - timedelta(days=3), time(11), zone)
    course = ledger.sell_course_paid(
        product, patient, method="card", staff_user=staff.desk, reference="card", now=sold_at
    )
    visits = []
    for day in days:
        visit = _visit(
            patient, "colette-assor", product.session_type.slug, day, time(10), zone, course
        )
        credits.spend_credit(course, visit, staff_user=staff.desk)
        visits.append(visit)
    intake.submit_intake(
        patient,
        _answers(
            COURSE_PATIENT[3],
            "Pain down the back of my left leg for months; sitting at work makes it worse.",
            {"bleeding_or_anticoagulants": "Daily aspirin, 75 mg"},
        ),
        method=RecordMethod.ONLINE,
        appointment=visits[0],
        now=sold_at + timedelta(hours=2),
    )
    consent.give_consent(
        patient,
        consent.treatments_of(visits[0]),
        method=RecordMethod.ONLINE,
        appointment=visits[0],
        now=sold_at + timedelta(hours=2, minutes=5),
    )
    pains = [7, 6, 6, 5, 4]
    activities = ["Sitting through a work meeting", "Putting on socks"]
    for number, (visit, pain) in enumerate(zip(visits, pains, strict=True), start=1):
        _attended(visit, staff)
        if outcomes.checkpoint_of(visit) is not None:
            outcomes.record_outcome(
                visit,
                pain=pain,
                activities=[(name, 10 - pain - index) for index, name in enumerate(activities)],
                method=RecordMethod.DESK,
                staff_user=staff.desk,
                now=visit.starts_at - timedelta(minutes=10),
            )
        _note(visit, _course_note(number, pain), staff, sign=number < len(visits))
    notes.amend_note(
        visits[0],
        section="points",
        text="BL23, BL25, BL40, GB30, GB34, GV4",
        reason="GV4 was used but left out of the list",
        staff_user=staff.colette,
        now=visits[0].ends_at + timedelta(days=1),
    )


def _single_visit_paid_and_receipted(staff: DemoStaff, latest: date, zone) -> None:
    """Daniel: one acupuncture visit, consent online, a signed note, paid by card at the
    desk and a numbered receipt for his cash plan."""
    patient = _patient(SINGLE_PATIENT, address="18 Sample Street, London")
    visit = _visit(patient, "colette-assor", "acupuncture", latest, time(15), zone)
    booked = visit.starts_at - timedelta(days=4)
    intake.submit_intake(
        patient,
        _answers(SINGLE_PATIENT[3], "A stiff, aching lower back after long drives."),
        method=RecordMethod.ONLINE,
        appointment=visit,
        now=booked,
    )
    consent.give_consent(
        patient, consent.treatments_of(visit), method=RecordMethod.ONLINE, now=booked
    )
    _attended(visit, staff)
    _note(
        visit,
        notes.NoteContent(
            subjective="Presenting complaint: ache across the lower back after driving\n"
            "Pain today (0-10): 4",
            objective="Palpation: tight muscles either side of the lower spine",
            plan="Next session: review in two weeks if still aching",
            points="BL23, BL25, BL40, DU4",
            needle_count="8",
            advice="Safety advice given: a little soreness for a day is common.",
        ),
        staff,
        sign=True,
    )
    paid = ledger.record_payment(
        visit, visit.price_pence, "card", staff.desk, now=visit.ends_at + timedelta(minutes=5)
    )
    issue_receipt(
        paid.entry.id,
        claim=ClaimDetails(insurer="Example Health Cash Plan", membership_number="EHC-0042"),
        staff_user=staff.desk,
        now=visit.ends_at + timedelta(minutes=6),
    )


def _visit_taken_at_the_desk_part_paid(staff: DemoStaff, day: date, zone) -> None:
    """Grace: a massage with Sam; questionnaire and consent on the desk's tablet; half
    paid in cash, the rest still owed."""
    patient = _patient(DESK_PATIENT)
    visit = _visit(patient, "sam-okafor", "massage", day, time(11), zone)
    arrived = visit.starts_at - timedelta(minutes=15)
    intake.submit_intake(
        patient,
        _answers(
            DESK_PATIENT[3],
            "Tight hips and hamstrings from gardening.",
            {"medication": "Blood pressure tablets"},
        ),
        method=RecordMethod.DESK,
        staff_user=staff.desk,
        appointment=visit,
        now=arrived,
    )
    consent.give_consent(
        patient,
        consent.treatments_of(visit),
        method=RecordMethod.DESK,
        staff_user=staff.desk,
        appointment=visit,
        now=arrived + timedelta(minutes=5),
    )
    _attended(visit, staff)
    ledger.record_payment(
        visit, visit.price_pence // 2, "cash", staff.desk, now=visit.ends_at + timedelta(minutes=5)
    )
