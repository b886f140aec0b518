"""Refunds of a deposit that a cancellation decided and that are not made yet.

Its own module because both `deposit_policy` (which notes and makes them) and
`fee_links` (whose fee is owed less only the part of the deposit that is kept) need it,
and `deposit_policy` reaches `fee_links` through the ledger's documents.
"""

from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Appointment, OnlineCheckout


def refund_to_make(appointment: Appointment) -> int:
    """What a cancellation decided to refund of the deposit and is not refunded yet."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(OnlineCheckout.cancellation_refund_pence), 0)).where(
            OnlineCheckout.appointment_id == appointment.id
        )
    )
    return int(total or 0)
