"""Once per form: a double tap, or a retry after a timeout, finds what the first send did.

A patient form that books something carries a random key, made when the page is shown
(`new_key`). The unit of work that acts on it first claims the key: a row in
`form_submissions` whose key column is unique. A second send of the same form then
either finds the row (the first has finished) or, racing, waits on the unique index
until the first commits and is refused with `AlreadySubmitted`; either way it is given
the first send's result rather than booking again (with "first available", another
practitioner) or being told the time it has just booked was taken. If the first send
was refused, its claim was rolled back with it and the second is judged afresh.
"""

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from booking.clinic import transaction
from booking.clinic.errors import AlreadySubmitted
from booking.extensions import db
from booking.models import FormSubmission

__all__ = ["AlreadySubmitted", "claim", "earlier", "forget_old", "new_key", "usable_key"]

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Long enough for any retry a browser or a patient makes; the rows are then cleared.
KEPT_FOR = timedelta(days=2)


def new_key() -> str:
    """A key for one form as shown: random, unguessable, and naming nobody."""
    return secrets.token_urlsafe(24)


def usable_key(value: object) -> str | None:
    """The form's key if it looks like one of ours; anything else is treated as no key."""
    if isinstance(value, str) and KEY_PATTERN.match(value):
        return value
    return None


def earlier(key: str) -> FormSubmission | None:
    """The record of this form's earlier send, if one was committed."""
    return db.session.scalar(select(FormSubmission).where(FormSubmission.key == key))


def claim(key: str, kind: str) -> FormSubmission:
    """Claim the key in the caller's unit of work; AlreadySubmitted if another send has it.

    Written at once, before anything is checked or booked, so a racing send of the same
    form waits here for this one's outcome.
    """
    if not transaction.in_unit_of_work():
        raise RuntimeError("claim() belongs inside the unit of work that acts on the form")
    if earlier(key) is not None:
        raise AlreadySubmitted()
    row = FormSubmission(key=key, kind=kind)
    db.session.add(row)
    transaction.flush()
    return row


def forget_old(now: datetime) -> int:
    """Clear the keys of forms sent more than KEPT_FOR ago (a scheduled job)."""
    with transaction.unit_of_work():
        result = db.session.execute(
            delete(FormSubmission).where(FormSubmission.created_at < now - KEPT_FOR)
        )
    return int(getattr(result, "rowcount", 0) or 0)
