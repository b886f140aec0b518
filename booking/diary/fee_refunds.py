"""Refunding a fee paid online, from the diary: part or all of it, through the provider.

As for a course's online payment (online_refunds.py): the provider is asked first (a
refusal is shown as it is and nothing is recorded), then the ledger records the refund
with its credit note; the form's random key is the provider's Idempotency-Key, so
sending it twice refunds once. The domain is `booking.clinic.payments.online_fees`.
"""

from flask import abort, redirect, render_template, url_for
from wtforms import StringField
from wtforms.validators import DataRequired

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic.payments import fee_links, ledger, online_fees
from booking.diary import blueprint
from booking.diary.refund_forms import RefundForm, ready_for_the_page, refund_from_form
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import CheckoutStatus, FeeCheckout


class FeeRefundForm(RefundForm):
    amount = StringField(
        "Amount to refund in pounds",
        validators=[DataRequired("Enter the amount to refund, like 30 or 12.50.")],
    )


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
    attempt = refund_from_form(
        form,
        lambda amount: online_fees.refund_fee_payment(
            checkout, amount, staff_user=signed_in_staff(), request_key=form.request_key.data
        ),
    )
    if attempt.refunded:
        return redirect(url_for(".fee_payment", checkout_id=checkout.id))
    checkout = _paid_checkout_or_404(checkout_id)
    refundable = online_fees.refundable_fee_pence(checkout)
    ready_for_the_page(form, refundable, attempt)
    appointment = checkout.fee.appointment
    return render_template(
        "diary/fee_payment.html",
        checkout=checkout,
        appointment=appointment,
        label=fee_links.label(checkout.fee),
        entries=ledger.entries_for(appointment) if appointment is not None else [],
        refundable=refundable,
        form=form,
        problem=attempt.problem,
        method_label=ledger.method_label,
    ), attempt.status
