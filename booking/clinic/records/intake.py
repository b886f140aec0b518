"""The intake questionnaire: versioned questions, answers kept with their version, flags.

A new patient answers it before their first visit, from the link in their confirmation
email or on a tablet at the desk. The questions are versioned: `QUESTIONNAIRES` keeps
every version ever asked, and an answered form keeps the id of the version it answered,
so changing the questions (a new version, made current) never changes old answers nor
how they read. Flags are worked out from the answers with the rules of their version.

Reception may learn only whether a patient's intake is complete (`intake_complete`),
from plain columns; the answers are sealed and read through `access.open_record`.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.localtime import local_today
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.encryption import opened
from booking.extensions import db
from booking.models import Appointment, IntakeForm, Patient, RecordMethod, StaffUser


@dataclass(frozen=True)
class HistoryQuestion:
    """A yes/no question of medical history, with a box for details when the answer is yes.

    `caution` is what a "yes" means for treatment, shown to the practitioner with the
    flag; a question without one is shown but not flagged.
    """

    key: str
    text: str
    details_label: str
    caution: str | None


@dataclass(frozen=True)
class Questionnaire:
    version: str
    history: tuple[HistoryQuestion, ...]

    def question(self, key: str) -> HistoryQuestion | None:
        return next((q for q in self.history if q.key == key), None)


QUESTIONNAIRE_2026_12 = Questionnaire(
    version="2026-12",
    history=(
        HistoryQuestion(
            "pregnancy",
            "Are you pregnant, or could you be?",
            "How many weeks, if you know",
            "Pregnancy: some acupuncture points and strong abdominal or lower-back work are "
            "avoided; cupping over the abdomen and lower back is not used.",
        ),
        HistoryQuestion(
            "pacemaker_or_implants",
            "Do you have a pacemaker or any other implant (a joint replacement, a stent, "
            "breast implants, a coil or metal plates)?",
            "What and where",
            "Implant: no electro-acupuncture with a pacemaker; no needling or cupping "
            "directly over an implant.",
        ),
        HistoryQuestion(
            "bleeding_or_anticoagulants",
            "Do you have a bleeding disorder, or take a medicine that thins the blood "
            "(such as warfarin, apixaban, rivaroxaban, clopidogrel or daily aspirin)?",
            "Which condition or medicine",
            "Bleeding risk: bruising after needling and cupping is more likely; cupping "
            "may be unsuitable.",
        ),
        HistoryQuestion(
            "diabetes",
            "Do you have diabetes?",
            "Type, and how it is treated",
            "Diabetes: skin may heal slowly and feel less; check the feet and legs and go "
            "gently with cupping and massage.",
        ),
        HistoryQuestion(
            "epilepsy",
            "Do you have epilepsy or have you ever had a seizure?",
            "When the last seizure was",
            "Epilepsy: treat lying down and never leave the patient alone with needles in.",
        ),
        HistoryQuestion(
            "skin_conditions",
            "Do you have a skin condition, broken skin or a rash where you may be treated?",
            "What and where",
            "Skin: do not needle, cup or massage over broken, infected or inflamed skin.",
        ),
        HistoryQuestion(
            "metal_allergy",
            "Are you allergic to any metal (such as nickel)?",
            "Which metal and what happens",
            "Metal allergy: check the needles' material before treating.",
        ),
        HistoryQuestion(
            "fainting_or_needle_phobia",
            "Have you ever fainted, or do you feel very anxious about needles?",
            "When, and what helps",
            "Fainting or needle fear: treat lying down and start with few needles.",
        ),
        HistoryQuestion(
            "medication",
            "Do you take any medicine at the moment, on prescription or bought yourself?",
            "Which medicines",
            None,
        ),
    ),
)

# Every version ever asked, by id: old answers are read with their own version's words.
QUESTIONNAIRES: dict[str, Questionnaire] = {
    QUESTIONNAIRE_2026_12.version: QUESTIONNAIRE_2026_12,
}
CURRENT_VERSION = QUESTIONNAIRE_2026_12.version

# Younger patients are treated only with a parent's or guardian's consent.
ADULT_AGE = 16


def current_questionnaire() -> Questionnaire:
    return QUESTIONNAIRES[CURRENT_VERSION]


def questionnaire(version: str) -> Questionnaire:
    """The questions of `version` (an unknown version is a programming error)."""
    return QUESTIONNAIRES[version]


@dataclass(frozen=True)
class HistoryAnswer:
    answer: str  # "yes" or "no"
    details: str = ""


@dataclass(frozen=True)
class IntakeAnswers:
    """What the patient typed, already validated by the form."""

    date_of_birth: date
    gp_name: str
    gp_practice: str
    problem: str
    history: dict[str, HistoryAnswer]


@dataclass(frozen=True)
class Flag:
    """An answer the practitioner should read before treating."""

    question: str
    details: str
    caution: str


@dataclass(frozen=True)
class HistoryLine:
    question: str
    answer: str
    details: str
    flagged: bool


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _flags(
    version: Questionnaire, born: date | None, history: dict[str, Any], answered_on: date
) -> list[Flag]:
    flags = []
    if born is not None and age_on(born, answered_on) < ADULT_AGE:
        flags.append(
            Flag(
                "Date of birth",
                born.strftime("%d %B %Y").lstrip("0"),
                f"Under {ADULT_AGE}: treat only with a parent's or guardian's consent.",
            )
        )
    for question in version.history:
        given = history.get(question.key) or {}
        if question.caution and given.get("answer") == "yes":
            flags.append(Flag(question.text, given.get("details", ""), question.caution))
    return flags


def _check(version: Questionnaire, answers: IntakeAnswers, today: date) -> None:
    if answers.date_of_birth > today:
        raise DomainError("The date of birth is in the future: please check it.")
    missing = [q.key for q in version.history if q.key not in answers.history]
    if missing:
        raise DomainError("Please answer every question about your health.")


def submit_intake(
    patient: Patient,
    answers: IntakeAnswers,
    *,
    method: RecordMethod,
    staff_user: StaffUser | None = None,
    appointment: Appointment | None = None,
    now: datetime | None = None,
) -> IntakeForm:
    """Keep a patient's answers to the current questionnaire, with its version and flags.

    At the desk (`method=DESK`) the member of staff who started the form is recorded.
    The answers are sealed in the database; the audit log keeps only that it happened.
    """
    now = now or utcnow()
    # The patient's "today" is the clinic's: from midnight to 01:00 in summer the UTC date
    # is still yesterday's, and someone turning 18 that night would be flagged a child.
    today = local_today(now, clinic_settings().zone)
    version = current_questionnaire()
    _check(version, answers, today)
    if method == RecordMethod.DESK and staff_user is None:
        raise DomainError("A questionnaire at the desk is started by a member of staff.")
    history = {
        key: {"answer": given.answer, "details": given.details.strip()}
        for key, given in answers.history.items()
        if version.question(key) is not None
    }
    with unit_of_work() as session:
        patient = lock_or_refuse(Patient, patient.id, "This patient's record has been removed.")
        form = IntakeForm(
            patient_id=patient.id,
            appointment_id=appointment.id if appointment is not None else None,
            questions_version=version.version,
            submitted_at=now,
            method=method.value,
            taken_by_id=staff_user.id if staff_user is not None else None,
            has_flags=bool(_flags(version, answers.date_of_birth, history, today)),
            date_of_birth=answers.date_of_birth.isoformat(),
            gp_name=answers.gp_name.strip(),
            gp_practice=answers.gp_practice.strip(),
            problem=answers.problem.strip(),
        )
        form.answers = history
        session.add(form)
        session.flush()
        if staff_user is not None:
            audit.record(staff_user, "intake.taken_at_desk", form, patient_id=patient.id)
    return form


def latest_intake(patient_id: int) -> IntakeForm | None:
    """The patient's newest questionnaire. Content: open it with `access.open_record` first."""
    return db.session.scalar(
        select(IntakeForm)
        .where(IntakeForm.patient_id == patient_id)
        .order_by(IntakeForm.submitted_at.desc(), IntakeForm.id.desc())
        .limit(1)
    )


def flags_of(form: IntakeForm) -> list[Flag]:
    """The flagged answers of a form, by the rules of the version it answered."""
    born = date.fromisoformat(opened(form.date_of_birth)) if form.date_of_birth else None
    answered_on = local_today(form.submitted_at, clinic_settings().zone)
    return _flags(questionnaire(form.questions_version), born, form.answers, answered_on)


def history_lines(form: IntakeForm) -> list[HistoryLine]:
    """Each question of the form's own version with the patient's answer."""
    answers = form.answers
    lines = []
    for question in questionnaire(form.questions_version).history:
        given = answers.get(question.key) or {}
        answer = given.get("answer", "")
        lines.append(
            HistoryLine(
                question.text,
                answer,
                given.get("details", ""),
                bool(question.caution) and answer == "yes",
            )
        )
    return lines


@dataclass(frozen=True)
class IntakeStatus:
    """What anyone on the staff may know: whether the intake is done, and if it has flags.

    `has_flags` is shown only to those who may read the record (see the diary views).
    """

    complete: bool
    has_flags: bool
    submitted_at: datetime | None


def intake_statuses(patient_ids: list[int]) -> dict[int, IntakeStatus]:
    """Each patient's intake status from plain columns (nothing sealed is read), one query."""
    wanted = set(patient_ids)
    statuses = {pid: IntakeStatus(False, False, None) for pid in wanted}
    if not wanted:
        return statuses
    rows = db.session.execute(
        select(IntakeForm.patient_id, IntakeForm.has_flags, IntakeForm.submitted_at)
        .where(IntakeForm.patient_id.in_(wanted))
        .order_by(IntakeForm.submitted_at, IntakeForm.id)
    )
    for patient_id, has_flags, submitted_at in rows:
        statuses[patient_id] = IntakeStatus(True, has_flags, submitted_at)  # newest wins
    return statuses


def intake_status(patient_id: int) -> IntakeStatus:
    return intake_statuses([patient_id])[patient_id]
