"""Printable documents from the clinical record: the patient's record and a GP letter.

Both are PDFs drawn with fpdf2. Names and notes may hold any script, so the text is set
in a Unicode TrueType font (DejaVu Sans, from Debian's fonts-dejavu-core, or the file
CLINICAL_PDF_FONT names); on a machine without one, the built-in Helvetica is used and
characters it lacks are shown as "?" rather than failing. Callers check who may read the
record and log the read; nothing here does.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy import select

from booking.clinic.local_wording import format_local_date, format_local_datetime
from booking.clinic.records import notes, outcomes, retention
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, Course, Patient

FONT_CANDIDATES = [
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
]


# Scripts DejaVu lacks (Chinese, Japanese, Korean) are drawn from one of these when the
# machine has it (Debian: fonts-noto-cjk or fonts-wqy-microhei); otherwise those characters
# are left out of the PDF, with a warning in the log, rather than failing.
FALLBACK_CANDIDATES = [
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
]


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes


class _Pdf(FPDF):
    def __init__(self, title: str):
        super().__init__(format="A4")
        self.set_title(title)
        self.set_author(clinic_settings().name)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)
        self.unicode = False
        for candidate in FONT_CANDIDATES:
            if candidate.is_file():
                self.add_font("Body", "", str(candidate))
                bold = candidate.with_name("DejaVuSans-Bold.ttf")
                self.add_font("Body", "B", str(bold if bold.is_file() else candidate))
                self.unicode = True
                break
        fallbacks = []
        for number, candidate in enumerate(FALLBACK_CANDIDATES):
            if self.unicode and candidate.is_file():
                self.add_font(f"Fallback{number}", "", str(candidate))
                fallbacks.append(f"Fallback{number}")
        if fallbacks:
            self.set_fallback_fonts(fallbacks, exact_match=False)
        self.family_name = "Body" if self.unicode else "Helvetica"
        self.add_page()

    def _text(self, text: str) -> str:
        if self.unicode:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")

    def heading(self, text: str, size: float = 14) -> None:
        self.set_font(self.family_name, "B", size)
        self.multi_cell(0, size * 0.55, self._text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def para(self, text: str, *, bold: bool = False, size: float = 10.5) -> None:
        self.set_font(self.family_name, "B" if bold else "", size)
        self.multi_cell(0, 5.2, self._text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def labelled(self, label: str, text: str) -> None:
        self.para(label, bold=True)
        self.para(text)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family_name, "", 8)
        self.cell(
            0, 5, self._text(f"Confidential health record · page {self.page_no()}"), align="C"
        )


def _identity(patient: Patient) -> str:
    kept = retention.kept_identity(patient.id)
    if kept:
        return f"{kept.get('name')} (record kept after erasure)"
    return patient.name


def patient_record_pdf(patient: Patient, *, now: datetime | None = None) -> Document:
    """The patient's clinical record: every treatment note with its history, and outcomes."""
    now = now or utcnow()
    settings = clinic_settings()
    pdf = _Pdf(f"Clinical record: {_identity(patient)}")
    pdf.heading(settings.name, 16)
    pdf.para(settings.address)
    pdf.heading(f"Clinical record of {_identity(patient)}")
    pdf.para(f"Printed {format_local_datetime(now)}. Confidential: health information.")
    erasure = retention.scheduled_erasure(patient.id)
    if erasure is not None:
        pdf.para(f"Kept until {format_local_date(erasure.erase_after)}, then erased.")

    pdf.heading("Treatment notes", 13)
    written = notes.notes_of_patient(patient.id)
    if not written:
        pdf.para("No treatment notes.")
    for note in written:
        appointment = note.appointment
        state = (
            f"signed by {note.signed_by.name if note.signed_by else 'a former member of staff'} "
            f"on {format_local_datetime(note.signed_at)}"
            if note.is_signed and note.signed_at
            else "draft, not signed"
        )
        pdf.heading(
            f"{format_local_datetime(appointment.starts_at)}: {appointment.session_type.name} "
            f"with {appointment.practitioner.name} ({state})",
            11,
        )
        original = notes.content_of(note)
        for name, label in notes.SECTIONS:
            if getattr(original, name):
                pdf.labelled(label, getattr(original, name))
        for amendment in note.amendments:
            who = amendment.author.name if amendment.author else "a former member of staff"
            pdf.labelled(
                f"Amendment to {notes.SECTION_LABELS.get(amendment.section, amendment.section)}, "
                f"by {who} on {format_local_datetime(amendment.created_at)}",
                f"{amendment.text}\nReason: {amendment.reason}",
            )

    courses = list(
        db.session.scalars(
            select(Course).where(Course.patient_id == patient.id).order_by(Course.id)
        )
    )
    for course in courses:
        points = outcomes.course_outcomes(course)
        if not points:
            continue
        pdf.heading(f"Outcomes: {course.product.name}", 13)
        for point in points:
            scores = ", ".join(f"{a.name} {a.score}/10" for a in point.activities)
            pdf.para(
                f"{outcomes.CHECKPOINT_LABELS[point.checkpoint]} "
                f"({format_local_date(point.session_starts_at)}): pain {point.pain}/10"
                + (f"; {scores}" if scores else "")
            )
        pdf.para(outcomes.summary(points))
    return Document(f"clinical-record-{patient.id}.pdf", bytes(pdf.output()))


def gp_letter_pdf(course: Course, *, now: datetime | None = None) -> Document:
    """A course summary the patient can forward to their GP, in plain, accurate words."""
    now = now or utcnow()
    settings = clinic_settings()
    patient = course.patient
    attended = list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.course_id == course.id,
                Appointment.status == AppointmentStatus.ATTENDED.value,
            )
            .order_by(Appointment.starts_at)
        )
    )
    pdf = _Pdf(f"Course summary: {_identity(patient)}")
    pdf.heading(settings.name, 16)
    pdf.para(f"{settings.address}\n{settings.phone} · {settings.email}")
    pdf.para(format_local_date(now))
    pdf.heading(f"Course summary for {_identity(patient)}")
    pdf.para("Dear Doctor,")
    practitioners = sorted({a.practitioner.name for a in attended})
    if attended:
        pdf.para(
            f"Your patient attended {len(attended)} of the {course.sessions_total} sessions of a "
            f"course of {course.session_type.name.lower()} at our clinic, from "
            f"{format_local_date(attended[0].starts_at)} to "
            f"{format_local_date(attended[-1].starts_at)}, with {', '.join(practitioners)}. "
            "They asked us to send you this summary."
        )
    else:
        pdf.para(
            f"Your patient began a course of {course.session_type.name.lower()} at our clinic; "
            "no session has been attended yet. They asked us to send you this summary."
        )

    pdf.heading("Treatment given", 12)
    given: Counter[str] = Counter()
    needles: list[int] = []
    advice: list[str] = []
    for appointment in attended:
        for treatment in appointment.session_type.treatments:
            given[treatment.name] += 1
        note = notes.note_of(appointment)
        if note is None or not note.is_signed:
            continue
        current = notes.current_content(note)
        if current.needle_count.isdigit():
            needles.append(int(current.needle_count))
        if current.advice and current.advice not in advice:
            advice.append(current.advice)
    if given:
        pdf.para(
            "; ".join(
                f"{name}: {count} session{'s' if count != 1 else ''}"
                for name, count in given.items()
            )
            + "."
        )
    if needles:
        pdf.para(
            f"Acupuncture used between {min(needles)} and {max(needles)} single-use sterile "
            "needles per session."
        )

    pdf.heading("How the patient's scores changed", 12)
    pdf.para(outcomes.summary(outcomes.course_outcomes(course)))

    pdf.heading("Safety advice given", 12)
    if advice:
        for text in advice:
            pdf.para(text)
    else:
        pdf.para("No specific safety advice was recorded in the signed notes.")

    pdf.para(
        "This letter reports what was done and what the patient told us; it is not a "
        "diagnosis and makes no claim that the treatment cured or caused any change. "
        "If you would like the full clinical notes, or have any concern, please contact us."
    )
    pdf.para("Yours sincerely,")
    pdf.para(", ".join(practitioners) or settings.name)
    return Document(f"gp-letter-course-{course.id}.pdf", bytes(pdf.output()))
