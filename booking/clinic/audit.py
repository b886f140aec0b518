"""The audit log: every change staff make, recorded in the same transaction as the change."""

from typing import Any

from booking.extensions import db
from booking.models import AuditEvent, StaffUser


def record(
    staff_user: StaffUser | None, action: str, subject: object, **details: Any
) -> AuditEvent:
    """Add an audit event for `subject` (a model with an id). No health notes in details."""
    event = AuditEvent(
        staff_user_id=staff_user.id if staff_user is not None else None,
        action=action,
        subject_type=type(subject).__name__,
        subject_id=getattr(subject, "id", None),
        details={key: _plain(value) for key, value in details.items()},
    )
    db.session.add(event)
    return event


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
