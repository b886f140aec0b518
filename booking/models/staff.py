"""Staff accounts and the audit log of what they changed."""

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.clinic import Practitioner
from booking.models.enums import Role, one_of
from booking.passwords import hash_password, password_matches


# Flask-Login ships no types, so to mypy UserMixin is Any.
class StaffUser(UserMixin, Model):  # type: ignore[misc]
    __tablename__ = "staff_users"
    __table_args__ = (
        one_of("role", Role, "role_known"),
        CheckConstraint(
            "role <> 'practitioner' or practitioner_id is not null",
            name="practitioner_linked",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    practitioner_id: Mapped[int | None] = mapped_column(
        ForeignKey("practitioners.id", ondelete="SET NULL"), unique=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Raised on a password change so that other signed-in sessions end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    practitioner: Mapped[Practitioner | None] = relationship()

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return password_matches(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active


class AuditEvent(Model):
    """Who changed what, and when. Details never hold health notes."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    staff_user: Mapped[StaffUser | None] = relationship()


class AccessEvent(Model):
    """Who signed in, or read whose record, and when: never what the record holds.

    Apart from the audit of changes: sign-ins and reads come by the thousand, and a data
    protection officer asks of them different questions (who saw this patient?).
    """

    __tablename__ = "access_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(60))
    # The staff account the event is about (whose sign-in, whose sessions), when not the actor.
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The patient whose record was read (kept after the patient is erased: it is a number).
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    staff_user: Mapped[StaffUser | None] = relationship()
