"""The online payment provider, as the clinic's domain sees it: one small interface.

The provider hosts the card page (so no card number ever reaches the clinic's server),
tells us by a signed webhook when money moved, and refunds on request. Everything the
domain needs from it is here; `booking.clinic.payments.stripe_checkout` speaks Stripe's
protocol behind it, and `booking.clinic.payments.configured.online_provider()` returns
None when no keys are configured: nothing online shows and patients pay at the desk.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from booking.clinic.errors import DomainError


class ProviderError(DomainError):
    """The provider refused a call or could not be reached; the message is fit for staff.

    `retryable`: the call may not have been made (no answer, or the provider's own error);
    sending it again with the same idempotency key is safe and may succeed.
    """

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class BadSignature(Exception):
    """A webhook whose signature, timestamp or body cannot be trusted (answered 400)."""


@dataclass(frozen=True)
class CheckoutRequest:
    """A hosted payment page for one amount: what the patient pays and where they return."""

    description: str
    amount_pence: int
    success_url: str
    cancel_url: str
    # Names our course or appointment; comes back on the webhook's session.
    metadata: Mapping[str, str]
    # The same key for a retried call makes the provider answer with the first session.
    idempotency_key: str
    customer_email: str | None = None
    # Unix time after which the page no longer takes payment (the provider's minimum
    # is 30 minutes); None leaves the provider's default (24 hours).
    expires_at: int | None = None
    currency: str = "gbp"


@dataclass(frozen=True)
class CheckoutSession:
    """The provider's hosted page and how its payment stands."""

    id: str
    url: str | None
    # open, complete or expired
    status: str
    # paid, unpaid or no_payment_required
    payment_status: str
    amount_total: int
    payment_intent: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def paid(self) -> bool:
        return self.status == "complete" and self.payment_status == "paid"


@dataclass(frozen=True)
class Refund:
    id: str
    amount_pence: int
    # pending, succeeded, failed, canceled (or requires_action)
    status: str
    payment_intent: str | None = None


@dataclass(frozen=True)
class ProviderEvent:
    """A webhook event whose signature was verified."""

    id: str
    type: str
    created: int
    data: Mapping[str, Any]


class PaymentProvider(Protocol):
    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    def retrieve_checkout(self, session_id: str) -> CheckoutSession: ...

    def expire_checkout(self, session_id: str) -> CheckoutSession: ...

    def refund(self, payment_intent: str, amount_pence: int, *, idempotency_key: str) -> Refund: ...

    def verify_event(self, payload: bytes, signature_header: str | None) -> ProviderEvent: ...
