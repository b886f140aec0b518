"""Refunding a fee paid online, from the diary: part or all of it, through the provider.

As for a course's online payment (online_refunds.py): the provider is asked first (a
refusal is shown as it is and nothing is recorded), then the ledger records the refund
with its credit note; the form's random key is the provider's Idempotency-Key, so
sending it twice refunds once. The domain is `booking.clinic.payments.online_fees`.
"""

import uuid

from flask import abort, flash, redirect, render_template, url_for
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Regexp

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError
from booking.clinic.money import format_money_exact, parse_price_pence, price_as_typed
from booking.clinic.payments import fee_links, ledger, online_fees
from booking.diary import blueprint
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import CheckoutStatus, FeeCheckout
from booking.validators import Form


class FeeRefundForm(Form):
    amount = StringField(
        "Amount to refund in pounds",
        validators=[DataRequired("Enter the amount to refund, like 30 or 12.50.")],
    )
    request_key = HiddenField(validators=[Regexp(r"^[0-9a-f]{32}$", message="Please try again.")])

    def amount_pence(self) -> int | None:
        try:
            return parse_price_pence(self.amount.data)
        except DomainError as error:
            self.amount.errors = [*self.amount.errors, error.message]
            return None


def _paid_checkout_or_404(checkout_id: int) -> FeeCheckout:
    checkout = db.session.get(FeeCheckout, checkout_id)
    if checkout is None or checkout.status != CheckoutStatus.PAID:
        abort(404)
    return checkout


@blueprint.route("/fee-payments/<int:checkout_id>", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def fee_payment(checkout_id: int):
    checkout = _paid_checkout_or_404(checkout_id)
    form = FeeRefundForm()
    problem, status = None, 200
    if form.validate_on_submit():
        amount = form.amount_pence()
        if amount is None:
            problem, status = "Please correct the highlighted answer below.", 422
        else:
            try:
                refunded = online_fees.refund_fee_payment(
                    checkout,
                    amount,
                    staff_user=signed_in_staff(),
                    request_key=form.request_key.data,
                )
            except DomainError as error:
                problem, status = error.message, 409
            else:
                flash(f"{format_money_exact(refunded)} refunded to the patient's card.", "success")
                return redirect(url_for(".fee_payment", checkout_id=checkout.id))
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answer below.", 422
    checkout = _paid_checkout_or_404(checkout_id)
    refundable = online_fees.refundable_fee_pence(checkout)
    if not form.is_submitted():
        form.amount.data = price_as_typed(refundable)
    if not form.request_key.data or status == 200:
        form.request_key.data = uuid.uuid4().hex
    appointment = checkout.fee.appointment
    return render_template(
        "diary/fee_payment.html",
        checkout=checkout,
        appointment=appointment,
        label=fee_links.label(checkout.fee),
        entries=ledger.entries_for(appointment) if appointment is not None else [],
        refundable=refundable,
        form=form,
        problem=problem,
        method_label=ledger.method_label,
    ), status
