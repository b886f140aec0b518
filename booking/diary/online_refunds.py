"""Refunding an online payment from the diary: part or all of it, through the provider.

The refund is made at the provider first (a refusal is shown as it is, and nothing is
recorded), then recorded in the ledger with the provider's refund id, so the webhook
that reports the same refund later changes nothing. The form carries a random key,
sent as the provider's Idempotency-Key: sending the form twice refunds once.
"""

import uuid

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Regexp

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError
from booking.clinic.money import format_money_exact, parse_price_pence, price_as_typed
from booking.clinic.payments import ledger, online, online_fees
from booking.diary import blueprint
from booking.extensions import db
from booking.models import CheckoutStatus, OnlineCheckout
from booking.validators import Form


class OnlineRefundForm(Form):
    amount = StringField(
        "Amount to refund in pounds",
        validators=[DataRequired("Enter the amount to refund, like 65 or 65.50.")],
    )
    request_key = HiddenField(validators=[Regexp(r"^[0-9a-f]{32}$", message="Please try again.")])

    def amount_pence(self) -> int | None:
        try:
            return parse_price_pence(self.amount.data)
        except DomainError as error:
            self.amount.errors = [*self.amount.errors, error.message]
            return None


def _paid_checkout_or_404(checkout_id: int) -> OnlineCheckout:
    checkout = db.session.get(OnlineCheckout, checkout_id)
    if checkout is None or checkout.status != CheckoutStatus.PAID:
        abort(404)
    return checkout


@blueprint.get("/ledger-entries/<int:entry_id>/online-payment")
@staff_required(*FRONT_DESK)
def online_payment_of_entry(entry_id: int):
    """From a payment in the ledger's history to its online payment's refund page."""
    checkout = online.checkout_for_entry(entry_id)
    if checkout is None:
        fee_checkout = online_fees.checkout_for_entry(entry_id)
        if fee_checkout is None:
            abort(404)
        return redirect(url_for(".fee_payment", checkout_id=fee_checkout.id))
    return redirect(url_for(".online_payment", checkout_id=checkout.id))


@blueprint.route("/online-payments/<int:checkout_id>", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def online_payment(checkout_id: int):
    checkout = _paid_checkout_or_404(checkout_id)
    form = OnlineRefundForm()
    problem, status = None, 200
    if form.validate_on_submit():
        amount = form.amount_pence()
        if amount is None:
            problem, status = "Please correct the highlighted answer below.", 422
        else:
            try:
                refunded = online.refund_online_payment(
                    checkout, amount, staff_user=current_user, request_key=form.request_key.data
                )
            except DomainError as error:
                problem, status = error.message, 409
            else:
                flash(f"{format_money_exact(refunded)} refunded to the patient's card.", "success")
                return redirect(url_for(".online_payment", checkout_id=checkout.id))
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answer below.", 422
    checkout = _paid_checkout_or_404(checkout_id)
    refundable = online.refundable_pence(checkout)
    if not form.is_submitted():
        form.amount.data = price_as_typed(refundable)
    if not form.request_key.data or status == 200:
        form.request_key.data = uuid.uuid4().hex
    return render_template(
        "diary/online_payment.html",
        checkout=checkout,
        course=checkout.course,
        appointment=checkout.appointment,
        patient=checkout.target.patient,
        entries=ledger.entries_for(checkout.target),
        refundable=refundable,
        form=form,
        problem=problem,
        method_label=ledger.method_label,
    ), status
