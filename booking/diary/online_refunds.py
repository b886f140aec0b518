"""Refunding an online payment from the diary: part or all of it, through the provider.

The refund is made at the provider first (a refusal is shown as it is, and nothing is
recorded), then recorded in the ledger with the provider's refund id, so the webhook
that reports the same refund later changes nothing. The form (refund_forms.py) carries a
random key, sent as the provider's Idempotency-Key: sending the form twice refunds once.
"""

from flask import abort, redirect, render_template, url_for
from flask_login import current_user

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic.payments import ledger, online, online_fees
from booking.diary import blueprint
from booking.diary.refund_forms import RefundForm, ready_for_the_page, refund_from_form
from booking.extensions import db
from booking.models import CheckoutStatus, OnlineCheckout


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
    form = RefundForm()
    attempt = refund_from_form(
        form,
        lambda amount: online.refund_online_payment(
            checkout, amount, staff_user=current_user, request_key=form.request_key.data
        ),
    )
    if attempt.refunded:
        return redirect(url_for(".online_payment", checkout_id=checkout.id))
    checkout = _paid_checkout_or_404(checkout_id)
    refundable = online.refundable_pence(checkout)
    ready_for_the_page(form, refundable, attempt)
    return render_template(
        "diary/online_payment.html",
        checkout=checkout,
        course=checkout.course,
        appointment=checkout.appointment,
        patient=checkout.target.patient,
        entries=ledger.entries_for(checkout.target),
        refundable=refundable,
        form=form,
        problem=attempt.problem,
        method_label=ledger.method_label,
    ), attempt.status
