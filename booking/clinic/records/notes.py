"""Treatment notes: drafted from the session type's template, signed, then amended only.

A note belongs to one appointment and is written by that appointment's practitioner
alone. Signing locks it: from then on its columns never change, and a correction is an
amendment (one section's new text and the reason), appended with who and when. The
history shows the signed original and every amendment in order; the note as it stands
is the original with each section's latest amendment in its place.

Reads go through `access.open_record`, which refuses reception and writes the access
log; changes are audited by section name, never by content.
"""

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.errors import ChangedMeanwhile, DomainError
from booking.clinic.local_wording import format_local_datetime
from booking.clinic.records.access import ClinicalRecordRefused, open_record
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    NoteAmendment,
    NoteStatus,
    NoteTemplate,
    Role,
    SessionType,
    StaffUser,
    TreatmentNote,
)

LONGEST_SECTION = 5000
LONGEST_REASON = 500
MOST_NEEDLES = 200

# (field, label) in the order a note reads.
SECTIONS: list[tuple[str, str]] = [
    ("subjective", "Subjective"),
    ("objective", "Objective"),
    ("assessment", "Assessment"),
    ("plan", "Plan"),
    ("points", "Points used"),
    ("needle_count", "Needle count"),
    ("cupping_sites", "Cupping sites"),
    ("massage_areas", "Massage areas"),
    ("advice", "Advice given, including safety advice"),
]
SECTION_LABELS = dict(SECTIONS)
# The sections a template pre-fills with headings and prompts.
TEMPLATE_SECTIONS = ["subjective", "objective", "assessment", "plan", "advice"]

DEFAULT_PROMPTS = {
    "subjective": "Presenting complaint:\nChange since last visit:\nPain today (0-10):",
    "objective": "Observation:\nRange of movement:\nPalpation:",
    "assessment": "Working impression:",
    "plan": "Next session:\nHome advice:",
    "advice": "Safety advice given:",
}

NOT_THE_WRITER = "Only the practitioner who saw the patient writes and signs this note."
SIGNED_AND_LOCKED = (
    "This note is signed and locked, so it cannot be edited. Add an amendment with the "
    "reason for the correction instead."
)


@dataclass(frozen=True)
class NoteContent:
    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    plan: str = ""
    points: str = ""
    needle_count: str = ""
    cupping_sites: str = ""
    massage_areas: str = ""
    advice: str = ""


@dataclass(frozen=True)
class HistoryEntry:
    """One step of a note's history: the signed original, or one amendment."""

    kind: str  # "original" or "amendment"
    at: datetime
    by: str
    sections: list[tuple[str, str]]  # (label, text)
    reason: str = ""


# Reading ------------------------------------------------------------------------------------


def note_of(appointment: Appointment) -> TreatmentNote | None:
    """The appointment's note, if one was started (no access check: domain use only)."""
    return db.session.scalar(
        select(TreatmentNote).where(TreatmentNote.appointment_id == appointment.id)
    )


def open_note(appointment: Appointment, staff_user: StaffUser) -> TreatmentNote | None:
    """The note for a member of staff allowed to read it; the read is logged."""
    open_record(staff_user, appointment.patient_id, "treatment_note")
    return note_of(appointment)


def may_write(appointment: Appointment, staff_user: StaffUser) -> bool:
    return (
        staff_user.role == Role.PRACTITIONER
        and staff_user.practitioner_id is not None
        and staff_user.practitioner_id == appointment.practitioner_id
    )


def content_of(note: TreatmentNote) -> NoteContent:
    """The note's own columns (the original, for a signed note)."""
    return NoteContent(**{field.name: getattr(note, field.name) for field in fields(NoteContent)})


def current_content(note: TreatmentNote) -> NoteContent:
    """The note as it stands: each section's latest amendment in place of the original."""
    values = {field.name: getattr(note, field.name) for field in fields(NoteContent)}
    for amendment in note.amendments:
        values[amendment.section] = amendment.text
    return NoteContent(**values)


def history(note: TreatmentNote) -> list[HistoryEntry]:
    """The signed original and each amendment, oldest first."""
    if not note.is_signed or note.signed_at is None:
        return []
    original = content_of(note)
    entries = [
        HistoryEntry(
            kind="original",
            at=note.signed_at,
            by=_name(note.signed_by),
            sections=[
                (label, getattr(original, name))
                for name, label in SECTIONS
                if getattr(original, name)
            ],
        )
    ]
    for amendment in note.amendments:
        entries.append(
            HistoryEntry(
                kind="amendment",
                at=amendment.created_at,
                by=_name(amendment.author),
                sections=[
                    (SECTION_LABELS.get(amendment.section, amendment.section), amendment.text)
                ],
                reason=amendment.reason,
            )
        )
    return entries


def _name(staff_user: StaffUser | None) -> str:
    return staff_user.name if staff_user is not None else "a former member of staff"


# Templates ----------------------------------------------------------------------------------


def template_of(session_type: SessionType) -> NoteTemplate | None:
    return db.session.scalar(
        select(NoteTemplate).where(NoteTemplate.session_type_id == session_type.id)
    )


def template_prompts(session_type: SessionType) -> dict[str, str]:
    """The headings and prompts a blank note of this session type starts with."""
    template = template_of(session_type)
    if template is None:
        return dict(DEFAULT_PROMPTS)
    return {name: getattr(template, name) for name in TEMPLATE_SECTIONS}


def blank_content(appointment: Appointment) -> NoteContent:
    """A new note pre-filled with the template of the appointment's session type."""
    return NoteContent(**template_prompts(appointment.session_type))


def save_template(
    session_type: SessionType, prompts: dict[str, str], *, staff_user: StaffUser
) -> NoteTemplate:
    """Set the prompts of a session type's template (admins only); audited by section."""
    if staff_user.role != Role.ADMIN:
        raise DomainError("Only an admin may change note templates.")
    cleaned = {
        name: _clean_text(prompts.get(name, ""), SECTION_LABELS[name]) for name in TEMPLATE_SECTIONS
    }
    with unit_of_work() as session:
        lock_or_refuse(SessionType, session_type.id, "This session type no longer exists.")
        template = template_of(session_type)
        if template is None:
            template = NoteTemplate(session_type_id=session_type.id)
            session.add(template)
        changed = [name for name in TEMPLATE_SECTIONS if getattr(template, name) != cleaned[name]]
        for name in TEMPLATE_SECTIONS:
            setattr(template, name, cleaned[name])
        template.updated_by_id = staff_user.id
        session.flush()
        audit.record(staff_user, "note_template.saved", template, sections=changed)
    return template


# Writing ------------------------------------------------------------------------------------


def _clean_text(text: str | None, label: str, longest: int = LONGEST_SECTION) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > longest:
        raise DomainError(f"{label}: please keep this to {longest} characters or fewer.")
    return text


def _clean(content: NoteContent) -> NoteContent:
    values = {name: _clean_text(getattr(content, name), label) for name, label in SECTIONS}
    needles = values["needle_count"]
    if needles and (not needles.isascii() or not needles.isdigit() or int(needles) > MOST_NEEDLES):
        raise DomainError(f"Needle count: a whole number from 0 to {MOST_NEEDLES}.")
    if needles:
        values["needle_count"] = str(int(needles))
    return NoteContent(**values)


def _writable(appointment: Appointment, staff_user: StaffUser) -> Appointment:
    """Lock the appointment and check this member of staff may write its note."""
    if not may_write(appointment, staff_user):
        raise ClinicalRecordRefused(NOT_THE_WRITER)
    locked = lock_or_refuse(Appointment, appointment.id, "This appointment no longer exists.")
    if locked.practitioner_id != staff_user.practitioner_id:
        raise ClinicalRecordRefused(NOT_THE_WRITER)
    if locked.status == AppointmentStatus.CANCELLED:
        raise DomainError("This appointment was cancelled: there is no treatment to note.")
    return locked


def save_draft(
    appointment: Appointment,
    content: NoteContent,
    *,
    staff_user: StaffUser,
    seen_version: int | None,
    now: datetime | None = None,
) -> TreatmentNote:
    """Create or update the appointment's draft note. A signed note is refused.

    `seen_version` is the version the practitioner's form was loaded with (None for a new
    note), so a save from a stale tab is refused rather than overwriting newer text.
    """
    content = _clean(content)
    now = now or utcnow()
    with unit_of_work() as session:
        locked = _writable(appointment, staff_user)
        note = note_of(locked)
        if note is not None and note.is_signed:
            raise DomainError(SIGNED_AND_LOCKED)
        if note is None:
            if seen_version is not None:
                raise ChangedMeanwhile("This note was removed meanwhile; reload the page.")
            note = TreatmentNote(
                appointment_id=locked.id,
                patient_id=locked.patient_id,
                practitioner_id=locked.practitioner_id,
                status=NoteStatus.DRAFT.value,
                version=0,
                created_at=now,
                created_by_id=staff_user.id,
            )
            session.add(note)
        elif seen_version != note.version:
            raise ChangedMeanwhile(
                "This note was saved in another window meanwhile. Reload the page to see it, "
                "then make your changes again."
            )
        changed = [
            name for name, _ in SECTIONS if getattr(note, name, None) != getattr(content, name)
        ]
        for name, _ in SECTIONS:
            setattr(note, name, getattr(content, name))
        note.version = (note.version or 0) + 1
        note.updated_at = now
        session.flush()
        audit.record(staff_user, "note.saved", note, sections=changed)
    return note


def sign_note(
    appointment: Appointment,
    *,
    staff_user: StaffUser,
    seen_version: int | None,
    now: datetime | None = None,
) -> TreatmentNote:
    """Sign the draft as it was last saved; from now on it is locked."""
    now = now or utcnow()
    with unit_of_work():
        locked = _writable(appointment, staff_user)
        note = note_of(locked)
        if note is None:
            raise DomainError("Save the note before signing it.")
        if note.is_signed:
            raise DomainError("This note is already signed.")
        if seen_version != note.version:
            raise ChangedMeanwhile(
                "This note changed since you loaded the page. Check it again, then sign."
            )
        if now < locked.starts_at:
            raise DomainError(
                "This visit has not started yet: it starts on "
                f"{format_local_datetime(locked.starts_at)}. The draft is kept; sign the "
                "note once the visit has begun."
            )
        signed = without_empty_prompts(content_of(note), _prompt_lines(locked.session_type))
        if not any(getattr(signed, name) for name, _ in SECTIONS):
            raise DomainError("This note is empty. Write what was found and done, then sign.")
        # The signed note keeps what was written, not the template's unanswered prompts.
        for name, _ in SECTIONS:
            setattr(note, name, getattr(signed, name))
        note.status = NoteStatus.SIGNED.value
        note.signed_at = now
        note.signed_by_id = staff_user.id
        audit.record(staff_user, "note.signed", note)
    return note


def _prompt_lines(session_type: SessionType) -> set[str]:
    """Every heading a draft may have been pre-filled with: this session type's template
    as it is now, and the clinic's defaults (a draft may predate a template change).

    A heading is a template line ending in a colon ("Palpation:"); any other template
    line is text the clinic wants in every note (standing advice, say) and is kept."""
    lines: set[str] = set()
    for prompts in (template_prompts(session_type), DEFAULT_PROMPTS):
        for text in prompts.values():
            lines.update(line.strip() for line in text.splitlines() if line.strip().endswith(":"))
    return lines


def without_empty_prompts(content: NoteContent, prompt_lines: set[str]) -> NoteContent:
    """The note with each template heading that has no text under it left out.

    A heading is a line that reads exactly as one of `prompt_lines`; its text is
    every line up to the next heading. A heading answered on its own line ("Pain today
    (0-10): 6") stays, and ends the heading before it like any other heading.
    """
    values = {}
    for name, _ in SECTIONS:
        values[name] = _drop_empty_headings(getattr(content, name), prompt_lines)
    return NoteContent(**values)


def _drop_empty_headings(text: str, prompt_lines: set[str]) -> str:
    kept: list[str] = []
    waiting: list[str] = []  # a heading, and any blank lines after it, until text comes
    for line in text.splitlines():
        if line.strip() in prompt_lines:
            waiting = [line]  # the heading before it had nothing under it
        elif not line.strip():
            (waiting if waiting else kept).append(line)
        elif any(line.strip().startswith(prompt) for prompt in prompt_lines):
            waiting = []  # a heading answered on its own line: the one waiting had no text
            kept.append(line)
        else:
            kept.extend(waiting)
            waiting = []
            kept.append(line)
    return "\n".join(kept).strip()


def amend_note(
    appointment: Appointment,
    *,
    section: str,
    text: str,
    reason: str,
    staff_user: StaffUser,
    now: datetime | None = None,
) -> NoteAmendment:
    """Append a correction to one section of a signed note, with its reason."""
    if section not in SECTION_LABELS:
        raise DomainError("Choose the section the amendment corrects.")
    label = SECTION_LABELS[section]
    text = _clean_text(text, label)
    if section == "needle_count":
        text = _clean(NoteContent(needle_count=text)).needle_count
    reason = _clean_text(reason, "Reason", LONGEST_REASON)
    if not reason:
        raise DomainError("Say why the note is being corrected.")
    with unit_of_work() as session:
        locked = _writable(appointment, staff_user)
        note = note_of(locked)
        if note is None or not note.is_signed:
            raise DomainError("Only a signed note takes amendments; edit the draft instead.")
        if current_content(note).__getattribute__(section) == text:
            raise DomainError(f"{label} already reads like that: nothing to amend.")
        amendment = NoteAmendment(
            note_id=note.id,
            section=section,
            text=text,
            reason=reason,
            created_at=now or utcnow(),
            author_id=staff_user.id,
        )
        session.add(amendment)
        session.flush()
        audit.record(staff_user, "note.amended", note, section=section, amendment=amendment.id)
    db.session.refresh(note)
    return amendment


def notes_of_patient(patient_id: int) -> list[TreatmentNote]:
    """Every note of a patient, in the order of their appointments (no access check)."""
    return list(
        db.session.scalars(
            select(TreatmentNote)
            .join(Appointment, Appointment.id == TreatmentNote.appointment_id)
            .where(TreatmentNote.patient_id == patient_id)
            .order_by(Appointment.starts_at, TreatmentNote.id)
        )
    )
