"""Stripe Checkout behind the provider interface, over Stripe's documented HTTP API.

Plain HTTP (the standard library's urllib) rather than Stripe's Python library: we make
four calls (create, retrieve and expire a Checkout Session, create a Refund) and verify one
signature, all fully documented as form-encoded requests with a Bearer key and JSON
answers. Speaking it directly keeps the base address, the timeout and the idempotency
key per call and explicit (the library keeps its API base in module-wide state), adds
no dependency to keep up to date, and is exactly what the test stand-in
(tests/stripe_standin.py) checks we send.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from booking.clinic.payments.provider import (
    BadSignature,
    CheckoutRequest,
    CheckoutSession,
    ProviderError,
    ProviderEvent,
    Refund,
)

log = logging.getLogger(__name__)

# Stripe's own libraries refuse a signature older than this (seconds).
SIGNATURE_TOLERANCE = 300
API_VERSION = "2024-06-20"
UNREACHABLE = (
    "The card payment service could not be reached just now, so nothing was done. "
    "Please try again in a minute."
)


def form_encode(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Stripe's form encoding of nested values: line_items[0][price_data][currency]=gbp."""
    for key, value in values.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from form_encode(value, name)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield from form_encode(item, f"{name}[{index}]")
                else:
                    yield f"{name}[{index}]", str(item)
        elif value is None:
            continue
        elif isinstance(value, bool):
            yield name, "true" if value else "false"
        else:
            yield name, str(value)


def signature_for(secret: str, timestamp: int, payload: bytes) -> str:
    """v1 of the Stripe-Signature header: HMAC-SHA256 of "<t>.<payload>", in hex."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise BadSignature unless one v1 signature matches and t is within the tolerance."""
    if not header or not secret:
        raise BadSignature("no signature")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise BadSignature("unreadable timestamp") from None
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise BadSignature("no timestamp or no v1 signature")
    expected = signature_for(secret, timestamp, payload)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise BadSignature("no signature matches")
    now = time.time() if now is None else now
    # A replayed delivery captured earlier is refused; so is one dated far ahead.
    if abs(now - timestamp) > tolerance:
        raise BadSignature("timestamp outside the tolerance")


class StripeCheckout:
    """The PaymentProvider for Stripe."""

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        *,
        api_base: str = "https://api.stripe.com",
        checkout_origin: str = "https://checkout.stripe.com",
        timeout: float = 20,
    ) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.api_base = api_base.rstrip("/")
        self.checkout_origin = checkout_origin.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "StripeCheckout":
        return cls(
            config["STRIPE_SECRET_KEY"],
            config["STRIPE_WEBHOOK_SECRET"],
            api_base=config.get("STRIPE_API_BASE") or "https://api.stripe.com",
            checkout_origin=config.get("STRIPE_CHECKOUT_ORIGIN") or "https://checkout.stripe.com",
            timeout=float(config.get("STRIPE_TIMEOUT", 20)),
        )

    # The calls ---------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        metadata = dict(request.metadata)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency,
                        "unit_amount": request.amount_pence,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata": metadata,
            # The payment (and so its charge and refunds) names the same course too.
            "payment_intent_data": {"metadata": metadata},
            "client_reference_id": request.idempotency_key,
            "customer_email": request.customer_email,
            "expires_at": request.expires_at,
        }
        answer = self._call(
            "POST",
            "/v1/checkout/sessions",
            params,
            idempotency_key=request.idempotency_key,
            doing="start the online payment",
        )
        session = _session_from(answer)
        if not session.url or not session.url.startswith(self.checkout_origin + "/"):
            # Patients are sent only to the hosted page the security policy allows.
            log.error("Stripe gave a checkout address outside %s", self.checkout_origin)
            raise ProviderError(UNREACHABLE)
        return session

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        path = "/v1/checkout/sessions/" + quote(session_id, safe="")
        return _session_from(self._call("GET", path, {}, doing="check the online payment"))

    def expire_checkout(self, session_id: str) -> CheckoutSession:
        """Close an open hosted page, so it takes no payment (Stripe refuses one not open)."""
        path = "/v1/checkout/sessions/" + quote(session_id, safe="") + "/expire"
        return _session_from(self._call("POST", path, {}, doing="close the payment page"))

    def refund(self, payment_intent: str, amount_pence: int, *, idempotency_key: str) -> Refund:
        answer = self._call(
            "POST",
            "/v1/refunds",
            {"payment_intent": payment_intent, "amount": amount_pence},
            idempotency_key=idempotency_key,
            doing="make the refund",
        )
        return _refund_from(answer)

    def verify_event(self, payload: bytes, signature_header: str | None) -> ProviderEvent:
        verify_signature(payload, signature_header, self.webhook_secret)
        try:
            body = json.loads(payload)
            return ProviderEvent(
                id=str(body["id"]),
                type=str(body["type"]),
                created=int(body.get("created") or 0),
                data=dict(body["data"]["object"]),
            )
        except (ValueError, KeyError, TypeError):
            raise BadSignature("signed, but not an event") from None

    # HTTP --------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        *,
        doing: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body = urlencode(list(form_encode(params))).encode() if method == "POST" else None
        headers = {
            "Authorization": f"Bearer {self.secret_key}",
            "Stripe-Version": API_VERSION,
            "User-Agent": "ClinicBooking/1.0",
        }
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(  # noqa: S310 - the configured https (or test) base
            self.api_base + path, data=body, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            message = _error_message(error)
            log.warning("Stripe refused to %s: HTTP %s", doing, error.code)
            # Stripe's advice: retry its own errors (5xx) and conflicts with the same key.
            retryable = error.code >= 500 or error.code == 409
            raise ProviderError(
                f"Stripe refused to {doing}: {message}", retryable=retryable
            ) from None
        except (OSError, ValueError):
            log.warning("Stripe could not be reached to %s", doing)
            raise ProviderError(UNREACHABLE, retryable=True) from None


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read())["error"]
        text = str(detail.get("message") or detail.get("code") or "")
    except (ValueError, KeyError, TypeError, AttributeError, OSError):
        text = ""
    return text[:300] or f"it answered with error {error.code}."


def _session_from(answer: Mapping[str, Any]) -> CheckoutSession:
    try:
        intent = answer.get("payment_intent")
        if isinstance(intent, Mapping):
            intent = intent.get("id")
        return CheckoutSession(
            id=str(answer["id"]),
            url=answer.get("url"),
            status=str(answer.get("status") or "open"),
            payment_status=str(answer.get("payment_status") or "unpaid"),
            amount_total=int(answer.get("amount_total") or 0),
            payment_intent=str(intent) if intent else None,
            metadata={str(k): str(v) for k, v in (answer.get("metadata") or {}).items()},
        )
    except (KeyError, TypeError, ValueError):
        raise ProviderError(UNREACHABLE) from None


def _refund_from(answer: Mapping[str, Any]) -> Refund:
    try:
        return Refund(
            id=str(answer["id"]),
            amount_pence=int(answer["amount"]),
            status=str(answer.get("status") or "pending"),
            payment_intent=answer.get("payment_intent"),
        )
    except (KeyError, TypeError, ValueError):
        raise ProviderError(UNREACHABLE) from None
