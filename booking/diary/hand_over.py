"""Where the older desk pages for the patient's own forms now lead: the tablet hand-over.

Shared by the diary's records and outcomes views (a small module of the blueprint, so
that neither view module imports the other).
"""

from flask import flash, redirect, url_for

from booking.models import Appointment

# The questionnaire and the scores are the patient's to fill in: at the desk they do so on
# the tablet, handed over locked to their forms (no staff session open in their hands).
HAND_OVER_INSTEAD = (
    "The {what} is for the patient to fill in themselves: hand them the desk tablet with "
    "“Hand this tablet to the patient”. It opens only their forms, then locks."
)


def to_the_hand_over(appointment: Appointment, what: str):
    """Where the older desk pages now lead: the appointment's tablet hand-over."""
    flash(HAND_OVER_INSTEAD.format(what=what), "error")
    return redirect(
        url_for(".appointment", appointment_id=appointment.id, _anchor="hand-tablet-over")
    )
