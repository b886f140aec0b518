"""Fixtures for online payment (registered in conftest.py): the app talking to a Stripe stand-in.

`stripe_standin` starts tests/stripe_standin.py on a free port and points the app's
STRIPE_* settings at it for one test (restored after). `stripe_webhooks` also serves the
app on a free port, so the stand-in can deliver signed events over real HTTP.
"""

import pytest

from tests.stripe_standin import StripeStandIn


@pytest.fixture
def stripe_standin(app):
    standin = StripeStandIn().start()
    saved = {name: app.config.get(name) for name in standin.config()}
    app.config.update(standin.config())
    try:
        yield standin
    finally:
        app.config.update(saved)
        standin.stop()


@pytest.fixture
def stripe_webhooks(stripe_standin, live_server):
    stripe_standin.webhook_url = f"{live_server}/payments/stripe/webhook"
    return stripe_standin
