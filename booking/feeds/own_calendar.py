"""Connecting a practitioner's own calendar (busy time) from the calendar feed page."""

from flask import flash, redirect, url_for
from flask_login import current_user

from booking.auth.access import staff_required
from booking.clinic import DomainError
from booking.clinic.busy_time import connect_calendar, disconnect_calendar
from booking.feeds import blueprint
from booking.feeds.forms import DisconnectForm, OwnCalendarForm
from booking.feeds.practitioners import practitioner_or_404


@blueprint.post("/diary/feeds/<slug>/own-calendar")
@staff_required()
def connect_own_calendar(slug: str):
    practitioner = practitioner_or_404(slug)
    form = OwnCalendarForm()
    if not form.validate_on_submit():
        flash(
            "Enter the calendar's address (and, for CalDAV, the user name and password).", "error"
        )
        return redirect(url_for(".staff_feeds"))
    try:
        connect_calendar(
            practitioner,
            kind=form.kind.data,
            url=form.url.data,
            username=form.username.data or "",
            password=form.password.data or "",
            staff_user=current_user._get_current_object(),
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            f"{practitioner.name}'s own calendar is connected. Its busy times block online "
            "booking from the next fetch, within a few minutes.",
            "success",
        )
    return redirect(url_for(".staff_feeds"))


@blueprint.post("/diary/feeds/<slug>/own-calendar/disconnect")
@staff_required()
def disconnect_own_calendar(slug: str):
    practitioner = practitioner_or_404(slug)
    if DisconnectForm().validate_on_submit():
        disconnect_calendar(practitioner, staff_user=current_user._get_current_object())
        flash(f"{practitioner.name}'s own calendar is disconnected.", "success")
    return redirect(url_for(".staff_feeds"))
