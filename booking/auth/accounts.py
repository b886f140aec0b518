"""Staff accounts: checking a password and changing it. Plain Python, no request objects."""

from datetime import datetime

from sqlalchemy import func, select

from booking.auth import throttle
from booking.clinic import DomainError, access_log, audit, staff_sessions
from booking.clinic.password_policy import MINIMUM_PASSWORD_LENGTH, check_new_password
from booking.clinic.transaction import lock, unit_of_work
from booking.extensions import db
from booking.models import SessionEndReason, StaffSession, StaffUser
from booking.passwords import check_against_no_account

__all__ = ["MINIMUM_PASSWORD_LENGTH", "SIGN_IN_FAILED", "authenticate", "change_password"]

SIGN_IN_FAILED = "That email address and password do not match an active staff account."


class SignInThrottled(DomainError):
    """Too many wrong passwords for this account lately: the next try must wait."""

    def __init__(self, seconds: int):
        minutes = (seconds + 59) // 60
        wait = f"{seconds} seconds" if seconds < 60 else f"{minutes} minute" + "s" * (minutes > 1)
        super().__init__(
            "There have been several wrong passwords for this account, so sign-in for it is "
            f"paused. Please try again in {wait}. If this was not you, tell the clinic's "
            "administrator."
        )
        self.seconds = seconds


def _account_for(email: str) -> StaffUser | None:
    return db.session.scalar(
        select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower())
    )


def authenticate(
    email: str, password: str, *, counts, now: datetime, known_device: bool = False
) -> StaffUser:
    """The active account with this email and password, or DomainError (one message for all).

    `counts` keeps the per-account failures (see booking.auth.throttle); a browser that
    has signed in to this account before (`known_device`) is not held back by them.
    """
    key = throttle.account_key(email)
    if not known_device:
        wait = throttle.seconds_to_wait(counts, key, now=now)
        if wait:
            raise SignInThrottled(wait)
    user = _account_for(email)
    if user is None:
        check_against_no_account(password)
    if user is None or not user.check_password(password) or not user.active:
        counts.add(key, now)
        access_log.record(
            None,
            "staff.sign_in_failed",
            account=user,
            reason="no such account" if user is None else "wrong password or inactive",
            now=now,
        )
        raise DomainError(SIGN_IN_FAILED)
    counts.clear(key)
    with unit_of_work():
        row = lock(StaffUser, user.id)
        assert row is not None
        row.last_sign_in_at = now
    return user


def change_password(
    user: StaffUser, current: str, new: str, *, keep: StaffSession | None, now: datetime
) -> StaffUser:
    """Set a new password and end the account's other sessions (all but `keep`)."""
    if not user.check_password(current):
        raise DomainError("Your current password is not right.")
    if new == current:
        raise DomainError("The new password must be different from the current one.")
    check_new_password(new, personal=(user.email.split("@")[0], *user.name.split()))
    with unit_of_work():
        row = lock(StaffUser, user.id)
        assert row is not None
        row.set_password(new)
        row.session_version += 1
        audit.record(row, "staff.password_changed", row)
        staff_sessions.end_all(
            row, reason=SessionEndReason.PASSWORD_CHANGED, by=row, now=now, keep=keep
        )
        if keep is not None:
            # This session goes on under the new password.
            kept = lock(StaffSession, keep.id)
            assert kept is not None
            kept.account_version = row.session_version
    return user
