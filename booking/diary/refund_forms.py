"""The refund form of an online payment's page, shared by the course's or deposit's
(online_refunds.py) and the fee's (fee_refunds.py): part or all of a payment back to the
card, through the provider.

The form carries a random key, sent as the provider's Idempotency-Key, so sending the
same form twice refunds once; a fresh key is given whenever the page is shown anew.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import flash
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Regexp

from booking.clinic import DomainError
from booking.clinic.money import format_money_exact, parse_price_pence, price_as_typed
from booking.validators import Form

CORRECT_THE_AMOUNT = "Please correct the highlighted answer below."


class RefundForm(Form):
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


@dataclass(frozen=True)
class RefundAttempt:
    """What became of the form this request: refunded, or the page again with a problem."""

    refunded: bool = False
    problem: str | None = None
    status: int = 200


def refund_from_form(form: RefundForm, refund: Callable[[int], int]) -> RefundAttempt:
    """`refund(pence)` the amount typed, if the form is sound; the provider's refusal (or
    the ledger's) is shown as it is, with a 409."""
    if form.validate_on_submit():
        amount = form.amount_pence()
        if amount is None:
            return RefundAttempt(problem=CORRECT_THE_AMOUNT, status=422)
        try:
            refunded = refund(amount)
        except DomainError as error:
            return RefundAttempt(problem=error.message, status=409)
        flash(f"{format_money_exact(refunded)} refunded to the patient's card.", "success")
        return RefundAttempt(refunded=True)
    if form.is_submitted():
        return RefundAttempt(problem=CORRECT_THE_AMOUNT, status=422)
    return RefundAttempt()


def ready_for_the_page(form: RefundForm, refundable_pence: int, attempt: RefundAttempt) -> None:
    """Offer what is left to refund when first shown, and a fresh key unless the page is
    shown again after a refusal (the same key then makes a retry refund once)."""
    if not form.is_submitted():
        form.amount.data = price_as_typed(refundable_pence)
    if not form.request_key.data or attempt.status == 200:
        form.request_key.data = uuid.uuid4().hex
