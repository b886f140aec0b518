"""The safety (red-flag) answers, read the same way by every online booking form."""

from flask import render_template

from booking.public.forms import SafetyAnswersForm


def safety_stop(form: SafetyAnswersForm) -> str | None:
    """The page that stops an online booking for a warning sign, or None to go ahead."""
    if form.cauda_equina.data == "yes":
        return render_template("public/urgent_care.html", group="emergency")
    if form.other_warning.data == "yes":
        return render_template("public/urgent_care.html", group="gp")
    return None
