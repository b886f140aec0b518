"""Who offers which session: one answer for booking, moving, planning and the pages.

A practitioner offers a session type while they work here (active) and the type is
one of theirs. Patients may book a type online while it is active and the clinic offers
it online (`bookable_online`): the booking's own check and every page that lists or
links to it ask here.
"""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.models import Practitioner, SessionType

# The same rule as `bookable_online`, as a WHERE clause.
BOOKABLE_ONLINE = (SessionType.active.is_(True), SessionType.bookable_online.is_(True))


def bookable_online(session_type: SessionType) -> bool:
    """Whether patients may book `session_type` on the site."""
    return session_type.active and session_type.bookable_online


def session_types_bookable_online() -> list[SessionType]:
    """What a patient may book online: the one the clinic recommends first, then in order."""
    return list(
        db.session.scalars(
            select(SessionType)
            .where(*BOOKABLE_ONLINE)
            .order_by(SessionType.recommended.desc(), SessionType.position, SessionType.name)
            .options(selectinload(SessionType.treatments))  # is_combination, "Includes"
        )
    )


def bookable_online_with(practitioner: Practitioner) -> list[SessionType]:
    """The session types patients may book online with `practitioner`, in their order."""
    return [t for t in practitioner.session_types if bookable_online(t)]


def offers(practitioner: Practitioner, session_type: SessionType) -> bool:
    """Whether `practitioner` takes appointments of `session_type`."""
    return practitioner.active and session_type in practitioner.session_types


def practitioners_offering(session_type: SessionType) -> list[Practitioner]:
    """The practitioners who offer `session_type`, in the clinic's order."""
    # Listed under the session type is "one of theirs" already: asking `offers` here would
    # load every practitioner's own list, a query each.
    return sorted((p for p in session_type.practitioners if p.active), key=lambda p: p.position)
