"""Who offers which session: one answer for booking, moving, planning and the pages.

A practitioner offers a session type while they work here (active) and the type is
one of theirs. Whether the type itself may be booked (active, online) is the
booking's own check.
"""

from booking.models import Practitioner, SessionType


def offers(practitioner: Practitioner, session_type: SessionType) -> bool:
    """Whether `practitioner` takes appointments of `session_type`."""
    return practitioner.active and session_type in practitioner.session_types


def practitioners_offering(session_type: SessionType) -> list[Practitioner]:
    """The practitioners who offer `session_type`, in the clinic's order."""
    # Listed under the session type is "one of theirs" already: asking `offers` here would
    # load every practitioner's own list, a query each.
    return sorted((p for p in session_type.practitioners if p.active), key=lambda p: p.position)
