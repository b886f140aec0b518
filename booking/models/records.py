"""The clinical record: intake questionnaires, consent to treatment, red-flag re-checks.

Clinical content (answers, free text, anything a patient tells us about their health) is
sealed with `EncryptedText`: a database dump alone reveals none of it. Facts the clinic
must query (who, when, which version, whether anything is flagged) stay in plain columns.
The wording of questions and consent lives in `booking/clinic/records/`, versioned; a row
keeps the version it answered, so a new version never changes what was answered before.

Treatment notes, outcomes and the record's retention live in their own section below.
"""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.encryption import EncryptedText, opened
from booking.extensions import Model
from booking.models.appointments import Appointment
from booking.models.enums import ConsentTreatment, RecordMethod, one_of
from booking.models.patients import Patient
from booking.models.staff import StaffUser


def _answers(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    value = json.loads(opened(text))
    return value if isinstance(value, dict) else {}


class IntakeForm(Model):
    """A patient's answers to one version of the intake questionnaire.

    A patient may fill it in again (a new row); the newest is the one in force.
    """

    __tablename__ = "intake_forms"
    __table_args__ = (
        one_of("method", RecordMethod, "method_known"),
        Index("ix_intake_forms_patient_submitted", "patient_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    # The visit it was asked for (its link came with that booking), if any.
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    questions_version: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(10))
    # The member of staff who handed over the tablet (None when the patient used the link).
    taken_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # Whether any answer needs the practitioner's attention; which one is sealed below.
    has_flags: Mapped[bool] = mapped_column(Boolean, default=False)
    date_of_birth: Mapped[str] = mapped_column(EncryptedText)  # ISO date
    gp_name: Mapped[str] = mapped_column(EncryptedText)
    gp_practice: Mapped[str] = mapped_column(EncryptedText)
    problem: Mapped[str] = mapped_column(EncryptedText)
    # JSON: {question key: {"answer": "yes" | "no", "details": "..."}}
    answers_sealed: Mapped[str] = mapped_column("answers", EncryptedText)

    patient: Mapped[Patient] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    taken_by: Mapped[StaffUser | None] = relationship()

    @property
    def answers(self) -> dict[str, Any]:
        return _answers(self.answers_sealed)

    @answers.setter
    def answers(self, value: dict[str, Any]) -> None:
        self.answers_sealed = json.dumps(value, ensure_ascii=False, sort_keys=True)


class TreatmentConsent(Model):
    """A patient's consent to one treatment, to one version of its wording."""

    __tablename__ = "treatment_consents"
    __table_args__ = (
        one_of("method", RecordMethod, "method_known"),
        one_of("treatment", ConsentTreatment, "treatment_known"),
        Index("ix_treatment_consents_patient_treatment", "patient_id", "treatment", "given_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    treatment: Mapped[str] = mapped_column(String(20))
    wording_version: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(10))
    # Who took it at the desk; None when the patient gave it online through their link.
    taken_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )

    patient: Mapped[Patient] = relationship()
    taken_by: Mapped[StaffUser | None] = relationship()


class RedFlagCheck(Model):
    """The patient's answer, before a visit, to "has any warning sign appeared?"."""

    __tablename__ = "red_flag_checks"
    __table_args__ = (one_of("method", RecordMethod, "method_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(10))
    # True: a warning sign was reported, the visit was cancelled and urgent advice shown.
    warning_sign: Mapped[bool] = mapped_column(Boolean, default=False)
    # JSON: {question key: "yes" | "no"}; which sign it was is clinical content.
    answers_sealed: Mapped[str] = mapped_column("answers", EncryptedText)

    appointment: Mapped[Appointment] = relationship()

    @property
    def answers(self) -> dict[str, Any]:
        return _answers(self.answers_sealed)

    @answers.setter
    def answers(self, value: dict[str, Any]) -> None:
        self.answers_sealed = json.dumps(value, sort_keys=True)


# Treatment notes, outcomes and retention -----------------------------------------------
