"""Taking money at the desk: the one-click card payment, other payments, refunds, fees.

Every member of staff who may open an appointment may take its payment (a practitioner
only for their own appointments, as for attendance); refunds, fee waivers and courses are
for the front desk. Each action is one domain call (`booking.clinic.payments`) and a
message saying exactly what happened.
"""

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from booking.auth.access import ALL_STAFF, FRONT_DESK, require_practitioner_access, staff_required
from booking.clinic import DomainError, access_log
from booking.clinic.documents.from_ledger import refund_with_credit_note
from booking.clinic.documents.listing import documents_by_entry
from booking.clinic.money import format_money_exact, parse_amount_pence
from booking.clinic.payments import fees, ledger, refund_failures
from booking.clinic.payments.fee_labels import FEE_LABELS
from booking.diary import blueprint
from booking.diary.forms import DESK_METHODS
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import (
    Appointment,
    Course,
    LedgerEntry,
    LedgerEntryKind,
    PaymentMethod,
    Role,
)
from booking.validators import Form, site_path, whole_number

CORRECT_BELOW = "Please correct the highlighted answers below."


class OneClickPaymentForm(Form):
    """The full amount still owed, by card: the amount the page showed, so a second click
    (or a payment someone else took meanwhile) is refused rather than taken twice."""

    amount_pence = HiddenField()
    back = HiddenField()


class MoneyForm(Form):
    amount = StringField(
        "Amount (£)",
        validators=[DataRequired("Enter the amount, like 65 or 65.50."), Length(max=40)],
    )
    method = SelectField("Paid by", choices=DESK_METHODS)
    reference = StringField(
        "Reference (optional)",
        validators=[Length(max=120, message="Up to 120 characters.")],
    )

    def amount_pence(self) -> int | None:
        """The amount in pence, or None with the message on the field."""
        try:
            return parse_amount_pence(self.amount.data)
        except DomainError as error:
            self.amount.errors = [*self.amount.errors, error.message]
            return None


class WaiveFeeForm(Form):
    reason = StringField(
        "Why it is waived (optional)", validators=[Length(max=300, message="Up to 300 characters.")]
    )


def _appointment_or_404(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    require_practitioner_access(appointment.practitioner)
    return appointment


def _course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    return course


def _page_of(target: ledger.Target) -> str:
    if isinstance(target, Appointment):
        return url_for(".appointment", appointment_id=target.id)
    return url_for(".course", course_id=target.id)


def _payments_page_of(target: ledger.Target) -> str:
    if isinstance(target, Appointment):
        return url_for(".appointment_payments", appointment_id=target.id)
    return url_for(".course_payments", course_id=target.id)


def _front_desk() -> bool:
    return current_user.role in (Role.ADMIN.value, Role.RECEPTIONIST.value)


def money_summary(target: ledger.Target) -> dict[str, Any]:
    """What the money panels of the appointment, course and payments pages show."""
    fees_, paid = ledger.totals(target)
    price = ledger.price_due(target)
    return {
        "price_due": price,
        "fees_due": fees_,
        "due": price + fees_,
        "paid": paid,
        "owed": price + fees_ - paid,
        "entries": ledger.entries_for(target),
        # The receipt or credit note of each payment or refund, by entry id.
        "documents": documents_by_entry(target),
    }


@blueprint.app_context_processor
def _money_helpers() -> dict[str, Any]:
    return {
        "money_summary": money_summary,
        "payment_method_label": ledger.method_label,
        "fee_label": FEE_LABELS.get,
        "describe_owed": ledger.describe_owed,
        "patient_balance": ledger.balance,
        "patient_payments": ledger.history,
        "refund_failures_for": refund_failures.failures_for,
        "describe_refund_failure": refund_failures.describe,
    }


def _render_payments(
    target: ledger.Target,
    *,
    payment_form: MoneyForm | None = None,
    refund_form: MoneyForm | None = None,
    problem: str | None = None,
    status: int = 200,
):
    summary = money_summary(target)
    if payment_form is None:
        payment_form = MoneyForm(prefix="payment", formdata=None)
        if summary["owed"] > 0:
            payment_form.amount.data = format_money_exact(summary["owed"]).removeprefix("£")
    return render_template(
        "diary/payments.html",
        target=target,
        is_appointment=isinstance(target, Appointment),
        summary=summary,
        payment_form=payment_form,
        refund_form=refund_form or MoneyForm(prefix="refund", formdata=None),
        waive_form=WaiveFeeForm(prefix="waive", formdata=None),
        one_click=OneClickPaymentForm(formdata=None),
        page_url=_page_of(target),
        may_refund=_front_desk(),
        problem=problem,
    ), status


def _take_payment(target: ledger.Target):
    form = MoneyForm(prefix="payment")
    if not form.validate_on_submit():
        return _render_payments(target, payment_form=form, problem=CORRECT_BELOW, status=422)
    amount = form.amount_pence()
    if amount is None:
        return _render_payments(target, payment_form=form, problem=CORRECT_BELOW, status=422)
    try:
        result = ledger.record_payment(
            target, amount, form.method.data, signed_in_staff(), reference=form.reference.data
        )
    except DomainError as error:
        return _render_payments(target, payment_form=form, problem=error.message, status=409)
    flash(ledger.describe_payment(result), "success")
    return redirect(_page_of(target))


def _give_refund(target: ledger.Target):
    form = MoneyForm(prefix="refund")
    if not form.validate_on_submit():
        return _render_payments(target, refund_form=form, problem=CORRECT_BELOW, status=422)
    amount = form.amount_pence()
    if amount is None:
        return _render_payments(target, refund_form=form, problem=CORRECT_BELOW, status=422)
    try:
        # The refund and its numbered credit note, both or neither.
        entry, credit_note = refund_with_credit_note(
            target, amount, form.method.data, signed_in_staff(), reference=form.reference.data
        )
    except DomainError as error:
        return _render_payments(target, refund_form=form, problem=error.message, status=409)
    owed = ledger.amount_owed(target)
    flash(
        f"{ledger.describe_refund(entry)} {ledger.describe_owed(owed)} "
        f"Credit note {credit_note.reference} issued.",
        "success",
    )
    return redirect(_page_of(target))


# Appointments -------------------------------------------------------------------------------


@blueprint.get("/appointments/<int:appointment_id>/payments")
@staff_required(*ALL_STAFF)
def appointment_payments(appointment_id: int):
    appointment = _appointment_or_404(appointment_id)
    access_log.record_read(signed_in_staff(), appointment.patient_id, "payments")
    return _render_payments(appointment)


@blueprint.post("/appointments/<int:appointment_id>/pay-by-card")
@staff_required(*ALL_STAFF)
def appointment_pay_by_card(appointment_id: int):
    """One click: the whole amount the page showed as owed, by card."""
    appointment = _appointment_or_404(appointment_id)
    form = OneClickPaymentForm()
    back = site_path(form.back.data, under="/diary/") or _page_of(appointment)
    amount = whole_number(form.amount_pence.data)
    if not form.validate_on_submit() or amount is None:
        flash("That payment could not be read, so nothing was recorded. Please try again.", "error")
        return redirect(back)
    owed = ledger.amount_owed(appointment)
    if amount != owed:
        # Someone took a payment (or the price changed) since the page was drawn.
        flash(
            f"Nothing was recorded: the page showed {format_money_exact(amount)} owed, but "
            f"{ledger.describe_owed(owed).lower().rstrip('.')} now. Please check and try again.",
            "error",
        )
        return redirect(back)
    try:
        result = ledger.record_payment(appointment, amount, PaymentMethod.CARD, signed_in_staff())
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            f"{appointment.patient.name}: {ledger.describe_payment(result)}",
            "success",
        )
    return redirect(back)


@blueprint.post("/appointments/<int:appointment_id>/payments")
@staff_required(*ALL_STAFF)
def appointment_payment(appointment_id: int):
    return _take_payment(_appointment_or_404(appointment_id))


@blueprint.post("/appointments/<int:appointment_id>/refunds")
@staff_required(*FRONT_DESK)
def appointment_refund(appointment_id: int):
    return _give_refund(_appointment_or_404(appointment_id))


# Courses ------------------------------------------------------------------------------------


@blueprint.get("/courses/<int:course_id>/payments")
@staff_required(*FRONT_DESK)
def course_payments(course_id: int):
    course = _course_or_404(course_id)
    access_log.record_read(signed_in_staff(), course.patient_id, "payments")
    return _render_payments(course)


@blueprint.post("/courses/<int:course_id>/payments")
@staff_required(*FRONT_DESK)
def course_payment(course_id: int):
    return _take_payment(_course_or_404(course_id))


@blueprint.post("/courses/<int:course_id>/refunds")
@staff_required(*FRONT_DESK)
def course_refund(course_id: int):
    return _give_refund(_course_or_404(course_id))


# Fees ---------------------------------------------------------------------------------------


@blueprint.post("/fees/<int:entry_id>/waive")
@staff_required(*FRONT_DESK)
def fee_waive(entry_id: int):
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.kind != LedgerEntryKind.FEE or entry.appointment is None:
        abort(404)
    appointment = entry.appointment
    form = WaiveFeeForm(prefix="waive")
    if not form.validate_on_submit():
        return _render_payments(appointment, problem=CORRECT_BELOW, status=422)
    try:
        waived = fees.waive_fee(entry, staff_user=signed_in_staff(), reason=form.reason.data or "")
    except DomainError as error:
        flash(error.message, "error")
    else:
        label = FEE_LABELS.get(entry.fee_kind or "", "Fee")
        # What goes back to the patient, when anything does; else what is still owed.
        after = waived.staff_words() or ledger.describe_owed(ledger.amount_owed(appointment))
        flash(f"{label} of {format_money_exact(entry.amount_pence)} waived. {after}", "success")
    return redirect(site_path(request.form.get("back"), under="/diary/") or _page_of(appointment))
