"""What every hosted payment page shares: the provider or a refusal, its lifetime, retries.

Used by the course's and the deposit's checkout (`online`) and the fee's (`online_fees`).
`Purchase`, what a course's or a deposit's page sells, lives here too, so that `deposits`
(whose terms return one) and `online` (whose webhook calls `deposits`) need not import
each other.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from booking.clinic.errors import DomainError
from booking.clinic.payments.configured import online_provider
from booking.clinic.payments.provider import PaymentProvider, ProviderError

T = TypeVar("T")

# How long the hosted page takes payment (the provider's shortest is 30 minutes).
CHECKOUT_LIFETIME = timedelta(hours=1)
# An open page is offered again only if the patient has this long left on it.
REUSE_MARGIN = timedelta(minutes=10)
# A refund in one of these states has left (or is leaving) the clinic's account.
REFUND_COUNTS = {"succeeded", "pending"}
NOT_OFFERED = "Online payment is not available. Please pay at the clinic or call us."


@dataclass(frozen=True)
class Purchase:
    """What a hosted page sells: checked afresh, with its target locked, on each start."""

    description: str
    amount_pence: int
    # How long the page takes payment, and how much of that must be left to offer it again.
    lifetime: timedelta = CHECKOUT_LIFETIME
    reuse_margin: timedelta = REUSE_MARGIN


def provider_or_refuse() -> PaymentProvider:
    """The configured provider; a DomainError for a person when there is none."""
    provider = online_provider()
    if provider is None:
        raise DomainError(NOT_OFFERED)
    return provider


def once_more_if_unsure(call: Callable[[], T]) -> T:
    """Make the call; if it may not have been made, once more with the same idempotency key.

    The provider answers a repeated key with the first call's result, so a page or a
    refund is never made twice. A checkout row left 'creating' after two failures is not
    reused (the next try builds new return addresses, which the same key would refuse).
    """
    try:
        return call()
    except ProviderError as error:
        if not error.retryable:
            raise
        return call()
