"""Red flags re-checked before every visit.

Warning signs can appear mid-course, after the booking's own safety questions. The
reminder email therefore links (a signed token, nothing about the patient in it) to the
same questions the booking flow asks. "No" records the re-check. "Yes" records it too,
cancels the visit through the ordinary cancel function without any charge (a course
credit comes back, however late), and alerts the practitioner; the patient is shown the
urgent-care advice. Which sign was reported is clinical content, sealed in the record;
the practitioner's alert says only that the check asked them to look.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from booking.clinic.appointments import cancel_appointment
from booking.clinic.errors import DomainError
from booking.clinic.local_wording import format_local_date, format_local_time
from booking.clinic.notifications import queue_message
from booking.clinic.payments import deposit_policy
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, RecordMethod, RedFlagCheck

# The booking flow's two safety questions (booking/public/forms.py: RedFlagQuestions):
# the first is an emergency, the second needs a doctor first.
EMERGENCY_QUESTION = "cauda_equina"
DOCTOR_QUESTION = "other_warning"
QUESTIONS = (EMERGENCY_QUESTION, DOCTOR_QUESTION)

ALERT_KIND = "red_flag_alert"
CANCEL_REASON = "Cancelled by the patient at the pre-visit safety check"
GONE_MESSAGE = "This appointment is no longer in our diary."


@dataclass(frozen=True)
class RecheckOutcome:
    check: RedFlagCheck
    # "emergency" or "gp" (the urgent-care page's two kinds of advice), None when all clear.
    advice: str | None


def can_recheck(appointment: Appointment, now: datetime) -> bool:
    """Only a booked visit that has not begun is re-checked."""
    return appointment.status == AppointmentStatus.BOOKED and appointment.starts_at > now


def record_recheck(
    appointment: Appointment, answers: dict[str, str], *, now: datetime | None = None
) -> RecheckOutcome:
    """Keep the patient's answers; on any "yes" cancel without charge and alert the clinic."""
    now = now or utcnow()
    given = {key: answers.get(key) for key in QUESTIONS}
    if any(value not in ("yes", "no") for value in given.values()):
        raise DomainError("Please answer both safety questions.")
    warning = "yes" in given.values()
    with unit_of_work() as session:
        appointment = lock_or_refuse(Appointment, appointment.id, GONE_MESSAGE)
        if not can_recheck(appointment, now):
            raise DomainError(
                "This appointment is no longer booked, so there is nothing to check. "
                "If you are unwell, please see the advice below or call us."
            )
        check = RedFlagCheck(
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            checked_at=now,
            method=RecordMethod.ONLINE.value,
            warning_sign=warning,
        )
        check.answers = given
        session.add(check)
        if warning:
            cancel_appointment(appointment, reason=CANCEL_REASON, now=now, warning_sign=True)
            _alert_practitioner(appointment)
    advice = None
    if warning:
        # Its deposit's refund was decided in the unit of work above; asked of the
        # provider now that it has committed (no network call inside a transaction).
        deposit_policy.make_cancellation_refunds(appointment)
        advice = "emergency" if given[EMERGENCY_QUESTION] == "yes" else "gp"
    return RecheckOutcome(check, advice)


def _diary_url(appointment: Appointment) -> str:
    path = current_app.url_map.bind("localhost").build(
        "diary.appointment", {"appointment_id": appointment.id}
    )
    return f"{current_app.config['PUBLIC_BASE_URL']}{path}"


def _alert_practitioner(appointment: Appointment) -> None:
    """An outbox message to the practitioner (or reception): no clinical detail in it."""
    recipient = appointment.practitioner.email or clinic_settings().reception_email
    if not recipient:
        return
    when = (
        f"{format_local_date(appointment.starts_at)} at {format_local_time(appointment.starts_at)}"
    )
    queue_message(
        kind=ALERT_KIND,
        recipient=recipient,
        subject=f"Pre-visit check: appointment on {when} cancelled, please look",
        template=ALERT_KIND,
        context={"appointment": appointment, "when": when, "diary_url": _diary_url(appointment)},
        dedupe_key=f"appointment:{appointment.uid}:{ALERT_KIND}",
        appointment=appointment,
    )


@dataclass(frozen=True)
class RecheckStatus:
    checked_at: datetime
    warning_sign: bool


def latest_recheck(appointment_id: int) -> RecheckStatus | None:
    """When the appointment was last re-checked and whether a sign was reported.

    Plain columns only: anyone on the staff may know that the check was done.
    """
    row = db.session.execute(
        select(RedFlagCheck.checked_at, RedFlagCheck.warning_sign)
        .where(RedFlagCheck.appointment_id == appointment_id)
        .order_by(RedFlagCheck.checked_at.desc(), RedFlagCheck.id.desc())
        .limit(1)
    ).first()
    return RecheckStatus(row.checked_at, row.warning_sign) if row is not None else None
