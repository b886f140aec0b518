"""The safety (red-flag) answers, read the same way by every online booking form."""

from flask import render_template

from booking.public.forms import SafetyAnswersForm


def safety_stop(form: SafetyAnswersForm) -> str | None:
    """The page that stops an online booking for a warning sign, or None to go ahead."""
    if form.cauda_equina.data == "yes":
        return render_template("public/urgent_care.html", group="emergency")
    if form.other_warning.data == "yes" and not warning_sign_assessed(form):
        return render_template("public/urgent_care.html", group="gp")
    return None


def warning_sign_assessed(form: SafetyAnswersForm) -> bool:
    """A warning sign (the second question) that a doctor has already assessed, the patient says.

    The booking goes ahead, flagged so that the practitioner checks with them first. The
    first question's signs are an emergency: no earlier assessment stands for them.
    """
    return form.other_warning.data == "yes" and form.doctor_assessed.data == "yes"
