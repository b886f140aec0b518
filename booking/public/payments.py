"""Online payment's pages: pay for a course, come back from the hosted page, the webhook.

None of these exist for a patient when no keys are configured (404), and the course
pages show no online choice then: paying at the clinic is the default.
"""

import logging

from flask import abort, render_template, request

from booking.clinic.payments import online
from booking.clinic.payments.configured import online_provider
from booking.clinic.payments.provider import BadSignature
from booking.extensions import csrf, limiter
from booking.public import blueprint
from booking.public.checkout import pay_for_course
from booking.public.forms import ConfirmForm
from booking.public.links import course_from_token_or_404

log = logging.getLogger(__name__)


@blueprint.post("/course/<token>/pay")
@limiter.limit("20 per hour")
def course_pay(token: str):
    course = course_from_token_or_404(token)
    if online_provider() is None:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    return pay_for_course(course)


@blueprint.get("/course/<token>/paid")
def course_paid(token: str):
    """Back from the hosted page: paid only once the webhook has said so."""
    course = course_from_token_or_404(token)
    if online_provider() is None:
        abort(404)
    state = online.checkout_state(course, request.args.get("session_id"))
    return render_template(
        "public/course_paid.html",
        course=course,
        token=token,
        confirmed=state is not None and state.confirmed,
    )


@blueprint.get("/course/<token>/payment-cancelled")
def course_payment_cancelled(token: str):
    course = course_from_token_or_404(token)
    if online_provider() is None:
        abort(404)
    return render_template(
        "public/course_payment_cancelled.html", course=course, token=token, form=ConfirmForm()
    )


@blueprint.post("/payments/stripe/webhook")
@csrf.exempt  # Stripe cannot hold our form token; the signature proves who sent it.
def stripe_webhook():
    provider = online_provider()
    if provider is None:
        abort(404)
    payload = request.get_data(cache=False, as_text=False)
    try:
        event = provider.verify_event(payload, request.headers.get("Stripe-Signature"))
    except BadSignature as error:
        log.warning("payment webhook refused: %s", error)
        # No detail for whoever sent it.
        return {"received": False}, 400
    outcome = online.handle_event(event)
    log.info("payment webhook %s: %s", event.type, outcome)
    return {"received": True}
