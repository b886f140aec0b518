"""Reports: the owner's dashboard, CSV exports for the accountant, the clinic's full export.

Administrators see the whole clinic; a practitioner sees the same dashboard over their
own appointments and hours only (no clinic money, no courses). Exports are for
administrators, and each is logged.
"""

from datetime import date, timedelta

from flask import Response, abort, render_template, request
from wtforms import BooleanField, DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from booking.auth.access import staff_required
from booking.clinic import DomainError
from booking.clinic.data_exchange import exports, full_export
from booking.clinic.localtime import local_today
from booking.clinic.money import format_money_exact
from booking.clinic.reports import SOURCE_LABELS, Dashboard, dashboard
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.diary import blueprint
from booking.diary.charts import Bar, column_chart, row_chart
from booking.diary.signed_in import signed_in_staff
from booking.models import Role
from booking.validators import DayInReach, Form

DEFAULT_DAYS = 91  # thirteen weeks, a quarter, up to today
CORRECT_BELOW = "Please correct the highlighted answers below."


class RangeForm(Form):
    """The days a report covers; read from the address (GET), so no token."""

    class Meta:
        csrf = False

    first_day = DateField("From", validators=[InputRequired("Enter the first day."), DayInReach()])
    last_day = DateField("To", validators=[InputRequired("Enter the last day."), DayInReach()])


class ExportForm(Form):
    kind = SelectField(
        "What to export",
        choices=[SelectChoice(key, label) for key, (label, _) in exports.KINDS.items()],
    )
    first_day = DateField("From", validators=[InputRequired("Enter the first day."), DayInReach()])
    last_day = DateField("To", validators=[InputRequired("Enter the last day."), DayInReach()])


class FullExportForm(Form):
    include_clinical = BooleanField(
        "Include clinical content (the patients' own words about their problems, staff "
        "notes and every clinical record), decrypted"
    )


def _default_range() -> tuple[date, date]:
    today = local_today(utcnow(), clinic_settings().zone)
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def _percent(value: float | None) -> str:
    return "no figure" if value is None else f"{value:.1f}%"


def _charts(figures: Dashboard) -> dict[str, object]:
    weeks = [Bar(f"{week.starts_on:%d %b}", week.held, week.cancelled) for week in figures.weeks]
    label_every = max(1, len(weeks) // 12)
    utilisation = [Bar(row.name, row.percent or 0.0) for row in figures.utilisation]
    sources = [Bar(SOURCE_LABELS[key], count) for key, count in figures.sources.items()]
    charts: dict[str, object] = {}
    if figures.money is not None:
        charts["takings"] = row_chart(
            "Takings by payment method",
            [Bar(row.label.capitalize(), row.net_pence) for row in figures.money.takings],
            show=lambda pence: format_money_exact(round(pence)),
        )
    outcomes = figures.outcomes
    if outcomes.courses:
        charts["outcomes"] = row_chart(
            "Mean pain at the first and last sessions of the courses that finished",
            [
                Bar("First session", outcomes.pain_first or 0.0),
                Bar("Last session", outcomes.pain_last or 0.0),
            ],
            maximum=10.0,
            show=lambda value: f"{value:.1f} of 10",
        )
    return charts | {
        "weeks": column_chart("Appointments per week", weeks, label_every=label_every),
        "utilisation": row_chart(
            "Utilisation per practitioner",
            utilisation,
            maximum=max([100.0] + [bar.value for bar in utilisation]),
            unit="%",
        ),
        "sources": row_chart("Appointments by how they were booked", sources),
    }


@blueprint.get("/reports")
@staff_required(Role.ADMIN, Role.PRACTITIONER)
def reports():
    staff = signed_in_staff()
    own = staff.role == Role.PRACTITIONER.value
    if own and staff.practitioner_id is None:
        abort(403)
    # Only a range asked for is checked: any other parameter in the address (a link
    # that carries one) leaves the default range, rather than an error for a form
    # nobody filled in.
    asked = "first_day" in request.args or "last_day" in request.args
    form = RangeForm(request.args if asked else None)
    first_day, last_day = _default_range()
    problem, status = None, 200
    if asked:
        if form.validate():
            first_day, last_day = form.first_day.data, form.last_day.data
        else:
            problem, status = CORRECT_BELOW, 422
    else:
        form.first_day.data, form.last_day.data = first_day, last_day
    figures = None
    if problem is None:
        try:
            figures = dashboard(
                first_day,
                last_day,
                settings=clinic_settings(),
                now=utcnow(),
                practitioner_id=staff.practitioner_id if own else None,
            )
        except DomainError as error:
            problem, status = error.message, 422
    return render_template(
        "diary/reports.html",
        form=form,
        figures=figures,
        charts=_charts(figures) if figures else None,
        own=own,
        problem=problem,
        percent=_percent,
        money=format_money_exact,
        source_labels=SOURCE_LABELS,
    ), status


def _exports_page(form: ExportForm, full_form: FullExportForm, problem: str | None, status: int):
    return render_template(
        "diary/exports.html", form=form, full_form=full_form, problem=problem
    ), status


@blueprint.get("/exports")
@staff_required(Role.ADMIN)
def exports_page():
    form = ExportForm()
    form.first_day.data, form.last_day.data = _default_range()
    return _exports_page(form, FullExportForm(), None, 200)


@blueprint.post("/exports")
@staff_required(Role.ADMIN)
def export_download():
    form = ExportForm()
    if not form.validate():
        return _exports_page(form, FullExportForm(), CORRECT_BELOW, 422)
    try:
        export = exports.export_csv(
            form.kind.data,
            form.first_day.data,
            form.last_day.data,
            zone=clinic_settings().zone,
            staff_user=signed_in_staff(),
        )
    except DomainError as error:
        return _exports_page(form, FullExportForm(), error.message, 422)
    return Response(
        export.text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{export.name}"',
            "Cache-Control": "no-store",
        },
    )


@blueprint.post("/exports/everything")
@staff_required(Role.ADMIN)
def export_everything():
    full_form = FullExportForm()
    if not full_form.validate():
        form = ExportForm(formdata=None)
        form.first_day.data, form.last_day.data = _default_range()
        expired = bool(full_form.csrf_token.errors)
        problem = "The page had expired: please try again." if expired else CORRECT_BELOW
        return _exports_page(form, full_form, problem, 422)
    result = full_export.export_everything(
        include_clinical=bool(full_form.include_clinical.data), staff_user=signed_in_staff()
    )

    def chunks():
        try:
            while block := result.file.read(64 * 1024):
                yield block
        finally:
            result.file.close()

    return Response(
        chunks(),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{result.name}"',
            "Cache-Control": "no-store",
        },
    )
