"""The access log: sign-ins, second factors, session ends and every read of a patient's
record, each with who and when, never what the record holds.

Written in the same transaction as what it records when there is one (a sign-in, a session
ending); a read of a record is its own small transaction.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import select

from booking.clinic.transaction import unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import AccessEvent, StaffUser


def record(
    staff_user: StaffUser | None,
    action: str,
    *,
    account: StaffUser | None = None,
    patient_id: int | None = None,
    now: datetime | None = None,
    **details: Any,
) -> AccessEvent:
    """Add an access event (joins the unit of work open, or is one of its own)."""
    with unit_of_work() as session:
        event = AccessEvent(
            occurred_at=now or utcnow(),
            staff_user_id=staff_user.id if staff_user is not None and staff_user.id else None,
            action=action,
            account_id=account.id if account is not None else None,
            patient_id=patient_id,
            details={key: value for key, value in details.items() if value is not None},
        )
        session.add(event)
    return event


def record_read(staff_user: StaffUser, patient_id: int, what: str) -> AccessEvent:
    """A member of staff opened a patient's record (`what`: "record", "export", ...)."""
    return record(staff_user, f"patient.{what}_read", patient_id=patient_id)


def readers_of(patient_id: int) -> list[dict[str, Any]]:
    """Who has read this patient's record, and when: for the patient's own export."""
    rows = db.session.execute(
        select(AccessEvent.occurred_at, AccessEvent.action, StaffUser.name, StaffUser.role)
        .outerjoin(StaffUser, StaffUser.id == AccessEvent.staff_user_id)
        .where(AccessEvent.patient_id == patient_id)
        .order_by(AccessEvent.occurred_at, AccessEvent.id)
    )
    return [
        {
            "at": occurred_at.isoformat(),
            "what": action.removeprefix("patient.").removesuffix("_read"),
            "by": name or "a former member of staff",
            "role": role,
        }
        for occurred_at, action, name, role in rows
    ]
