"""A fee's page, from the link in the patient's email: what it is, why, and paying it online.

Online only: with no payment keys configured the link is never sent and these pages
do not exist (404). The domain (`booking.clinic.payments.online_fees`) says how the fee
stands and starts the hosted page; the webhook records the payment.
"""

from flask import abort, flash, redirect, render_template, request, url_for

from booking.clinic import DomainError
from booking.clinic.payments import online_fees
from booking.clinic.payments.configured import online_payment_configured
from booking.clinic.tokens import fee_of_token
from booking.extensions import limiter
from booking.models import LedgerEntry
from booking.public import blueprint
from booking.public.forms import ConfirmForm

# Stripe's documented placeholder: it puts the session's id here on the way back.
SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def _fee_or_404(token: str) -> LedgerEntry:
    if not online_payment_configured():
        abort(404)
    signed = fee_of_token(token)
    fee = online_fees.fee_for_link(*signed) if signed is not None else None
    if fee is None:
        abort(404)
    return fee


@blueprint.get("/fee/<token>")
def fee(token: str):
    page = online_fees.fee_page(_fee_or_404(token))
    session_id = request.args.get("session_id")
    return render_template(
        "public/fee.html",
        page=page,
        token=token,
        form=ConfirmForm(),
        came_back=bool(session_id),
        confirmed=online_fees.returned_paid(page.fee, session_id),
        cancelled=request.args.get("cancelled") == "1",
    )


@blueprint.post("/fee/<token>/pay")
@limiter.limit("20 per hour")
def fee_pay(token: str):
    fee = _fee_or_404(token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    here = url_for(".fee", token=token, _external=True)
    try:
        address = online_fees.start_fee_checkout(
            fee,
            success_url=f"{here}?session_id={SESSION_PLACEHOLDER}",
            cancel_url=f"{here}?cancelled=1",
        )
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(".fee", token=token))
    # 303: the browser follows with a GET to the hosted page.
    return redirect(address, code=303)
