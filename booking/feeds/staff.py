"""The staff page for calendar feeds: the secret links, privacy, regeneration, downloads."""

from datetime import timedelta

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError
from booking.clinic.busy_time import connection_for
from booking.clinic.feeds import (
    PRIVACY_CHOICES,
    download_range,
    regenerate_feed_token,
    set_feed_privacy,
)
from booking.clinic.localtime import OUT_OF_REACH, local_today
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db
from booking.feeds import blueprint
from booking.feeds.forms import (
    DisconnectForm,
    DownloadForm,
    OwnCalendarForm,
    PrivacyForm,
    RegenerateForm,
)
from booking.feeds.practitioners import practitioner_or_404
from booking.models import Practitioner, Role

DEFAULT_DOWNLOAD_DAYS = 28


def feed_urls(practitioner: Practitioner) -> tuple[str, str]:
    """The subscription address as a web link and as a webcal:// link."""
    path = url_for("feeds.subscription", token=practitioner.feed_token)
    web = f"{current_app.config['PUBLIC_BASE_URL']}{path}"
    webcal = "webcal://" + web.split("://", 1)[1]
    return web, webcal


def _may_change_privacy(practitioner: Practitioner) -> bool:
    """The admin, or the practitioner themselves: it is their calendar."""
    return current_user.role == Role.ADMIN.value or current_user.practitioner_id == practitioner.id


def _visible_practitioners() -> list[Practitioner]:
    query = select(Practitioner).where(Practitioner.active.is_(True))
    if current_user.role not in {role.value for role in FRONT_DESK}:
        query = query.where(Practitioner.id == current_user.practitioner_id)
    return list(db.session.scalars(query.order_by(Practitioner.position, Practitioner.name)))


@blueprint.get("/diary/feeds")
@staff_required()
def staff_feeds():
    today = local_today(utcnow(), clinic_settings().zone)
    cards = []
    for practitioner in _visible_practitioners():
        web, webcal = feed_urls(practitioner)
        download = DownloadForm(
            formdata=None,
            start=today,
            end=today + timedelta(days=DEFAULT_DOWNLOAD_DAYS - 1),
        )
        cards.append(
            {
                "practitioner": practitioner,
                "web_url": web,
                "webcal_url": webcal,
                "privacy_form": PrivacyForm(formdata=None, privacy=practitioner.feed_privacy),
                "privacy_label": PRIVACY_CHOICES.get(practitioner.feed_privacy, ""),
                "may_change_privacy": _may_change_privacy(practitioner),
                "download_form": download,
                "own_calendar": connection_for(practitioner),
                "own_calendar_form": OwnCalendarForm(formdata=None),
            }
        )
    return render_template(
        "feeds/staff_feeds.html",
        cards=cards,
        regenerate_form=RegenerateForm(),
        disconnect_form=DisconnectForm(),
    )


@blueprint.post("/diary/feeds/<slug>/regenerate")
@staff_required()
def regenerate(slug: str):
    practitioner = practitioner_or_404(slug)
    form = RegenerateForm()
    if form.validate_on_submit():
        regenerate_feed_token(practitioner, staff_user=current_user._get_current_object())
        flash(
            f"{practitioner.name}'s calendar link has been replaced. The old link no longer "
            "works: subscribe again with the new one.",
            "success",
        )
    return redirect(url_for(".staff_feeds"))


@blueprint.post("/diary/feeds/<slug>/privacy")
@staff_required()
def privacy(slug: str):
    practitioner = practitioner_or_404(slug)
    if not _may_change_privacy(practitioner):
        abort(403)
    form = PrivacyForm()
    if form.validate_on_submit():
        try:
            set_feed_privacy(
                practitioner, form.privacy.data, staff_user=current_user._get_current_object()
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(
                f"Saved. Calendars subscribed to {practitioner.name}'s feed show the change "
                "the next time they refresh it.",
                "success",
            )
    else:
        flash("Please choose how patients appear in the calendar.", "error")
    return redirect(url_for(".staff_feeds"))


@blueprint.get("/diary/feeds/<slug>/download")
@staff_required()
def download(slug: str):
    practitioner = practitioner_or_404(slug)
    # The form's fields are called start and end; the address reads from= and to=.
    form = DownloadForm(
        formdata=MultiDict(
            {"start": request.args.get("from", ""), "end": request.args.get("to", "")}
        )
    )
    if not form.validate():
        errors = form.start.errors + form.end.errors
        flash(
            OUT_OF_REACH
            if OUT_OF_REACH in errors
            else "Enter two dates to download, like 2026-11-01.",
            "error",
        )
        return redirect(url_for(".staff_feeds"))
    try:
        body = download_range(practitioner, form.start.data, form.end.data)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(".staff_feeds"))
    filename = f"{practitioner.slug}-{form.start.data:%Y%m%d}-{form.end.data:%Y%m%d}.ics"
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
