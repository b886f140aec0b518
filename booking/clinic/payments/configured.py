"""Which payment provider the clinic has configured, if any (none: pay at the desk)."""

from flask import current_app

from booking.clinic.payments.provider import PaymentProvider
from booking.clinic.payments.stripe_checkout import StripeCheckout


def online_payment_configured() -> bool:
    """Whether the clinic takes payment online: both keys set. Otherwise nothing shows."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY")) and bool(config.get("STRIPE_WEBHOOK_SECRET"))


def online_provider() -> PaymentProvider | None:
    """The configured provider, or None when the clinic takes no payment online."""
    if not online_payment_configured():
        return None
    return StripeCheckout.from_config(current_app.config)
