"""End of day at the desk: takings for a day or a range, and the cash-up.

Front desk only. The days are read from the address (GET), the count is a POST with its
CSRF token; the domain (`booking.clinic.payments.takings`) does the sums and keeps every
count.
"""

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from wtforms import DateField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError
from booking.clinic.localtime import local_today
from booking.clinic.money import format_money_exact, parse_amount_pence
from booking.clinic.payments import refund_failures
from booking.clinic.payments import takings as end_of_day
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.diary import blueprint
from booking.diary.signed_in import signed_in_staff
from booking.validators import DayInReach, Form

CORRECT_BELOW = "Please correct the highlighted answers below."


class TakingsRangeForm(Form):
    """The days shown; read from the address, so no token."""

    class Meta:
        csrf = False

    first_day = DateField("From", validators=[InputRequired("Enter the first day."), DayInReach()])
    last_day = DateField("To", validators=[InputRequired("Enter the last day."), DayInReach()])


class CashUpForm(Form):
    day = HiddenField()
    counted = StringField(
        "Cash counted (£)",
        validators=[DataRequired("Enter the cash counted, like 120 or 120.50."), Length(max=40)],
    )
    note = StringField(
        "Note (optional)", validators=[Length(max=300, message="Up to 300 characters.")]
    )


def _today() -> date:
    return local_today(utcnow(), clinic_settings().zone)


def _page(
    first_day: date,
    last_day: date,
    *,
    range_form: TakingsRangeForm,
    cash_form: CashUpForm | None = None,
    problem: str | None = None,
    status: int = 200,
):
    figures = None
    counts: list = []
    recorded_cash = 0
    if problem is None or cash_form is not None:
        try:
            figures = end_of_day.takings(first_day, last_day)
        except DomainError as error:
            problem, status = error.message, 422
    single_day = figures is not None and first_day == last_day
    if single_day:
        counts = end_of_day.cash_ups(first_day)
        recorded_cash = end_of_day.cash_recorded(first_day)
    if cash_form is None:
        cash_form = CashUpForm(formdata=None)
        cash_form.day.data = first_day.isoformat()
    return render_template(
        "diary/takings.html",
        range_form=range_form,
        cash_form=cash_form,
        figures=figures,
        single_day=single_day,
        day=first_day,
        counts=counts,
        recorded_cash=recorded_cash,
        problem=problem,
        today=_today(),
        failed_refunds=(
            refund_failures.failures_reported(figures.days.starts_at, figures.days.ends_at)
            if figures is not None
            else []
        ),
        describe_refund_failure=refund_failures.describe,
    ), status


@blueprint.get("/takings")
@staff_required(*FRONT_DESK)
def takings():
    form = TakingsRangeForm(request.args if request.args else None)
    first_day = last_day = _today()
    if request.args:
        if not form.validate():
            return _page(first_day, last_day, range_form=form, problem=CORRECT_BELOW, status=422)
        first_day, last_day = form.first_day.data, form.last_day.data
    else:
        form.first_day.data, form.last_day.data = first_day, last_day
    return _page(first_day, last_day, range_form=form)


@blueprint.post("/takings/cash-up")
@staff_required(*FRONT_DESK)
def cash_up():
    form = CashUpForm()
    try:
        day = date.fromisoformat(form.day.data or "")
    except ValueError:
        day = _today()
    range_form = TakingsRangeForm(formdata=None)
    range_form.first_day.data = range_form.last_day.data = day
    if not form.validate_on_submit():
        return _page(
            day, day, range_form=range_form, cash_form=form, problem=CORRECT_BELOW, status=422
        )
    try:
        counted = parse_amount_pence(form.counted.data)
    except DomainError as error:
        form.counted.errors = [*form.counted.errors, error.message]
        return _page(
            day, day, range_form=range_form, cash_form=form, problem=CORRECT_BELOW, status=422
        )
    try:
        count = end_of_day.record_cash_up(
            day, counted, staff_user=signed_in_staff(), note=form.note.data or ""
        )
    except DomainError as error:
        return _page(
            day, day, range_form=range_form, cash_form=form, problem=error.message, status=409
        )
    difference = count.difference_pence
    if difference == 0:
        verdict = "It matches the cash recorded."
    elif difference > 0:
        verdict = f"That is {format_money_exact(difference)} more than the cash recorded."
    else:
        verdict = f"That is {format_money_exact(-difference)} less than the cash recorded."
    flash(
        f"Cash-up kept: {format_money_exact(count.counted_pence)} counted by "
        f"{count.counted_by_name}, {format_money_exact(count.recorded_pence)} recorded. {verdict}",
        "success",
    )
    return redirect(url_for(".takings", first_day=day.isoformat(), last_day=day.isoformat()))
