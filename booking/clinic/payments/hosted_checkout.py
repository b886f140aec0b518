"""What every hosted payment page shares: the provider or a refusal, its lifetime, retries.

Used by the course's and the deposit's checkout (`online`) and the fee's (`online_fees`).
`Purchase`, what a course's or a deposit's page sells, lives here too, so that `deposits`
(whose terms return one) and `online` (whose webhook calls `deposits`) need not import
each other.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from booking.clinic.errors import DomainError
from booking.clinic.payments.configured import online_provider
from booking.clinic.payments.provider import (
    CheckoutRequest,
    PaymentProvider,
    ProviderError,
    Refund,
)
from booking.clinic.transaction import end_read, lock, unit_of_work
from booking.models import CheckoutStatus, FeeCheckout, OnlineCheckout

T = TypeVar("T")
# A hosted page's row: a course's or deposit's (OnlineCheckout), or a fee's (FeeCheckout).
Page = TypeVar("Page", OnlineCheckout, FeeCheckout)

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


def open_page(
    provider: PaymentProvider,
    request: CheckoutRequest,
    model: type[Page],
    checkout_id: int,
    gone: Callable[[], Any],
) -> str:
    """Ask the provider for the page `request` describes and note it on its row; the
    page's address. No transaction is held open while the provider answers."""
    end_read()
    session = once_more_if_unsure(lambda: provider.create_checkout(request))
    with unit_of_work():
        checkout = lock(model, checkout_id) or gone()
        if checkout.status == CheckoutStatus.CREATING:
            checkout.status = CheckoutStatus.OPEN.value
        checkout.provider_session_id = session.id
        checkout.checkout_url = session.url
    return session.url or ""


def refund_at_provider(
    checkout: Page, amount_pence: int, *, refundable: Callable[[], int], request_key: str
) -> Refund:
    """Refund `amount_pence` of a paid page's payment at the provider, once per
    `request_key`; refused, with nothing recorded, when it cannot or did not happen.

    The caller records the refund it returns in its own unit of work. No transaction is
    held open while the provider answers.
    """
    provider = provider_or_refuse()
    if checkout.status != CheckoutStatus.PAID or not checkout.payment_intent:
        raise DomainError("Only an online payment that went through can be refunded.")
    if amount_pence <= 0:
        raise DomainError("Enter an amount to refund, more than £0.00.")
    if amount_pence > refundable():
        raise DomainError("That is more than is left to refund of this payment.")
    intent, key = checkout.payment_intent, f"refund-{checkout.uid}-{request_key}"
    end_read()
    refund = once_more_if_unsure(lambda: provider.refund(intent, amount_pence, idempotency_key=key))
    if refund.status not in REFUND_COUNTS:
        raise DomainError(
            f"Stripe did not make the refund (it says {refund.status}). Nothing was recorded."
        )
    return refund
