"""Where online payment meets the payments ledger: record a payment, a refund, read what is left.

Kept apart so the webhook's logic does not depend on how the ledger names things.
"""

from datetime import datetime

from booking.models import OnlineCheckout, StaffUser


def record_payment(
    checkout: OnlineCheckout, *, reference: str, amount_pence: int, now: datetime
) -> None:
    """Record the online payment against the course (once per provider reference)."""


def record_refund(
    checkout: OnlineCheckout,
    *,
    reference: str,
    amount_pence: int,
    staff_user: StaffUser | None,
    now: datetime,
) -> None:
    """Record a refund of the online payment (once per provider refund id)."""


def refundable_pence(checkout: OnlineCheckout) -> int:
    return checkout.amount_pence
