"""Editing each practitioner's weekly working hours."""

import re
from datetime import time

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import StringField
from wtforms.validators import Length, ValidationError

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError
from booking.clinic.working_hours import WEEKDAY_NAMES, describe, set_working_hours
from booking.diary import blueprint
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import Practitioner
from booking.validators import Form

INTERVAL = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–]\s*(\d{1,2})[:.](\d{2})\s*$")


def parse_intervals(text: str) -> list[tuple[time, time]]:
    """ "09:00-13:00, 14:00-18:00" -> [(09:00, 13:00), (14:00, 18:00)]; ValueError if unreadable."""
    intervals = []
    for part in filter(None, (piece.strip() for piece in (text or "").split(","))):
        match = INTERVAL.match(part)
        if not match:
            raise ValueError(part)
        start_hour, start_minute, end_hour, end_minute = map(int, match.groups())
        intervals.append((time(start_hour, start_minute), time(end_hour, end_minute)))
    return intervals


def _readable(_form, field) -> None:
    try:
        parse_intervals(field.data)
    except ValueError as error:
        raise ValidationError(
            f"Could not read “{error}”. Write times like 09:00-13:00, 14:00-18:00."
        ) from None


class WorkingHoursForm(Form):
    pass


for _weekday, _name in enumerate(WEEKDAY_NAMES):
    setattr(
        WorkingHoursForm,
        f"day_{_weekday}",
        StringField(_name, validators=[Length(max=200), _readable]),
    )


def _practitioner_or_404(slug: str) -> Practitioner:
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug))
    if practitioner is None:
        abort(404)
    return practitioner


@blueprint.get("/working-hours")
@staff_required(*FRONT_DESK)
def working_hours():
    practitioners = list(
        db.session.scalars(
            select(Practitioner)
            .order_by(Practitioner.position, Practitioner.name)
            .options(selectinload(Practitioner.working_hours))
        )
    )
    return render_template(
        "diary/working_hours.html",
        practitioners=[(p, describe(p.working_hours)) for p in practitioners],
        weekday_names=WEEKDAY_NAMES,
    )


@blueprint.route("/working-hours/<slug>", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def working_hours_edit(slug: str):
    practitioner = _practitioner_or_404(slug)
    form = WorkingHoursForm()
    problem, status = None, 200
    if not form.is_submitted():
        current = describe(practitioner.working_hours)
        for weekday, name in enumerate(WEEKDAY_NAMES):
            form[f"day_{weekday}"].data = current.get(name, "")
    elif form.validate():
        week = {
            weekday: parse_intervals(form[f"day_{weekday}"].data or "")
            for weekday in range(7)
            if (form[f"day_{weekday}"].data or "").strip()
        }
        try:
            set_working_hours(practitioner, week, staff_user=signed_in_staff())
        except DomainError as error:
            problem, status = error.message, 422
        else:
            flash(f"{practitioner.name}'s working hours have been saved.", "success")
            return redirect(url_for(".working_hours"))
    else:
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template(
        "diary/working_hours_edit.html",
        practitioner=practitioner,
        form=form,
        fields=[form[f"day_{weekday}"] for weekday in range(7)],
        problem=problem,
    ), status
