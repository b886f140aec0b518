"""Staff accounts: checking a password and changing it. Plain Python, no request objects."""

from sqlalchemy import func, select

from booking.clinic import DomainError, audit
from booking.database import utcnow
from booking.extensions import db
from booking.models import StaffUser
from booking.passwords import check_against_no_account

MINIMUM_PASSWORD_LENGTH = 10
SIGN_IN_FAILED = "That email address and password do not match an active staff account."


def authenticate(email: str, password: str) -> StaffUser:
    """The active account with this email and password, or DomainError (one message for all)."""
    user = db.session.scalar(
        select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower())
    )
    if user is None:
        check_against_no_account(password)
        raise DomainError(SIGN_IN_FAILED)
    if not user.check_password(password) or not user.active:
        raise DomainError(SIGN_IN_FAILED)
    user.last_sign_in_at = utcnow()
    db.session.commit()
    return user


def change_password(user: StaffUser, current: str, new: str) -> StaffUser:
    """Set a new password and end the account's other sessions (the session version rises)."""
    if not user.check_password(current):
        raise DomainError("Your current password is not right.")
    if len(new) < MINIMUM_PASSWORD_LENGTH:
        raise DomainError(
            f"The new password must be at least {MINIMUM_PASSWORD_LENGTH} characters."
        )
    if new == current:
        raise DomainError("The new password must be different from the current one.")
    user.set_password(new)
    user.session_version += 1
    audit.record(user, "staff.password_changed", user)
    db.session.commit()
    return user
