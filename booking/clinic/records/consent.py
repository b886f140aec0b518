"""Consent to treatment: one consent per treatment, to a versioned wording.

Each treatment's wording says, in plain words, what happens, what it may and may not do,
and its risks. The wording is versioned: `WORDINGS` keeps every version ever shown, and
a consent keeps the version the patient agreed to. When the clinic changes a wording (a
new version made current), earlier consents to that treatment become *outdated* and the
patient is asked again. The facts of consent (which treatment, version, when, how, who
took it) are plain columns: reception may see whether consent is given, and that is all
there is to see.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    ConsentTreatment,
    Patient,
    RecordMethod,
    StaffUser,
    TreatmentConsent,
)


@dataclass(frozen=True)
class ConsentWording:
    treatment: ConsentTreatment
    version: str
    title: str
    what_happens: str
    may_help: str
    risks: tuple[str, ...]
    agreement: str


_COMMON_RISKS = (
    "You can ask us to stop at any moment, and you can withdraw your consent at any time.",
)

WORDINGS: dict[tuple[ConsentTreatment, str], ConsentWording] = {
    (ConsentTreatment.ACUPUNCTURE, "2026-12"): ConsentWording(
        ConsentTreatment.ACUPUNCTURE,
        "2026-12",
        "Acupuncture",
        "Fine, sterile, single-use needles are placed through the skin at chosen points and "
        "left for up to about 30 minutes.",
        "Some people find it eases pain and muscle tension; others notice little change. "
        "We cannot promise it will help you, and NICE does not recommend acupuncture for "
        "low back pain; we will review with you whether it is worth going on.",
        (
            "Common and mild: a small bruise, a spot of bleeding or soreness where a needle "
            "went in, and feeling tired or light-headed afterwards.",
            "Less common: feeling faint during treatment, or your symptoms feeling worse for "
            "a day or two.",
            "Rare but serious: an infection, a needle breaking, or a needle in the chest "
            "puncturing a lung (pneumothorax). We take care to avoid them, but no "
            "treatment is without risk.",
        )
        + _COMMON_RISKS,
        "I have read what acupuncture involves and its risks, and I agree to have it.",
    ),
    (ConsentTreatment.CUPPING, "2026-12"): ConsentWording(
        ConsentTreatment.CUPPING,
        "2026-12",
        "Cupping",
        "Glass or silicone cups are placed on the skin of your back, hips or legs and "
        "gently draw the skin and muscle upwards, held still or slid over oiled skin.",
        "Some people find it loosens tight muscles; it is not proven to treat any condition "
        "and we cannot promise it will help you.",
        (
            "Expected: round red or purple marks where the cups were. They are not painful "
            "as a rule, but can last from a few days to two weeks, and show if that part "
            "of you is seen (in a gym, on a beach).",
            "Common: tenderness, mild bruising or itching where the cups were.",
            "Less common: small blisters, feeling light-headed, or a skin infection. "
            "No treatment is without risk.",
        )
        + _COMMON_RISKS,
        "I have read what cupping involves, that it leaves marks, and its risks, and I agree "
        "to have it.",
    ),
    (ConsentTreatment.MASSAGE, "2026-12"): ConsentWording(
        ConsentTreatment.MASSAGE,
        "2026-12",
        "Massage",
        "Hands-on work on the muscles and soft tissue of your back, hips and legs, with oil "
        "or lotion on bare skin; we cover what is not being treated.",
        "Many people find it relaxing and that it eases tightness for a while; we cannot "
        "promise it will help your problem.",
        (
            "Common: soreness or stiffness for a day or two, as after exercise.",
            "Less common: bruising, feeling light-headed, or a skin reaction to the oil "
            "(tell us of any allergy). No treatment is without risk.",
        )
        + _COMMON_RISKS,
        "I have read what massage involves and its risks, and I agree to have it.",
    ),
    (ConsentTreatment.STRETCHING, "2026-12"): ConsentWording(
        ConsentTreatment.STRETCHING,
        "2026-12",
        "Assisted stretching",
        "The practitioner moves your back, hips and legs into stretches and holds them, and "
        "shows you stretches to do at home.",
        "Stretching may ease stiffness and help you move more easily; we cannot promise it "
        "will help your problem.",
        (
            "Common: feeling sore or stiff for a day or two.",
            "Uncommon: a muscle strain, or your pain flaring for a while. Tell us at once if "
            "a stretch hurts. No treatment is without risk.",
        )
        + _COMMON_RISKS,
        "I have read what assisted stretching involves and its risks, and I agree to have it.",
    ),
}

# The wording in force for each treatment: asking again means changing a version here.
CURRENT_VERSIONS: dict[ConsentTreatment, str] = {
    ConsentTreatment.ACUPUNCTURE: "2026-12",
    ConsentTreatment.CUPPING: "2026-12",
    ConsentTreatment.MASSAGE: "2026-12",
    ConsentTreatment.STRETCHING: "2026-12",
}


class ConsentStatus(StrEnum):
    GIVEN = "given"
    MISSING = "missing"
    OUTDATED = "outdated"


STATUS_LABELS = {
    ConsentStatus.GIVEN: "given",
    ConsentStatus.MISSING: "missing",
    ConsentStatus.OUTDATED: "outdated (asked again)",
}


def current_wording(treatment: ConsentTreatment) -> ConsentWording:
    return WORDINGS[(treatment, CURRENT_VERSIONS[treatment])]


def wording(treatment: ConsentTreatment, version: str) -> ConsentWording | None:
    return WORDINGS.get((treatment, version))


def treatments_of(appointment: Appointment) -> list[ConsentTreatment]:
    """The treatments in an appointment's session that need consent, in a stable order."""
    slugs = {treatment.slug for treatment in appointment.session_type.treatments}
    return [treatment for treatment in ConsentTreatment if treatment.value in slugs]


@dataclass(frozen=True)
class TreatmentConsentStatus:
    treatment: ConsentTreatment
    status: ConsentStatus
    consent: TreatmentConsent | None  # the newest consent to this treatment, if any

    @property
    def title(self) -> str:
        return current_wording(self.treatment).title


def _latest(patient_ids: set[int]) -> dict[tuple[int, str], TreatmentConsent]:
    latest: dict[tuple[int, str], TreatmentConsent] = {}
    if not patient_ids:
        return latest
    rows = db.session.scalars(
        select(TreatmentConsent)
        .where(TreatmentConsent.patient_id.in_(patient_ids))
        .order_by(TreatmentConsent.given_at, TreatmentConsent.id)
    )
    for consent in rows:
        latest[(consent.patient_id, consent.treatment)] = consent  # newest wins
    return latest


def _status(consent: TreatmentConsent | None, treatment: ConsentTreatment) -> ConsentStatus:
    if consent is None:
        return ConsentStatus.MISSING
    if consent.wording_version != CURRENT_VERSIONS[treatment]:
        return ConsentStatus.OUTDATED
    return ConsentStatus.GIVEN


def consent_statuses(
    patient_id: int, treatments: list[ConsentTreatment]
) -> list[TreatmentConsentStatus]:
    """Given, missing or outdated, for each of `treatments`."""
    latest = _latest({patient_id})
    return [
        TreatmentConsentStatus(
            t, _status(latest.get((patient_id, t.value)), t), latest.get((patient_id, t.value))
        )
        for t in treatments
    ]


def overall(statuses: list[TreatmentConsentStatus]) -> ConsentStatus:
    """One word for a visit: given only when every treatment's consent is current."""
    if any(s.status == ConsentStatus.MISSING for s in statuses):
        return ConsentStatus.MISSING
    if any(s.status == ConsentStatus.OUTDATED for s in statuses):
        return ConsentStatus.OUTDATED
    return ConsentStatus.GIVEN


def appointment_consent(appointment: Appointment) -> list[TreatmentConsentStatus]:
    return consent_statuses(appointment.patient_id, treatments_of(appointment))


def wordings_to_agree(appointment: Appointment) -> list[ConsentWording]:
    """The current wording of each of the appointment's treatments not consented to yet
    (missing or outdated): what the patient is asked to read and agree to, online or at
    the desk."""
    return [
        current_wording(status.treatment)
        for status in appointment_consent(appointment)
        if status.status != ConsentStatus.GIVEN
    ]


def appointments_consent(appointments: list[Appointment]) -> dict[int, ConsentStatus]:
    """The one-word consent status of each appointment (for the diary grid), one query."""
    latest = _latest({a.patient_id for a in appointments})
    result = {}
    for appointment in appointments:
        statuses = [
            TreatmentConsentStatus(
                t, _status(latest.get((appointment.patient_id, t.value)), t), None
            )
            for t in treatments_of(appointment)
        ]
        result[appointment.id] = overall(statuses)
    return result


def give_consent(
    patient: Patient,
    treatments: list[ConsentTreatment],
    *,
    method: RecordMethod,
    staff_user: StaffUser | None = None,
    appointment: Appointment | None = None,
    now: datetime | None = None,
) -> list[TreatmentConsent]:
    """Record the patient's consent to each of `treatments`, to its current wording.

    Online the patient gives it through their link; at the desk the member of staff who
    took it is recorded (and audited).
    """
    if not treatments:
        raise DomainError("Please tick the treatments you agree to.")
    if method == RecordMethod.DESK and staff_user is None:
        raise DomainError("Consent at the desk is recorded by a member of staff.")
    now = now or utcnow()
    given = []
    with unit_of_work() as session:
        patient = lock_or_refuse(Patient, patient.id, "This patient's record has been removed.")
        for treatment in dict.fromkeys(treatments):
            consent = TreatmentConsent(
                patient_id=patient.id,
                appointment_id=appointment.id if appointment is not None else None,
                treatment=treatment.value,
                wording_version=CURRENT_VERSIONS[treatment],
                given_at=now,
                method=method.value,
                taken_by_id=staff_user.id if staff_user is not None else None,
            )
            session.add(consent)
            given.append(consent)
        session.flush()
        if staff_user is not None:
            for consent in given:
                audit.record(
                    staff_user,
                    "consent.taken_at_desk",
                    consent,
                    treatment=consent.treatment,
                    version=consent.wording_version,
                )
    return given
