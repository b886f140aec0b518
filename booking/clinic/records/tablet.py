"""The desk's tablet handed to a patient: which forms of their appointment it may show.

A member of staff hands the tablet over from the appointment page. From then on the
browser holds no staff session: only the hand-over, which opens the patient-facing forms
of that one appointment (the questionnaire, consent, then the scores of a course's
checkpoint session, whichever are still to do) for `HANDOVER_MINUTES`. When
the last form is sent, or the time is up, the tablet shows a locked screen, and a member
of staff signs in to use it again. What the patient sends is recorded as taken at the
desk by the member of staff who handed the tablet over.
"""

import enum

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.records import consent, intake, outcomes
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.models import Appointment, AppointmentStatus, StaffUser

HANDOVER_MINUTES = 30
NOTHING_TO_DO = (
    "This patient's questionnaire, consent and any scores due are already on file: there "
    "is nothing for them to fill in on the tablet."
)
NOT_BOOKED = (
    "This appointment is no longer booked or in the waiting room, so the tablet cannot be "
    "handed over for it."
)


class TabletStep(enum.StrEnum):
    QUESTIONNAIRE = "questionnaire"
    CONSENT = "consent"
    SCORES = "scores"  # pain and activities, at a course's first, middle and last sessions


STEP_LABELS = {
    TabletStep.QUESTIONNAIRE: "the health questionnaire",
    TabletStep.CONSENT: "consent to treatment",
    TabletStep.SCORES: "the pain and activity scores",
}

# The visit is still to come, or the patient is in the waiting room.
HANDED_OVER_FOR = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


def steps_left(appointment: Appointment) -> list[TabletStep]:
    """The forms the patient still has to fill in for this appointment, in order."""
    steps = []
    if not intake.intake_status(appointment.patient_id).complete:
        steps.append(TabletStep.QUESTIONNAIRE)
    if consent.wordings_to_agree(appointment):
        steps.append(TabletStep.CONSENT)
    checkpoint = outcomes.checkpoint_of(appointment)
    if (
        checkpoint is not None
        and appointment.course is not None
        and outcomes.record_of(appointment.course, checkpoint) is None
    ):
        steps.append(TabletStep.SCORES)
    return steps


def hand_over(appointment: Appointment, *, staff_user: StaffUser) -> list[TabletStep]:
    """Check the tablet may be handed over for this appointment, and audit that it was.

    Returns the forms the patient will be shown; refuses an appointment that is no longer
    booked or has nothing left to fill in.
    """
    with unit_of_work():
        locked = lock_or_refuse(Appointment, appointment.id, "This appointment no longer exists.")
        if locked.status not in HANDED_OVER_FOR:
            raise DomainError(NOT_BOOKED)
        steps = steps_left(locked)
        if not steps:
            raise DomainError(NOTHING_TO_DO)
        audit.record(
            staff_user,
            "tablet.handed_over",
            locked,
            steps=[step.value for step in steps],
        )
    return steps
