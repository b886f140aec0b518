"""Moderation of patients' replies (testimonials) by staff."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError
from booking.clinic.testimonials import approve, pending, preview, reject
from booking.diary import blueprint
from booking.validators import Form

DONE = {
    "approve": "Reply approved: it now shows on the page.",
    "reject": "Reply rejected: it will not be shown.",
}


class DecisionForm(Form):
    """Only the CSRF token: the decision is in the button's URL."""


@blueprint.get("/replies")
@staff_required(*FRONT_DESK)
def moderation():
    return render_template("diary/moderation.html", replies=pending(), preview=preview)


@blueprint.post("/replies/<int:testimonial_id>/<any(approve, reject):decision>")
@staff_required(*FRONT_DESK)
def moderate(testimonial_id: int, decision: str):
    if DecisionForm().validate_on_submit():
        decide = approve if decision == "approve" else reject
        try:
            decide(testimonial_id, staff_user=current_user)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(DONE[decision], "success")
    return redirect(url_for(".moderation"), 303)
