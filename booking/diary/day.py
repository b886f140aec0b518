"""The day view (one column per practitioner), the week view and the printable day list."""

from datetime import date, time, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from booking.auth.access import require_practitioner_access, staff_required
from booking.clinic.busy_time import failing_connections
from booking.clinic.localtime import (
    OUT_OF_REACH,
    local_to_utc,
    local_today,
    to_local,
    wall_time_exists,
    within_reach,
)
from booking.clinic.payments import ledger
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.diary import blueprint, grid, staff_may
from booking.diary.record_status import record_marks
from booking.extensions import db
from booking.models import Practitioner, Role
from booking.presentation import format_start


def parse_day_or_404(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        abort(404)
    if not within_reach(day):
        abort(404)
    return day


def visible_practitioners() -> list[Practitioner]:
    """Front desk sees every active practitioner; a practitioner sees only their own column."""
    if current_user.role == Role.PRACTITIONER.value:
        own = db.session.get(Practitioner, current_user.practitioner_id)
        return [own] if own is not None else []
    return list(
        db.session.scalars(
            select(Practitioner)
            .where(Practitioner.active.is_(True))
            .order_by(Practitioner.position, Practitioner.name)
        )
    )


def practitioner_by_slug_or_404(slug: str) -> Practitioner:
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug))
    if practitioner is None:
        abort(404)
    require_practitioner_access(practitioner)
    return practitioner


def _day_context(day: date) -> dict:
    settings = clinic_settings()
    zone, step = settings.zone, settings.slot_step_minutes
    practitioners = visible_practitioners()
    appointments = grid.live_appointments(practitioners, day, day, zone) if practitioners else []
    blocks = grid.time_off_blocks(practitioners, day, day, zone) if practitioners else []
    span = grid.opening_minutes(practitioners, [day], appointments, zone)
    rows = [at for at in grid.row_times(span, step) if wall_time_exists(day, at, zone)]
    columns = [
        grid.Column(
            practitioner,
            day,
            grid.build_column(
                practitioner,
                day,
                rows,
                step=step,
                zone=zone,
                appointments=appointments,
                blocks=blocks,
            ),
        )
        for practitioner in practitioners
    ]
    today = local_today(utcnow(), zone)
    payable = staff_may("diary.appointment_pay_by_card")
    return {
        # What is still owed on each appointment that has started or starts today: the
        # grid's one-click card payment.
        "owed": ledger.owed_for_appointments(appointments) if payable else {},
        "payable_until": local_to_utc(today + timedelta(days=1), time(0), zone),
        "day": day,
        "today": today,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "week_start": day - timedelta(days=day.weekday()),
        "practitioners": practitioners,
        "rows": rows,
        "columns": columns,
        "appointments": appointments,
        "cancelled": grid.cancelled_appointments(practitioners, day, zone) if practitioners else [],
        "course_places": grid.course_positions(appointments),
        "first_visits": grid.first_visits(appointments),
        "record_marks": record_marks(appointments),
        "status_labels": grid.STATUS_LABELS,
        "now": utcnow(),
        "format_start": format_start,
        "failing_calendars": [
            connection
            for connection in failing_connections()
            if connection.practitioner_id in {p.id for p in practitioners}
        ],
    }


@blueprint.get("/", defaults={"day": None})
@blueprint.get("/day/<day>")
@staff_required()
def day(day: str | None):
    picked = request.args.get("date")
    if picked:
        # The "go to date" form sends ?date=; give it the day's own address.
        try:
            chosen = date.fromisoformat(picked)
        except ValueError:
            chosen = None
        if chosen is None or not within_reach(chosen):
            flash(OUT_OF_REACH, "error")
            return redirect(url_for(".day"))
        return redirect(url_for(".day", day=chosen.isoformat()))
    shown = parse_day_or_404(day) if day else local_today(utcnow(), clinic_settings().zone)
    return render_template("diary/day.html", **_day_context(shown))


@blueprint.get("/day/<day>/print")
@staff_required()
def day_print(day: str):
    return render_template("diary/day_print.html", **_day_context(parse_day_or_404(day)))


@blueprint.get("/week")
@staff_required()
def week_current():
    """This week, for the signed-in practitioner or the first practitioner."""
    practitioners = visible_practitioners()
    if not practitioners:
        abort(404)
    today = local_today(utcnow(), clinic_settings().zone)
    return redirect(
        url_for(
            ".week",
            slug=practitioners[0].slug,
            day=(today - timedelta(days=today.weekday())).isoformat(),
        )
    )


@blueprint.get("/week/<slug>/<day>")
@staff_required()
def week(slug: str, day: str):
    practitioner = practitioner_by_slug_or_404(slug)
    shown = parse_day_or_404(day)
    monday = shown - timedelta(days=shown.weekday())
    if monday != shown:
        return redirect(url_for(".week", slug=slug, day=monday.isoformat()))
    settings = clinic_settings()
    zone, step = settings.zone, settings.slot_step_minutes
    days = [monday + timedelta(days=offset) for offset in range(7)]
    appointments = grid.live_appointments([practitioner], days[0], days[-1], zone)
    blocks = grid.time_off_blocks([practitioner], days[0], days[-1], zone)
    rows = grid.row_times(grid.opening_minutes([practitioner], days, appointments, zone), step)
    columns = [
        grid.Column(
            practitioner,
            one_day,
            grid.build_column(
                practitioner,
                one_day,
                rows,
                step=step,
                zone=zone,
                appointments=appointments,
                blocks=blocks,
            ),
        )
        for one_day in days
    ]
    return render_template(
        "diary/week.html",
        practitioner=practitioner,
        practitioners=visible_practitioners(),
        monday=monday,
        previous_week=monday - timedelta(days=7),
        next_week=monday + timedelta(days=7),
        this_week=local_today(utcnow(), zone)
        - timedelta(days=local_today(utcnow(), zone).weekday()),
        rows=rows,
        columns=columns,
        course_places=grid.course_positions(appointments),
        first_visits=grid.first_visits(appointments),
        record_marks=record_marks(appointments),
        status_labels=grid.STATUS_LABELS,
        now=utcnow(),
        format_start=format_start,
    )


@blueprint.get("/week-all/<day>")
@staff_required()
def week_all(day: str):
    """The week for every practitioner: a column per practitioner on each day they work."""
    shown = parse_day_or_404(day)
    monday = shown - timedelta(days=shown.weekday())
    if monday != shown:
        return redirect(url_for(".week_all", day=monday.isoformat()))
    settings = clinic_settings()
    zone, step = settings.zone, settings.slot_step_minutes
    days = [monday + timedelta(days=offset) for offset in range(7)]
    practitioners = visible_practitioners()
    appointments = grid.live_appointments(practitioners, days[0], days[-1], zone)
    blocks = grid.time_off_blocks(practitioners, days[0], days[-1], zone)
    rows = grid.row_times(grid.opening_minutes(practitioners, days, appointments, zone), step)
    booked_on = {(a.practitioner_id, to_local(a.starts_at, zone).date()) for a in appointments}
    columns = [
        grid.Column(
            practitioner,
            one_day,
            grid.build_column(
                practitioner,
                one_day,
                rows,
                step=step,
                zone=zone,
                appointments=appointments,
                blocks=blocks,
            ),
        )
        for one_day in days
        for practitioner in practitioners
        if (practitioner.id, one_day) in booked_on
        or any(hours.weekday == one_day.weekday() for hours in practitioner.working_hours)
    ]
    today = local_today(utcnow(), zone)
    return render_template(
        "diary/week_all.html",
        monday=monday,
        previous_week=monday - timedelta(days=7),
        next_week=monday + timedelta(days=7),
        this_week=today - timedelta(days=today.weekday()),
        rows=rows,
        columns=columns,
        course_places=grid.course_positions(appointments),
        first_visits=grid.first_visits(appointments),
        record_marks=record_marks(appointments),
        status_labels=grid.STATUS_LABELS,
        now=utcnow(),
        format_start=format_start,
    )
