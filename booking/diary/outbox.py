"""The outbox page: messages still waiting or given up, so that no email is lost unseen."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError
from booking.clinic import outbox as outbox_domain
from booking.diary import blueprint


@blueprint.get("/outbox")
@staff_required(*FRONT_DESK)
def outbox():
    messages = outbox_domain.waiting_messages()
    return render_template(
        "diary/outbox.html",
        messages=messages,
        failed=[m for m in messages if m.status == "failed"],
        pending=[m for m in messages if m.status == "pending"],
        max_attempts=outbox_domain.MAX_ATTEMPTS,
    )


@blueprint.post("/outbox/<int:message_id>/retry")
@staff_required(*FRONT_DESK)
def outbox_retry(message_id: int):
    try:
        outbox_domain.retry(message_id, staff_user=current_user._get_current_object())
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("The message is back in the queue and will be sent again shortly.", "success")
    return redirect(url_for(".outbox"))
