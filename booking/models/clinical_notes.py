"""The clinical record's notes and outcomes: treatment notes with their amendments, the
templates they start from, outcome scores across a course, the mid-course review, and
the scheduled erasure of a record whose retention period has not ended yet.

Everything a practitioner or a patient writes is EncryptedText: a database dump holds
only ciphertext. What must be queried (which appointment, when signed, which checkpoint)
stays in ordinary columns beside it.
"""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.encryption import EncryptedText
from booking.extensions import Model
from booking.models.appointments import Appointment
from booking.models.enums import RecordMethod, one_of
from booking.models.staff import StaffUser


class NoteStatus(enum.StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"


class OutcomeCheckpoint(enum.StrEnum):
    FIRST = "first"
    MIDDLE = "middle"
    LAST = "last"


class ReviewDecision(enum.StrEnum):
    CONTINUE = "continue"
    CHANGE_PLAN = "change_plan"
    STOP = "stop"


class NoteTemplate(Model):
    """The headings and prompts a blank note of one session type starts with.

    Not clinical content (it names no patient), so kept in the clear.
    """

    __tablename__ = "note_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_type_id: Mapped[int] = mapped_column(
        ForeignKey("session_types.id", ondelete="CASCADE"), unique=True
    )
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    advice: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )


class TreatmentNote(Model):
    """One appointment's note: drafted, then signed by its practitioner and locked.

    After signing nothing here changes: corrections are NoteAmendment rows appended to it.
    `version` rises on every save of the draft, so two tabs cannot overwrite each other.
    """

    __tablename__ = "treatment_notes"
    __table_args__ = (one_of("status", NoteStatus, "status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    status: Mapped[str] = mapped_column(String(20), default=NoteStatus.DRAFT.value)
    version: Mapped[int] = mapped_column(Integer, default=1)
    subjective: Mapped[str] = mapped_column(EncryptedText, default="")
    objective: Mapped[str] = mapped_column(EncryptedText, default="")
    assessment: Mapped[str] = mapped_column(EncryptedText, default="")
    plan: Mapped[str] = mapped_column(EncryptedText, default="")
    # Treatment given: points used, how many needles, cupping sites, massage areas.
    points: Mapped[str] = mapped_column(EncryptedText, default="")
    needle_count: Mapped[str] = mapped_column(EncryptedText, default="")
    cupping_sites: Mapped[str] = mapped_column(EncryptedText, default="")
    massage_areas: Mapped[str] = mapped_column(EncryptedText, default="")
    # Advice given, safety advice above all (what to expect after cupping, say).
    advice: Mapped[str] = mapped_column(EncryptedText, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )

    appointment: Mapped[Appointment] = relationship()
    signed_by: Mapped[StaffUser | None] = relationship(foreign_keys=[signed_by_id])
    created_by: Mapped[StaffUser | None] = relationship(foreign_keys=[created_by_id])
    amendments: Mapped[list["NoteAmendment"]] = relationship(
        back_populates="note", order_by="NoteAmendment.id", cascade="all, delete-orphan"
    )

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED


class NoteAmendment(Model):
    """A correction to a signed note: one section's new text, why, by whom and when."""

    __tablename__ = "note_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_notes.id", ondelete="CASCADE"), index=True
    )
    section: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(EncryptedText)
    reason: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    note: Mapped[TreatmentNote] = relationship(back_populates="amendments")
    author: Mapped[StaffUser | None] = relationship()


class OutcomeRecord(Model):
    """A patient's scores at one checkpoint of a course (first, middle or last session).

    `answers` is sealed JSON: {"pain": 0-10, "activities": [{"name": ..., "score": 0-10}]}.
    """

    __tablename__ = "outcome_records"
    __table_args__ = (
        one_of("checkpoint", OutcomeCheckpoint, "checkpoint_known"),
        one_of("method", RecordMethod, "method_known"),
        UniqueConstraint("course_id", "checkpoint", name="uq_outcome_records_one_per_checkpoint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), unique=True)
    checkpoint: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20))
    answers: Mapped[str] = mapped_column(EncryptedText)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )

    appointment: Mapped[Appointment] = relationship()


class CourseReview(Model):
    """The practitioner's mid-course decision: continue, change the plan, or stop."""

    __tablename__ = "course_reviews"
    __table_args__ = (one_of("decision", ReviewDecision, "decision_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    decision: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(EncryptedText, default="")
    # Credits unused when the course was stopped, which the clinic should refund.
    refundable_credits: Mapped[int] = mapped_column(Integer, default=0)
    # Their share of what was paid for the course (booking.clinic.payments.ledger), which
    # reception refunds through the ledger's record_refund.
    refundable_pence: Mapped[int] = mapped_column(Integer, default=0)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )

    decided_by: Mapped[StaffUser | None] = relationship()


class ClinicalErasure(Model):
    """An erased patient's clinical record, kept until its retention period ends.

    The patient's identity is sealed here at erasure (their contact details are gone), so
    the kept record still says whose it is; the worker deletes both once `erase_after`
    has passed, and sets `erased_at`.
    """

    __tablename__ = "clinical_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    last_treatment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erase_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kept_identity: Mapped[str | None] = mapped_column(EncryptedText)
