"""Staff sign-in sessions kept on the server, and the counts that slow down guessing.

The browser's cookie holds only a random token; the row here says whether it still
opens anything. Ending the row ends the session, wherever the cookie has been copied.
"""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.enums import Role, SessionEndReason, SignInMethod, one_of
from booking.models.staff import StaffUser


class SessionStage(enum.StrEnum):
    # The password was right; a second factor is still to come (or to be enrolled).
    SECOND_FACTOR = "second_factor"
    ENROL = "enrol"
    SIGNED_IN = "signed_in"


class StaffSession(Model):
    __tablename__ = "staff_sessions"
    __table_args__ = (
        CheckConstraint("stage in ('second_factor', 'enrol', 'signed_in')", name="stage_known"),
        one_of("role", Role, "role_known"),
        one_of("end_reason", SessionEndReason, "end_reason_known", nullable=True),
        one_of("method", SignInMethod, "method_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the cookie's token: a copy of this table opens no session.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    stage: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))  # a SessionEndReason
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # What the account was when the session began: a new password or role ends it.
    account_version: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))  # a Role
    # How the session proved itself: "password", "password+totp", "passkey", ...
    method: Mapped[str] = mapped_column(String(40), default=SignInMethod.PASSWORD.value)

    staff_user: Mapped[StaffUser] = relationship()


class SignInFailures(Model):
    """Failed sign-ins per account, where no Redis server shares the counts."""

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
