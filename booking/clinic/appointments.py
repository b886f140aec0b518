"""Book, move, cancel and attend appointments: one transaction each, overlap guaranteed.

Every public function here is one unit of work: it takes the row it changes
(`lock`), re-checks the rules against what it then reads, writes, queues the
patient's messages in the outbox and commits once. Of two racing changes to one
appointment the second waits for the first and is then refused with a message if
the first made it impossible (or, given the `seen_sequence` the person acted on,
if the first changed anything). The application checks give a person a clear
message; the database gives the guarantee (the exclusion constraint on
PostgreSQL, the write lock on SQLite), and a lost race becomes SlotTaken.

A session of a course spends one of the course's credits when it is booked; a
cancellation or a no-show may give it back (see `booking.clinic.courses`).
"""

from datetime import datetime, timedelta

from sqlalchemy import select

from booking.clinic import (
    DomainError,
    audit,
    availability,
    change_policy,
    courses,
    credits,
    email_confirmation,
    held_appointments,
    holds,
    notifications,
    refusals,
    submissions,
    transaction,
)
from booking.clinic.errors import (
    NOT_A_MOVE,
    SLOT_TAKEN_MESSAGE,
    AlreadySubmitted,
    ChangedMeanwhile,
    SlotTaken,
)
from booking.clinic.localtime import OUT_OF_REACH, to_local, within_reach
from booking.clinic.offerings import bookable_online, offers, practitioners_offering
from booking.clinic.patients import PatientDetails, find_or_create_patient, lock_bookable
from booking.clinic.payments import deposit_policy, fees
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    CancelledBy,
    ClinicSettings,
    Course,
    CourseStatus,
    FeeKind,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
)

__all__ = [
    "SLOT_TAKEN_MESSAGE",
    "ChangedMeanwhile",
    "PatientDetails",
    "SlotTaken",
    "TooLateToChange",
    "find_or_create_patient",
]
GONE_MESSAGE = "This appointment no longer exists."


class TooLateToChange(DomainError):
    """Inside the notice period a patient must phone; staff may still make the change."""


def too_late_message(action: str, settings: ClinicSettings | None = None) -> str:
    """Why the patient must phone to have it `action` ("moved", "cancelled")."""
    settings = settings or clinic_settings()
    return (
        f"Your appointment is less than {settings.cancellation_notice_hours} hours away, so it "
        f"can no longer be {action} online. Please call us on {settings.phone} and we will help."
    )


def _check_session_type(session_type: SessionType, *, online: bool) -> None:
    if not session_type.active or (online and not bookable_online(session_type)):
        raise DomainError("That treatment cannot be booked online. Please call the clinic.")


def _free_practitioner(
    candidates: list[Practitioner],
    session_type: SessionType,
    starts_at: datetime,
    *,
    now: datetime,
    settings: ClinicSettings,
    by_staff: bool,
    ignore_appointment_id: int | None = None,
) -> Practitioner:
    """The first candidate free at `starts_at`, or a DomainError saying why none is.

    With one candidate the refusal names the real reason (outside hours, off the grid,
    away, taken: `booking.clinic.refusals`); of several, each may have its own, so
    the time is simply not free.
    """
    if starts_at <= now:
        raise DomainError("That time has already passed. Please choose another time.")
    for practitioner in candidates:
        if availability.is_free_start(
            practitioner,
            session_type,
            starts_at,
            now=now,
            settings=settings,
            ignore_appointment_id=ignore_appointment_id,
            ignore_minimum_notice=by_staff,
        ):
            return practitioner
    if len(candidates) == 1:
        reason, taken = refusals.why_not_free(
            candidates[0],
            session_type,
            starts_at,
            now=now,
            settings=settings,
            by_staff=by_staff,
            ignore_appointment_id=ignore_appointment_id,
        )
        raise SlotTaken(reason) if taken else DomainError(reason)
    raise SlotTaken()


def _check_within_reach(starts_at: datetime) -> None:
    if not within_reach(starts_at):
        raise DomainError(OUT_OF_REACH)


def add_appointment(
    *,
    session_type: SessionType,
    starts_at: datetime,
    candidates: list[Practitioner],
    patient: Patient,
    source: str,
    now: datetime,
    staff_user: StaffUser | None = None,
    patient_note: str = "",
    course: Course | None = None,
    warning_sign_assessed: bool = False,
) -> Appointment:
    """Check one appointment and add it to the caller's unit of work.

    `book_appointment` uses it for one booking and a course plan for many in one
    unit of work. With a course the session spends one of its credits. Raises
    SlotTaken or DomainError; the unit of work rolls back.
    """
    settings = clinic_settings()
    by_staff = staff_user is not None
    _check_within_reach(starts_at)
    _check_session_type(session_type, online=not by_staff)
    if course is not None:
        # Before the time: "no credits left" says more than "that time is taken".
        courses.check_course_session(course, session_type, starts_at, now=now)
    chosen = _free_practitioner(
        candidates, session_type, starts_at, now=now, settings=settings, by_staff=by_staff
    )
    # Hold the practitioner's row (shared) until commit and read it afresh: an admin
    # deactivating them locks it for update first, so either they see this booking and
    # refuse, or this sees them inactive. (SQLite's write lock already orders the two.)
    still_active = db.session.scalar(
        select(Practitioner.active).where(Practitioner.id == chosen.id).with_for_update(read=True)
    )
    if not still_active:
        raise DomainError(f"{chosen.name} is no longer taking bookings. Please choose again.")
    appointment = Appointment(
        practitioner=chosen,
        patient=patient,
        session_type=session_type,
        course=course,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=session_type.duration_minutes),
        source=source,
        patient_note=patient_note.strip(),
        warning_sign_assessed=warning_sign_assessed,
        # A course session was paid for with the course.
        price_pence=0 if course is not None else session_type.price_pence,
    )
    db.session.add(appointment)
    transaction.flush()
    if course is not None and course.status != CourseStatus.AWAITING_PAYMENT:
        credits.spend_credit(course, appointment, staff_user=staff_user)
    # The first session of an unpaid course (the clinic's setting, checked above with the
    # course locked) holds no credit yet: it takes one when the course is paid.
    return appointment


def book_appointment(
    *,
    session_type: SessionType,
    starts_at: datetime,
    practitioner: Practitioner | None,
    patient: Patient | PatientDetails | None = None,
    source: str = AppointmentSource.ONLINE,
    patient_note: str = "",
    health_consent: bool = False,
    staff_user: StaffUser | None = None,
    now: datetime | None = None,
    course: Course | None = None,
    submission_key: str | None = None,
    warning_sign_assessed: bool = False,
    hold_limits: holds.HoldLimits | None = None,
    hold: held_appointments.Hold | None = None,
) -> Appointment:
    """Book one appointment; `practitioner=None` means the first practitioner free then.

    With `course`, the session is for the course's patient and spends one of its
    credits (`patient` may be left out). Raises SlotTaken when the time is no
    longer free, DomainError for other refusals.

    With `submission_key` (the random key of the patient's form) a second send of the
    same form books nothing and returns the appointment the first send booked.
    `warning_sign_assessed` flags it for the practitioner: the patient has a warning
    sign a doctor has already assessed, they say. With `hold_limits` (a patient booking
    online) the caps on live bookings per contact and per address apply.

    With `hold` the appointment is only HELD (it keeps the time until `hold.until`,
    waiting for a deposit or an email confirmation): nothing is sent to confirm it until
    `held_appointments.confirm_held` books it.
    """
    now = now or utcnow()
    try:
        with unit_of_work():
            if submission_key is not None:
                claimed = submissions.claim(
                    submission_key, "course_session" if course else "booking"
                )
            appointment = _book(
                session_type=session_type,
                starts_at=starts_at,
                practitioner=practitioner,
                patient=patient,
                source=source,
                patient_note=patient_note,
                health_consent=health_consent,
                staff_user=staff_user,
                now=now,
                course=course,
                warning_sign_assessed=warning_sign_assessed,
                hold_limits=hold_limits,
                hold=hold,
            )
            if submission_key is not None:
                claimed.appointment_id = appointment.id
    except AlreadySubmitted:
        if submission_key is None:
            raise
        return _booked_by_earlier_send(submission_key, session_type, starts_at)
    return appointment


def _booked_by_earlier_send(
    key: str, session_type: SessionType, starts_at: datetime
) -> Appointment:
    """What the first send of a form booked; refused if that form asked for something else."""
    earlier = submissions.earlier(key)
    appointment = earlier.appointment if earlier is not None else None
    if appointment is None:
        raise AlreadySubmitted()
    if appointment.starts_at != starts_at or appointment.session_type_id != session_type.id:
        raise DomainError(
            "This page was already used to book an appointment. To book another, "
            "please start again from the booking page."
        )
    return appointment


def _book(
    *,
    session_type: SessionType,
    starts_at: datetime,
    practitioner: Practitioner | None,
    patient: Patient | PatientDetails | None,
    source: str,
    patient_note: str,
    health_consent: bool,
    staff_user: StaffUser | None,
    now: datetime,
    course: Course | None,
    warning_sign_assessed: bool,
    hold_limits: holds.HoldLimits | None = None,
    hold: held_appointments.Hold | None = None,
) -> Appointment:
    """The body of book_appointment, inside its unit of work."""
    by_staff = staff_user is not None
    if course is not None:
        course = lock_or_refuse(Course, course.id, "This course no longer exists.")
        if patient is None:
            patient = course.patient
        elif patient is not course.patient:
            raise DomainError("This course belongs to another patient.")
    elif patient is None:
        raise DomainError("Say who the appointment is for.")
    if isinstance(patient, Patient):
        patient = lock_bookable(patient)
        if health_consent and patient.health_consent_at is None:
            # A course patient agrees on the page that books the session, as a new one does.
            patient.health_consent_at = now
    if practitioner is not None:
        if not offers(practitioner, session_type):
            raise DomainError(f"{practitioner.name} does not offer {session_type.name}.")
        candidates = [practitioner]
    else:
        candidates = practitioners_offering(session_type)
    if isinstance(patient, PatientDetails):
        if hold_limits is not None and course is None:
            holds.check(patient, hold_limits, now=now)
            if hold is None:
                # A new patient booking online may have to confirm their email first.
                hold = email_confirmation.hold_for(patient, now=now)
        patient = find_or_create_patient(patient, consent_at=now if health_consent else None)
    appointment = add_appointment(
        session_type=session_type,
        starts_at=starts_at,
        candidates=candidates,
        patient=patient,
        source=source,
        now=now,
        staff_user=staff_user,
        patient_note=patient_note,
        course=course,
        warning_sign_assessed=warning_sign_assessed,
    )
    if hold_limits is not None:
        appointment.client_key = hold_limits.client_key
    if hold is not None:
        held_appointments.apply_hold(appointment, hold)
        if hold.reason == email_confirmation.REASON:
            notifications.email_confirmation_requested(appointment)
    else:
        notifications.appointment_booked(appointment, by_staff=by_staff)
    if by_staff:
        audit.record(
            staff_user,
            "appointment.booked",
            appointment,
            starts_at=starts_at,
            practitioner=appointment.practitioner.name,
            session_type=session_type.name,
            course_id=course.id if course is not None else None,
        )
    return appointment


def _lock_appointment(
    appointment: Appointment, seen_sequence: int | None, *, allow_held: bool = False
) -> Appointment:
    """Take the appointment's row; with `seen_sequence`, refuse if it changed since."""
    locked = lock_or_refuse(Appointment, appointment.id, GONE_MESSAGE)
    if not (allow_held and locked.is_held):
        _require_booked(locked)
    if seen_sequence is not None and locked.sequence != seen_sequence:
        raise ChangedMeanwhile(
            "This appointment was changed by someone else a moment ago, so nothing was done. "
            "Here it is as it stands now: check it and try again."
        )
    return locked


def _require_booked(appointment: Appointment) -> None:
    if appointment.status != AppointmentStatus.BOOKED:
        if appointment.status == AppointmentStatus.CANCELLED:
            raise DomainError("This appointment has already been cancelled.")
        if appointment.status == AppointmentStatus.HELD:
            raise DomainError(
                "This appointment is held, not yet booked "
                f"({held_appointments.describe(appointment).removeprefix('Held: ')}). "
                "It can be changed once it is booked, or cancelled to free the time."
            )
        if appointment.status == AppointmentStatus.ARRIVED:
            raise DomainError(
                "The patient has arrived, so this appointment can no longer be changed. "
                "If they were marked arrived by mistake, clear the attendance first."
            )
        raise DomainError("This appointment has already taken place.")


def _within_notice(appointment: Appointment, settings: ClinicSettings, now: datetime) -> bool:
    return change_policy.within_notice(appointment, now=now, settings=settings)


def move_appointment(
    appointment: Appointment,
    *,
    starts_at: datetime,
    practitioner: Practitioner | None = None,
    staff_user: StaffUser | None = None,
    now: datetime | None = None,
    seen_sequence: int | None = None,
) -> Appointment:
    """Move to another free time (and, for staff, another practitioner).

    Patients cannot move an appointment that is inside the notice period; staff can.
    With `seen_sequence` (the version the person's page showed) a change made by
    someone else since is refused with ChangedMeanwhile rather than overwritten.
    """
    now = now or utcnow()
    with unit_of_work():
        _move(appointment, starts_at, practitioner, staff_user, now, seen_sequence)
    return appointment


def _move(
    appointment: Appointment,
    starts_at: datetime,
    practitioner: Practitioner | None,
    staff_user: StaffUser | None,
    now: datetime,
    seen_sequence: int | None,
) -> None:
    by_staff = staff_user is not None
    settings = clinic_settings()
    _check_within_reach(starts_at)
    _lock_appointment(appointment, seen_sequence)
    if not by_staff and _within_notice(appointment, settings, now):
        raise TooLateToChange(too_late_message("moved", settings))
    target = practitioner or appointment.practitioner
    if starts_at == appointment.starts_at and target.id == appointment.practitioner_id:
        # Saving it would tell the patient their appointment moved when nothing changed.
        raise DomainError(NOT_A_MOVE)
    if not offers(target, appointment.session_type):
        raise DomainError(f"{target.name} does not offer {appointment.session_type.name}.")
    if appointment.course is not None:
        courses.check_course_session_time(appointment.course, starts_at)
    _free_practitioner(
        [target],
        appointment.session_type,
        starts_at,
        now=now,
        settings=settings,
        by_staff=by_staff,
        ignore_appointment_id=appointment.id,
    )
    before = (appointment.starts_at, appointment.practitioner.name)
    appointment.starts_at = starts_at
    appointment.ends_at = starts_at + timedelta(minutes=appointment.session_type.duration_minutes)
    appointment.practitioner = target
    appointment.sequence += 1
    notifications.appointment_moved(appointment, by_staff=by_staff, moved_from=before[0])
    if by_staff:
        audit.record(
            staff_user,
            "appointment.moved",
            appointment,
            from_starts_at=before[0],
            from_practitioner=before[1],
            to_starts_at=starts_at,
            to_practitioner=target.name,
        )


def cancel_appointment(
    appointment: Appointment,
    *,
    reason: str = "",
    staff_user: StaffUser | None = None,
    now: datetime | None = None,
    return_credit: bool | None = None,
    seen_sequence: int | None = None,
    charge_fee: bool = False,
    warning_sign: bool = False,
    requested_by: CancelledBy | None = None,
) -> Appointment:
    """Cancel and tell the patient. Patients must give the clinic's notice; staff need not.

    `requested_by`: who asked for it, recorded as `cancel_requested_by` (a patient online
    always asked themselves; staff say whether the patient asked, by phone say, or the
    clinic did; None: not known). Only the patient's own late cancellations count as late
    ones in the reports, and only they may be charged the fee.
    A course session gives its credit back when cancelled with notice, or late when
    the clinic's settings say a late cancellation does not use it, or when the clinic
    asked for the cancellation. Staff may decide otherwise with `return_credit`.
    `seen_sequence` as for `move_appointment`. With `charge_fee` (staff confirmed it) a
    late cancellation the patient asked for adds the clinic's late cancellation fee to the
    patient's balance (refused for one the clinic asked for); with notice, no fee.
    `warning_sign`: the patient reported a red flag before the visit, so they may cancel
    however late, with no fee, and a course credit always comes back.
    A deposit paid online is refunded, or kept towards the late cancellation fee, by the
    clinic's rule (`booking.clinic.payments.deposit_policy`): decided in this unit of
    work, the refund asked of the provider once it has committed.
    """
    now = now or utcnow()
    with unit_of_work():
        late, deposit = _cancel(
            appointment,
            reason,
            staff_user,
            now,
            return_credit,
            seen_sequence,
            warning_sign,
            charge_fee=charge_fee,
            requested_by=requested_by,
        )
    if deposit.refund_pence > 0:
        deposit_policy.make_cancellation_refunds(appointment)
    return appointment


def _cancel(
    appointment: Appointment,
    reason: str,
    staff_user: StaffUser | None,
    now: datetime,
    return_credit: bool | None,
    seen_sequence: int | None,
    warning_sign: bool = False,
    *,
    charge_fee: bool = False,
    requested_by: CancelledBy | None = None,
) -> tuple[bool, deposit_policy.DepositOutcome]:
    """Cancel; whether it was late (inside the notice period), and the deposit's fate."""
    by_staff = staff_user is not None
    if not by_staff:
        requested_by = CancelledBy.PATIENT  # online, or a warning sign the patient reported
    if charge_fee and requested_by != CancelledBy.PATIENT:
        raise DomainError(FEE_NOT_FOR_THE_CLINIC)
    settings = clinic_settings()
    # Staff may cancel a held appointment, to free its time before the hold runs out.
    _lock_appointment(appointment, seen_sequence, allow_held=by_staff)
    late = _within_notice(appointment, settings, now)
    if not by_staff and late and not warning_sign:
        raise TooLateToChange(too_late_message("cancelled", settings))
    was_held = appointment.is_held
    appointment.status = AppointmentStatus.CANCELLED.value
    appointment.held_until = None
    appointment.cancelled_at = now
    appointment.cancelled_by = (CancelledBy.CLINIC if by_staff else CancelledBy.PATIENT).value
    appointment.cancel_requested_by = requested_by.value if requested_by else None
    appointment.cancellation_reason = reason.strip()[:300]
    appointment.sequence += 1
    if appointment.course_id is not None:
        if return_credit is None or not by_staff:
            return_credit = requested_by == CancelledBy.CLINIC or not (
                late and settings.late_cancellation_uses_credit
            )
        if warning_sign:
            return_credit = True
            credit_reason = "Cancelled for a warning sign: credit returned"
        elif late and return_credit and requested_by == CancelledBy.CLINIC:
            credit_reason = "Cancelled late by the clinic: credit returned"
        elif not late:
            credit_reason = "Cancelled with notice: credit returned"
        elif return_credit:
            credit_reason = "Cancelled late: credit returned"
        else:
            credit_reason = "Cancelled late: credit used"
        credits.settle_credit(
            appointment,
            uses_credit=not return_credit,
            reason=credit_reason,
            staff_user=staff_user,
        )
    charging = charge_fee and late and staff_user is not None and not warning_sign
    fee_pence = fees.fee_amount(FeeKind.LATE_CANCELLATION, settings) if charging else 0
    deposit = deposit_policy.decide_on_cancellation(
        appointment, late=late, fee_pence=fee_pence, staff_user=staff_user
    )
    # After the deposit's fate (a kept deposit pays towards the fee, so the fee's link asks
    # only for the rest) and before the email, which says what the patient owes.
    if charging and staff_user is not None:
        fees.charge_fee(appointment, FeeKind.LATE_CANCELLATION, staff_user=staff_user, now=now)
    notifications.appointment_cancelled(
        appointment, by_staff=by_staff, was_held=was_held, deposit_words=deposit.patient_words()
    )
    if by_staff:
        audit.record(staff_user, "appointment.cancelled", appointment, reason=reason.strip()[:300])
    return late, deposit


FEE_NOT_FOR_THE_CLINIC = (
    "The late cancellation fee is only for a cancellation the patient asked for. Untick "
    "the fee to cancel for the clinic, or choose the patient if they asked to cancel."
)

UNDO_EXPIRED_MESSAGE = (
    "It is too late to undo this cancellation online. To book again, choose a new time "
    "or call us on {phone}."
)
UNDO_SLOT_TAKEN_MESSAGE = (
    "Sorry: someone else booked that time after you cancelled, so we could not put your "
    "appointment back. Your cancellation stands and nothing has been charged. Please "
    "choose another time, or call us on {phone} and we will help."
)


class UndoTooLate(DomainError):
    """The few minutes to undo a cancellation online have passed."""


def _check_unpaid_course_has_room(appointment: Appointment) -> None:
    """An unpaid course holds one session at most: refuse to put back a second one."""
    course = appointment.course
    if course is None or course.status != CourseStatus.AWAITING_PAYMENT:
        return
    course = lock_or_refuse(Course, course.id, "This course no longer exists.")
    if course.status == CourseStatus.AWAITING_PAYMENT and courses.unpaid_sessions(course):
        raise DomainError(courses.awaiting_payment_problem(course))


def undo_cancellation(appointment: Appointment, *, now: datetime | None = None) -> Appointment:
    """Put back an appointment the patient cancelled online a few minutes ago.

    Only while the time is still free: if someone has booked it since, SlotTaken with a
    kind message, and the cancellation stands (the database's guarantee, the exclusion
    constraint or SQLite's write lock, settles a race with that booking). A course
    session takes its credit again, if the course still has one. The patient is sent the
    appointment as booked again, with an invitation that puts it back in their calendar.
    """
    now = now or utcnow()
    with unit_of_work():
        settings = clinic_settings()
        appointment = lock_or_refuse(Appointment, appointment.id, GONE_MESSAGE)
        if appointment.status == AppointmentStatus.BOOKED:
            return appointment  # a second tap on "Undo": the first put it back
        if not change_policy.can_undo_cancellation(appointment, now=now, settings=settings):
            raise UndoTooLate(UNDO_EXPIRED_MESSAGE.format(phone=settings.phone))
        taken = UNDO_SLOT_TAKEN_MESSAGE.format(phone=settings.phone)
        try:
            _free_practitioner(
                [appointment.practitioner],
                appointment.session_type,
                appointment.starts_at,
                now=now,
                settings=settings,
                by_staff=True,  # the patient held this time: no new minimum notice
            )
        except SlotTaken:
            raise SlotTaken(taken) from None
        _check_unpaid_course_has_room(appointment)
        appointment.status = AppointmentStatus.BOOKED.value
        appointment.cancelled_at = None
        appointment.cancelled_by = None
        appointment.cancel_requested_by = None
        appointment.cancellation_reason = ""
        appointment.sequence += 1
        try:
            # The exclusion constraint speaks here on PostgreSQL. Flushed before anything
            # else reads the database: a query's autoflush would meet the constraint
            # outside this try and give the patient the generic "just been taken".
            transaction.flush()
        except SlotTaken:
            raise SlotTaken(taken) from None
        # A deposit not yet refunded stays with the booking; one already refunded is
        # gone, and the booking stands without it (the full price is paid on the day).
        deposit_policy.cancel_pending_refunds(appointment)
        if appointment.course_id is not None:
            credits.settle_credit(
                appointment, uses_credit=True, reason="Cancellation undone: credit used"
            )
        notifications.appointment_restored(appointment)
    return appointment


def record_attendance(
    appointment: Appointment,
    status: AppointmentStatus,
    *,
    staff_user: StaffUser,
    now: datetime | None = None,
    charge_fee: bool = False,
) -> Appointment:
    """Mark a patient arrived, an appointment attended or a no-show (or back to booked
    to undo a mistake). Arrived may be marked from the appointment's day on; attended
    and no-show once it has started.

    For a course session, a no-show uses its credit only if the clinic's settings
    say so; undoing the no-show takes the credit again, never twice. With `charge_fee`
    (staff confirmed it) a no-show adds the clinic's no-show fee to the patient's
    balance; undoing the no-show waives that fee.
    """
    now = now or utcnow()
    if status not in (
        AppointmentStatus.ARRIVED,
        AppointmentStatus.ATTENDED,
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.BOOKED,
    ):
        raise DomainError("Choose arrived, attended or no-show.")
    with unit_of_work():
        previous = _record_attendance(appointment, status, staff_user, now)
        if status == AppointmentStatus.NO_SHOW and charge_fee:
            fees.charge_fee(appointment, FeeKind.NO_SHOW, staff_user=staff_user, now=now)
        elif previous == AppointmentStatus.NO_SHOW and status != AppointmentStatus.NO_SHOW:
            fees.waive_standing_fees(
                appointment, FeeKind.NO_SHOW, staff_user=staff_user, reason="No-show undone"
            )
    return appointment


def _record_attendance(
    appointment: Appointment, status: AppointmentStatus, staff_user: StaffUser, now: datetime
) -> str:
    """Change the attendance; the status it had before."""
    lock_or_refuse(Appointment, appointment.id, GONE_MESSAGE)
    if appointment.status == AppointmentStatus.CANCELLED:
        raise DomainError("A cancelled appointment cannot be marked attended or no-show.")
    if appointment.is_held:
        raise DomainError(
            "This appointment is held, not yet booked, so attendance cannot be recorded."
        )
    if status == AppointmentStatus.ARRIVED:
        zone = clinic_settings().zone
        if to_local(appointment.starts_at, zone).date() > to_local(now, zone).date():
            raise DomainError("A patient can be marked arrived only on the day of their visit.")
    elif status != AppointmentStatus.BOOKED and appointment.starts_at > now:
        raise DomainError("Attendance can only be recorded once the appointment has started.")
    previous = appointment.status
    appointment.status = status.value
    if appointment.course_id is not None:
        no_show = status == AppointmentStatus.NO_SHOW
        uses_credit = not no_show or clinic_settings().no_show_uses_credit
        credits.settle_credit(
            appointment,
            uses_credit=uses_credit,
            reason="No-show: credit returned" if no_show else "No-show undone: credit used",
            staff_user=staff_user,
        )
    audit.record(staff_user, "appointment.attendance", appointment, before=previous, after=status)
    return previous


def set_staff_note(appointment: Appointment, note: str, *, staff_user: StaffUser) -> Appointment:
    """A private note for staff; never shown to the patient or put in feeds."""
    with unit_of_work():
        lock_or_refuse(Appointment, appointment.id, GONE_MESSAGE)
        appointment.staff_note = note.strip()[:2000]
        audit.record(staff_user, "appointment.note", appointment)
    return appointment


def appointment_by_uid(uid: str) -> Appointment | None:
    return db.session.scalar(select(Appointment).where(Appointment.uid == uid))
