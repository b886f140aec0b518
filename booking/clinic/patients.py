"""Patients' records: finding them, correcting them, handing them over and erasing them.

A patient's record is health data. Three rules follow from that:

- The audit log says what happened to a record, never what it holds: a change records
  which fields changed, an export or an erasure records counts. Anything else would keep
  a copy of the data outside the record, where erasure could not reach it.
- An export holds everything the clinic keeps about the patient and nothing about anyone
  else. Messages belong to a patient through their appointments and courses, not through
  an email address, because family members often share one.
- Erasure anonymises; it does not delete. Appointments, courses and credit ledgers stay
  for the diary and the accounts, shown as "Erased patient", with every field that could
  say who the patient was emptied, in one transaction.
"""

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update

from booking.clinic import DomainError, access_log, audit, postal
from booking.clinic.localtime import local_today, to_local
from booking.clinic.records import retention
from booking.clinic.records.access import may_read_record
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import rows_changed, utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    Course,
    Document,
    OutboxAttachment,
    OutboxMessage,
    OutboxStatus,
    Patient,
    StaffUser,
    Testimonial,
    WaitingListEntry,
    WaitingStatus,
)
from booking.models.patients import searchable

SEARCH_LIMIT = 30
SEARCH_LONGEST = 254  # the longest email address a patient can have
ERASED_NAME = "Erased patient"
EXPORT_FORMAT = 1


class PatientStillBooked(DomainError):
    """Erasure refused: live appointments lie ahead, and the clinic would not know who comes."""

    def __init__(self, count: int, first_starts_at: datetime):
        noun = "appointment" if count == 1 else "appointments"
        super().__init__(
            f"This patient still has {count} {noun} booked from now on. Cancel "
            f"{'it' if count == 1 else 'them'} first (the patient is told), then erase the record."
        )
        self.count = count
        self.first_starts_at = first_starts_at


@dataclass(frozen=True)
class ContactDetails:
    """What the front desk may correct about a patient."""

    name: str
    email: str | None = None
    phone: str | None = None
    staff_notes: str = ""
    # Optional, for receipts an insurer or cash plan accepts.
    date_of_birth: date | None = None
    address: str = ""
    postcode: str = ""


CONTACT_FIELDS = ("name", "email", "phone", "staff_notes", "date_of_birth", "address", "postcode")


@dataclass(frozen=True)
class Erasure:
    """What an erasure did, in counts: nothing in it says who the patient was."""

    appointments: int
    courses: int
    messages_deleted: int
    messages_blanked: int
    replies: int
    # When the clinical record kept after the erasure will be erased (None: there is none).
    clinical_record_kept_until: datetime | None = None


# Finding --------------------------------------------------------------------------------------


def search_patients(text: str, *, limit: int = SEARCH_LIMIT) -> list[Patient]:
    """Patients whose name, email or phone contains `text`, ignoring accents, case,
    spacing and the order of words ("zoe oneill" and "O'Neill Zoë" find Zoë O'Neill;
    "07700900101" finds 07700 900101)."""
    # Longer than any name, email or phone: nothing can match, and SQLite refuses a
    # LIKE pattern of some tens of thousands of characters as too complex.
    if len(text) > SEARCH_LONGEST:
        return []
    folded = searchable(text)
    if len(folded) < 2:
        return []
    condition: ColumnElement[bool] = Patient.search_text.like(
        f"%{_escape_like(folded)}%", escape="\\"
    )
    # Each word on its own too, in any order: "Novak Maria", as a caller gives it, finds
    # Maria Novak ("O Neill" still finds O'Neill through the whole, spaces dropped).
    words = [word for word in (searchable(part) for part in text.split()) if word]
    if len(words) > 1:
        condition = or_(
            condition,
            and_(
                *(
                    Patient.search_text.like(f"%{_escape_like(word)}%", escape="\\")
                    for word in words[:6]
                )
            ),
        )
    return list(
        db.session.scalars(
            select(Patient).where(condition).order_by(Patient.name, Patient.id).limit(limit)
        )
    )


def next_appointments(
    patient_ids: list[int], *, now: datetime | None = None
) -> dict[int, Appointment]:
    """Each patient's next live appointment from now, for search results: one query."""
    if not patient_ids:
        return {}
    now = now or utcnow()
    rows = db.session.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id.in_(patient_ids),
            Appointment.is_live,
            Appointment.starts_at >= now,
        )
        .order_by(Appointment.starts_at)
    )
    found: dict[int, Appointment] = {}
    for appointment in rows:
        found.setdefault(appointment.patient_id, appointment)
    return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def is_erased(patient: Patient) -> bool:
    """Whether the record has been erased (its audit event is the one sure sign)."""
    return (
        db.session.scalar(
            select(AuditEvent.id)
            .where(
                AuditEvent.action == "patient.erased",
                AuditEvent.subject_type == Patient.__name__,
                AuditEvent.subject_id == patient.id,
            )
            .limit(1)
        )
        is not None
    )


def future_live_appointments(patient: Patient, *, now: datetime) -> list[Appointment]:
    """The patient's live appointments that have not finished yet, earliest first."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.patient_id == patient.id,
                Appointment.is_live,
                Appointment.ends_at > now,
            )
            .order_by(Appointment.starts_at)
        )
    )


# Booking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientDetails:
    name: str
    email: str | None
    phone: str | None


def find_or_create_patient(details: PatientDetails, *, consent_at: datetime | None) -> Patient:
    """Reuse the patient with this email and name, or add a new one.

    Matching needs both: family members often share an email address. Online
    details never overwrite a stored record, so nobody can change another
    patient's phone number by booking with their email.
    """
    email = details.email.strip().lower() if details.email else None
    name = " ".join(details.name.split())
    patient = None
    if email:
        # Taken FOR UPDATE: an erasure holding the row makes this wait, and the erased row
        # then no longer matches, so the booking goes to a new record, never the erased one.
        # An erasure that comes second waits for this booking and sees it.
        patient = db.session.scalar(
            select(Patient)
            .where(Patient.email == email, func.lower(Patient.name) == name.lower())
            .order_by(Patient.id)
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    if patient is None:
        patient = Patient(name=name, email=email, phone=(details.phone or "").strip() or None)
        db.session.add(patient)
    if consent_at is not None and patient.health_consent_at is None:
        patient.health_consent_at = consent_at
    return patient


# Correcting -----------------------------------------------------------------------------------


def _clean(details: ContactDetails) -> ContactDetails:
    name = " ".join(details.name.split())
    if not name:
        raise DomainError("Enter the patient's name.")
    email = (details.email or "").strip().lower() or None
    phone = " ".join((details.phone or "").split()) or None
    if email is None and phone is None:
        raise DomainError(
            "Keep an email address or a phone number, so that the clinic can reach the patient."
        )
    today = local_today(utcnow(), clinic_settings().zone)
    return ContactDetails(
        name=name,
        email=email,
        phone=phone,
        staff_notes=(details.staff_notes or "").strip(),
        date_of_birth=postal.check_date_of_birth(details.date_of_birth, today=today),
        address=postal.clean_address(details.address),
        postcode=postal.normalise_postcode(details.postcode),
    )


def change_contact_details(
    patient: Patient, details: ContactDetails, *, staff_user: StaffUser
) -> list[str]:
    """Save corrected contact details; returns the names of the fields that changed.

    The audit event names the fields, never their old or new values.
    """
    details = _clean(details)
    with unit_of_work():
        patient = _lock(patient)
        if is_erased(patient):
            raise DomainError("This record has been erased: there are no details left to change.")
        changed = [
            field for field in CONTACT_FIELDS if getattr(patient, field) != getattr(details, field)
        ]
        if not changed:
            return []
        for field in changed:
            setattr(patient, field, getattr(details, field))
        if "email" in changed:
            # Confirmed was the old address; the new one has yet to be (email_confirmation).
            patient.email_confirmed_at = None
        # Practitioners' calendar feeds notice a renamed patient by this.
        patient.updated_at = utcnow()
        audit.record(staff_user, "patient.changed", patient, fields=changed)
    return changed


def lock_bookable(patient: Patient) -> Patient:
    """Hold the patient's row for a booking or a course; an erased record takes neither.

    An erasure takes the same row first, so the two are ordered: either the erasure
    sees the new booking (and refuses), or the booking sees the record erased.
    """
    locked = _lock(patient)
    if is_erased(locked):
        raise DomainError("This patient's record has been erased, so it cannot be booked.")
    return locked


def _lock(patient: Patient) -> Patient:
    """Take the patient's row (FOR UPDATE; SQLite holds its write lock), read afresh."""
    return lock_or_refuse(Patient, patient.id, "This patient's record no longer exists.")


# Handing over ---------------------------------------------------------------------------------


def _patient_messages(patient: Patient) -> ColumnElement[bool]:
    """A condition for the outbox messages about this patient, to them or to reception.

    Every message about a patient names one of their appointments or carries one of
    their courses' keys; matching on the email address instead would take in messages to
    others who share it.
    """
    appointment_ids = select(Appointment.id).where(Appointment.patient_id == patient.id)
    conditions: list[ColumnElement[bool]] = [OutboxMessage.appointment_id.in_(appointment_ids)]
    for course_uid in db.session.scalars(select(Course.uid).where(Course.patient_id == patient.id)):
        conditions.append(
            OutboxMessage.dedupe_key.like(f"course:{_escape_like(course_uid)}:%", escape="\\")
        )
    # The waiting list's messages carry the entry's or the offer's uid.
    entries = db.session.scalars(
        select(WaitingListEntry).where(WaitingListEntry.patient_id == patient.id)
    ).all()
    for entry in entries:
        conditions.append(
            OutboxMessage.dedupe_key.like(f"waiting:{_escape_like(entry.uid)}:%", escape="\\")
        )
        for offer in entry.offers:
            conditions.append(
                OutboxMessage.dedupe_key.like(
                    f"waiting-offer:{_escape_like(offer.uid)}%", escape="\\"
                )
            )
    # Invoices, receipts and credit notes emailed to them carry the document's reference.
    for reference in db.session.scalars(
        select(Document.reference).where(Document.patient_id == patient.id)
    ):
        conditions.append(
            OutboxMessage.dedupe_key.like(f"document:{_escape_like(reference)}:%", escape="\\")
        )
    return or_(*conditions)


def messages_about(patient: Patient) -> ColumnElement[bool]:
    """The outbox messages to or about this patient (the communications log)."""
    return _patient_messages(patient)


def _is_to_patient(message: OutboxMessage) -> bool:
    return not message.kind.startswith("reception_")


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _times(prefix: str, value: datetime | None, zone: ZoneInfo) -> dict[str, str | None]:
    return {
        f"{prefix}_utc": _instant(value),
        f"{prefix}_local": _instant(to_local(value, zone)) if value is not None else None,
    }


def export_record(patient: Patient, *, staff_user: StaffUser) -> dict[str, Any]:
    """Everything held about the patient, as plain JSON-ready data; the export is audited.

    Message bodies are left out: they repeat what the appointments say, with signed links
    that act for the patient. Notes staff wrote are left out too: whether to hand those
    over is the clinic's decision, made case by case.
    """
    with unit_of_work():
        return _export_record(patient, staff_user)


def _export_record(patient: Patient, staff_user: StaffUser) -> dict[str, Any]:
    settings = clinic_settings()
    zone = settings.zone
    # Held while read, so an erasure or a correction cannot land between two of the reads.
    patient = _lock(patient)
    appointments = list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient.id)
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )
    courses = list(
        db.session.scalars(
            select(Course)
            .where(Course.patient_id == patient.id)
            .order_by(Course.requested_at, Course.id)
        )
    )
    replies = (
        list(
            db.session.scalars(
                select(Testimonial)
                .where(func.lower(Testimonial.author_email) == patient.email)
                .order_by(Testimonial.created_at, Testimonial.id)
            )
        )
        if patient.email
        else []
    )
    messages = [
        message
        for message in db.session.scalars(
            select(OutboxMessage)
            .where(_patient_messages(patient))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        if _is_to_patient(message)
    ]
    # What the patient told us when booking is health information: only those who may
    # read their clinical record see it in an export.
    notes_readable = may_read_record(staff_user, patient.id)
    appointment_uids: dict[int | None, str] = {
        appointment.id: appointment.uid for appointment in appointments
    }
    record = {
        "format": EXPORT_FORMAT,
        "exported_at": _instant(utcnow()),
        "clinic": settings.name,
        "clinic_time_zone": settings.timezone,
        "patient": {
            "id": patient.id,
            "name": patient.name,
            "email": patient.email,
            "phone": patient.phone,
            # A subject access request covers what staff wrote about the patient too.
            "staff_notes": patient.staff_notes,
            "date_of_birth": (patient.date_of_birth.isoformat() if patient.date_of_birth else None),
            "address": patient.address,
            "postcode": patient.postcode,
            "health_consent_at": _instant(patient.health_consent_at),
            "email_confirmed_at": _instant(patient.email_confirmed_at),
            "created_at": _instant(patient.created_at),
            "updated_at": _instant(patient.updated_at),
        },
        "appointments": [
            {
                "reference": appointment.uid,
                **_times("starts_at", appointment.starts_at, zone),
                **_times("ends_at", appointment.ends_at, zone),
                "status": appointment.status,
                "session_type": appointment.session_type.name,
                "practitioner": appointment.practitioner.name,
                "booked": appointment.source,
                "course_reference": appointment.course.uid if appointment.course else None,
                "patient_note": appointment.patient_note if notes_readable else None,
                "staff_note": appointment.staff_note,
                "price_pence": appointment.price_pence,
                "cancelled_at_utc": _instant(appointment.cancelled_at),
                "cancelled_by": appointment.cancelled_by,
                "cancellation_asked_for_by": appointment.cancel_requested_by,
                "created_at_utc": _instant(appointment.created_at),
            }
            for appointment in appointments
        ],
        "courses": [
            {
                "reference": course.uid,
                "product": course.product.name,
                "session_type": course.session_type.name,
                "status": course.status,
                "sessions_total": course.sessions_total,
                "credits_remaining": course.credits_remaining,
                "price_pence": course.price_pence,
                "requested_at_utc": _instant(course.requested_at),
                "paid_at_utc": _instant(course.paid_at),
                **_times("expires_at", course.expires_at, zone),
                "credit_ledger": [
                    {
                        "at_utc": _instant(entry.created_at),
                        "change": entry.change,
                        "reason": entry.reason,
                        "appointment_reference": appointment_uids.get(entry.appointment_id),
                    }
                    for entry in course.credit_entries
                ],
            }
            for course in courses
        ],
        "replies": [
            {
                "page": reply.page,
                "author_name": reply.author_name,
                "author_email": reply.author_email,
                "body_html": reply.body_html,
                "status": reply.status,
                "created_at_utc": _instant(reply.created_at),
            }
            for reply in replies
        ],
        "messages": [
            {
                "kind": message.kind,
                "subject": message.subject,
                "status": message.status,
                "sent_at_utc": _instant(message.sent_at),
            }
            for message in messages
        ],
        # Who at the clinic has opened this record or exported it, and when.
        "record_reads": access_log.readers_of(patient.id),
        "clinical_record": _clinical_record(patient, staff_user),
    }
    audit.record(
        staff_user,
        "patient.exported",
        patient,
        appointments=len(appointments),
        courses=len(courses),
        replies=len(replies),
        messages=len(messages),
    )
    return record


def _clinical_record(patient: Patient, staff_user: StaffUser) -> dict[str, Any]:
    """The clinical record, decrypted, when the exporter may read it (never reception)."""
    if not may_read_record(staff_user, patient.id):
        return {
            "included": False,
            # The export page is the front desk's and admins' (practitioners do not open
            # patients' pages), so of those who can export, only an admin includes it.
            "why": "Only an administrator may export the clinical record: please ask one.",
        }
    access_log.record_read(staff_user, patient.id, "clinical_export")
    return {"included": True, **retention.clinical_export(patient.id)}


# Erasing --------------------------------------------------------------------------------------


def _same_name(typed: str, name: str) -> bool:
    return " ".join(typed.split()).casefold() == " ".join(name.split()).casefold()


def erase_patient(
    patient: Patient, *, typed_name: str, staff_user: StaffUser, now: datetime | None = None
) -> Erasure:
    """Anonymise the patient's record and everything that could name them, in one transaction.

    Refused while live appointments lie ahead (PatientStillBooked), and unless
    `typed_name` is the patient's name, so that nobody erases the wrong record by a slip.
    Unsent messages about the patient are deleted; sent ones keep their kind, subject and
    times for the outbox's history but lose their recipient and contents.
    """
    now = now or utcnow()
    with unit_of_work():
        return _erase(_lock(patient), typed_name, staff_user, now)


def _erase(patient: Patient, typed_name: str, staff_user: StaffUser, now: datetime) -> Erasure:
    # The row is held: a booking for this patient either committed before (and is seen
    # here, so the erasure is refused) or waits and then finds the record erased.
    if is_erased(patient):
        raise DomainError("This record has already been erased.")
    if not _same_name(typed_name, patient.name):
        raise DomainError(
            "Type the patient's name exactly as shown to confirm. Nothing has been erased."
        )
    ahead = future_live_appointments(patient, now=now)
    if ahead:
        raise PatientStillBooked(len(ahead), ahead[0].starts_at)

    # Before the contact details go: the clinical record stays until its retention ends,
    # with the identity sealed beside it.
    kept = retention.schedule_clinical_erasure(patient, staff_user=staff_user, now=now)
    email = patient.email
    about_patient = _patient_messages(patient)
    messages_deleted = rows_changed(
        db.session.execute(
            delete(OutboxMessage).where(
                about_patient, OutboxMessage.status != OutboxStatus.SENT.value
            ),
            execution_options={"synchronize_session": False},
        )
    )
    sent_about_patient = (about_patient, OutboxMessage.status == OutboxStatus.SENT.value)
    # The files a sent message carried (a receipt's PDF names the patient) go with its
    # contents; unsent messages take theirs with them (ON DELETE CASCADE).
    db.session.execute(
        delete(OutboxAttachment).where(
            OutboxAttachment.message_id.in_(select(OutboxMessage.id).where(*sent_about_patient))
        ),
        execution_options={"synchronize_session": False},
    )
    messages_blanked = rows_changed(
        db.session.execute(
            update(OutboxMessage)
            .where(*sent_about_patient)
            .values(recipient="", text_body="", html_body=None, ics=None, last_error=""),
            execution_options={"synchronize_session": False},
        )
    )
    # Nobody is offered times any more: an erased record waits for nothing.
    db.session.execute(
        update(WaitingListEntry)
        .where(
            WaitingListEntry.patient_id == patient.id,
            WaitingListEntry.status == WaitingStatus.WAITING.value,
        )
        .values(status=WaitingStatus.REMOVED.value, ended_at=now),
        execution_options={"synchronize_session": False},
    )
    replies = 0
    if email:
        replies = rows_changed(
            db.session.execute(
                update(Testimonial)
                .where(func.lower(Testimonial.author_email) == email)
                .values(author_email=""),
                execution_options={"synchronize_session": False},
            )
        )
    appointments = rows_changed(
        db.session.execute(
            update(Appointment)
            .where(Appointment.patient_id == patient.id)
            .values(patient_note="", staff_note="", updated_at=now),
            execution_options={"synchronize_session": False},
        )
    )
    courses = db.session.execute(
        select(func.count()).select_from(Course).where(Course.patient_id == patient.id)
    ).scalar_one()

    patient.name = ERASED_NAME
    patient.email = None
    patient.email_confirmed_at = None
    patient.phone = None
    patient.staff_notes = ""
    patient.date_of_birth = None
    patient.address = ""
    patient.postcode = ""
    patient.updated_at = now
    erasure = Erasure(
        appointments=appointments,
        courses=courses,
        messages_deleted=messages_deleted,
        messages_blanked=messages_blanked,
        replies=replies,
        clinical_record_kept_until=kept.erase_after if kept is not None else None,
    )
    audit.record(staff_user, "patient.erased", patient, **asdict(erasure))
    # The commit at the end of the unit of work expires every loaded object, so nothing
    # stale from before the bulk updates (an appointment's note, say) is shown afterwards.
    return erasure
