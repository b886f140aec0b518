"""Blocked time: add and remove TimeOff for a practitioner.

A block that overlaps live appointments is still saved (so no new booking lands there
while the receptionist phones the patients), and its page lists those appointments
with links to move them.
"""

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError
from booking.clinic.settings import clinic_settings
from booking.clinic.time_off import (
    add_time_off,
    close_clinic,
    local_span,
    overlapping_appointments,
    remove_time_off,
)
from booking.database import utcnow
from booking.diary import blueprint, grid
from booking.diary.forms import ConfirmForm, TimeOffForm
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import Practitioner, TimeOff
from booking.presentation import count_of

# The practitioner choice that blocks everyone: a bank holiday, the clinic closed.
EVERYONE = 0


def _practitioners() -> list[Practitioner]:
    return list(
        db.session.scalars(
            select(Practitioner)
            .where(Practitioner.active.is_(True))
            .order_by(Practitioner.position, Practitioner.name)
        )
    )


@blueprint.route("/time-off", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def time_off():
    form = TimeOffForm()
    form.practitioner_id.choices = [SelectChoice(p.id, p.name) for p in _practitioners()] + [
        SelectChoice(EVERYONE, "Everyone: the clinic is closed")
    ]
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            starts_at, ends_at = local_span(
                form.first_day.data,
                form.last_day.data,
                form.starts_at.data,
                form.ends_at.data,
                clinic_settings().zone,
            )
            reason = form.reason.data or ""
            if form.practitioner_id.data == EVERYONE:
                blocks = close_clinic(
                    starts_at, ends_at, reason=reason, staff_user=signed_in_staff()
                )
            else:
                blocks = [
                    add_time_off(
                        db.session.get(Practitioner, form.practitioner_id.data),
                        starts_at,
                        ends_at,
                        reason=reason,
                        staff_user=signed_in_staff(),
                    )
                ]
        except DomainError as error:
            problem, status = error.message, 422
        else:
            return _after_blocking(blocks)
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    upcoming = list(
        db.session.scalars(
            select(TimeOff).where(TimeOff.ends_at > utcnow()).order_by(TimeOff.starts_at)
        )
    )
    return render_template(
        "diary/time_off.html", form=form, upcoming=upcoming, problem=problem
    ), status


def _after_blocking(blocks: list[tuple[TimeOff, list]]):
    """Say what was blocked and where the appointments to move are."""
    clashes = sum(len(found) for _, found in blocks)
    if len(blocks) == 1:
        [(block, _)] = blocks
        if clashes:
            flash(
                f"Time blocked, but {count_of(clashes, 'appointment')} "
                f"{'falls' if clashes == 1 else 'fall'} inside it: "
                "move or cancel them below.",
                "error",
            )
        else:
            flash("Time blocked.", "success")
        return redirect(url_for(".time_off_block", block_id=block.id))
    if clashes:
        names = ", ".join(block.practitioner.name for block, found in blocks if found)
        flash(
            f"Time blocked for all {len(blocks)} practitioners, but "
            f"{count_of(clashes, 'appointment')} {'falls' if clashes == 1 else 'fall'} inside it "
            f"({names}): open their blocks below to move or cancel them.",
            "error",
        )
    else:
        flash(f"Time blocked for all {len(blocks)} practitioners.", "success")
    return redirect(url_for(".time_off"))


@blueprint.get("/time-off/<int:block_id>")
@staff_required(*FRONT_DESK)
def time_off_block(block_id: int):
    block = db.session.get(TimeOff, block_id)
    if block is None:
        abort(404)
    clashes = overlapping_appointments(block.practitioner_id, block.starts_at, block.ends_at)
    return render_template(
        "diary/time_off_block.html",
        block=block,
        clashes=clashes,
        status_labels=grid.STATUS_LABELS,
        form=ConfirmForm(),
    )


@blueprint.post("/time-off/<int:block_id>/remove")
@staff_required(*FRONT_DESK)
def time_off_remove(block_id: int):
    block = db.session.get(TimeOff, block_id)
    if block is None:
        abort(404)
    remove_time_off(block, staff_user=signed_in_staff())
    flash("The blocked time has been removed.", "success")
    return redirect(url_for(".time_off"))
