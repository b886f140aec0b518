"""Outbox: messages queued in the same transaction as the change they report.

The appointment and course functions call these hooks before they commit. The
hooks render each message in full (plain text, HTML and any iCalendar
invitation) and add an OutboxMessage row to the session; they never send
anything. The worker in `booking.clinic.outbox` sends what was committed, so a
booking that rolls back leaves no mail behind and a committed one cannot lose it.

Every message has a dedupe key built from what it reports (the appointment's
uid and sequence, say), and rows are inserted with "on conflict do nothing":
a transaction that is retried, or a reminder run started twice, never queues
the same message twice.
"""

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.routing import BuildError

from booking.clinic import calendar
from booking.clinic.channels import sender_for
from booking.clinic.local_wording import format_local_date, format_local_time
from booking.clinic.payments.configured import online_payment_configured
from booking.clinic.records.consent import ConsentStatus, appointment_consent, overall
from booking.clinic.records.intake import intake_status
from booking.clinic.records.outcomes import outcome_url
from booking.clinic.rendered import Attachment
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import (
    check_token,
    confirm_email_url,
    course_token,
    intake_token,
    manage_url,
)
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    CancelledBy,
    Course,
    CourseSource,
    OutboxAttachment,
    OutboxMessage,
    OutboxStatus,
)


class Kind:
    """What a message is about; shown to staff on the outbox page."""

    CONFIRMATION = "confirmation"
    MOVED = "moved"
    CANCELLED = "cancelled"
    REMINDER = "reminder"
    RECEPTION_BOOKED = "reception_booked"
    RECEPTION_MOVED = "reception_moved"
    RECEPTION_CANCELLED = "reception_cancelled"
    RESTORED = "restored"
    RECEPTION_RESTORED = "reception_restored"
    COURSE_REQUESTED = "course_requested"
    RECEPTION_COURSE_REQUESTED = "reception_course_requested"
    COURSE_ACTIVATED = "course_activated"
    COURSE_PLANNED = "course_planned"
    COURSE_SESSION = "course_session"
    WAITING_LIST_JOINED = "waiting_list_joined"
    WAITING_LIST_OFFER = "waiting_list_offer"
    HOLD_RELEASED = "hold_released"
    DEPOSIT_REFUND_DUE = "deposit_refund_due"
    RECEPTION_DEPOSIT_REFUND_DUE = "reception_deposit_refund_due"
    RECEPTION_DEPOSIT_REFUND_REFUSED = "reception_deposit_refund_refused"
    CONFIRM_EMAIL = "confirm_email"


def queue_message(
    *,
    kind: str,
    recipient: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    dedupe_key: str,
    appointment: Appointment | None = None,
    ics: bytes | None = None,
    ics_method: str | None = None,
    channel: str = "email",
    attachments: Sequence[Attachment] = (),
) -> bool:
    """Render `template` with the channel's sender (for email, `emails/<template>.txt`
    and `.html`) and add the message, with any `attachments`, to the outbox.

    Runs inside the caller's transaction; a message whose dedupe key is already
    queued is silently skipped (returns False). A channel without a sender is refused
    here, before anything is queued (UnknownChannel).
    """
    context = {"clinic": clinic_settings(), **context}
    rendered = sender_for(channel).render(template, context)
    values = {
        "channel": channel,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "recipient": recipient,
        "subject": subject,
        "text_body": rendered.text_body,
        "html_body": rendered.html_body,
        "ics": ics.decode("utf-8") if ics is not None else None,
        "ics_method": ics_method,
        "appointment_id": appointment.id if appointment is not None else None,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "last_error": "",
    }
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    message_id = db.session.execute(statement).scalar()
    if message_id is None:
        return False
    for attachment in attachments:
        db.session.add(
            OutboxAttachment(
                message_id=message_id,
                filename=attachment.filename,
                content_type=attachment.content_type,
                content=attachment.content,
            )
        )
    return True


def _appointment_key(appointment: Appointment, kind: str) -> str:
    return f"appointment:{appointment.uid}:{kind}:{appointment.sequence}"


def _when(appointment: Appointment) -> str:
    """e.g. "Friday 23 October 2026 at 10:00" in the clinic's time."""
    return (
        f"{format_local_date(appointment.starts_at)} at {format_local_time(appointment.starts_at)}"
    )


def _appointment_context(appointment: Appointment) -> dict[str, Any]:
    return {
        "appointment": appointment,
        "manage_url": manage_url(appointment),
        # At the first, middle and last session of a course: the patient's score form.
        "outcome_url": outcome_url(appointment),
        # A first session booked before its course is paid says how to pay.
        "pay_online": online_payment_configured(),
    }


def _patient_email(appointment: Appointment) -> str | None:
    return appointment.patient.email or None


def _reception_email() -> str | None:
    return clinic_settings().reception_email or None


def _is_online(appointment: Appointment, by_staff: bool | None) -> bool:
    if by_staff is not None:
        return not by_staff
    return appointment.source == AppointmentSource.ONLINE


def _tell_patient(
    appointment: Appointment,
    kind: str,
    subject: str,
    context: dict[str, Any],
    *,
    ics_method: str | None = None,
) -> None:
    """Queue the `kind` message (template of the same name) to the patient, if they gave an email.

    With an `ics_method` the message carries the appointment's iCalendar invitation.
    """
    email = _patient_email(appointment)
    if not email:
        return
    queue_message(
        kind=kind,
        recipient=email,
        subject=subject,
        template=kind,
        context=context,
        dedupe_key=_appointment_key(appointment, kind),
        appointment=appointment,
        ics=calendar.invitation(appointment, ics_method) if ics_method else None,
        ics_method=ics_method,
    )


def _tell_reception(appointment: Appointment, kind: str, subject: str) -> None:
    """Queue the `kind` notice (template of the same name) to reception, if it has an email."""
    reception = _reception_email()
    if not reception:
        return
    queue_message(
        kind=kind,
        recipient=reception,
        subject=subject,
        template=kind,
        context={"appointment": appointment},
        dedupe_key=_appointment_key(appointment, kind),
        appointment=appointment,
    )


def appointment_booked(appointment: Appointment, *, by_staff: bool | None = None) -> None:
    """Queue the confirmation (with an iCalendar REQUEST) and the reception notice.

    Reception hears only of online bookings: a booking staff made is already known
    to them. Appointments planned as part of a course are confirmed together by
    `course_planned`, so they get no confirmation each.
    """
    if appointment.source == AppointmentSource.COURSE_PLAN:
        return
    when = _when(appointment)
    _tell_patient(
        appointment,
        Kind.CONFIRMATION,
        f"Booked: {appointment.session_type.name} on {when}",
        {**_appointment_context(appointment), "intake_url": intake_url(appointment)},
        ics_method="REQUEST",
    )
    if _is_online(appointment, by_staff):
        _tell_reception(appointment, Kind.RECEPTION_BOOKED, f"New online booking: {when}")


def _withdraw_unsent_reminders(appointment: Appointment) -> None:
    """A reminder queued for the old time must not go out after a move or cancellation.

    An unsent reminder is only a copy of facts that have changed, so it is removed; a
    move gets a fresh reminder from the next `flask outbox remind`.
    """
    db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.appointment_id == appointment.id,
            OutboxMessage.kind == Kind.REMINDER,
            OutboxMessage.status == OutboxStatus.PENDING.value,
        )
    )


def appointment_moved(
    appointment: Appointment, *, by_staff: bool | None = None, moved_from: datetime | None = None
) -> None:
    """Queue the updated invitation (REQUEST with a higher SEQUENCE).

    The message names the old time (`moved_from`) as well as the new, so nobody turns up
    at the time they remember. Reception is told only when the caller says the patient
    moved it online (`by_staff=False`): the appointment itself does not record who moved it.
    """
    _withdraw_unsent_reminders(appointment)
    when = _when(appointment)
    was = (
        f"{format_local_date(moved_from)} at {format_local_time(moved_from)}"
        if moved_from is not None
        else None
    )
    _tell_patient(
        appointment,
        Kind.MOVED,
        f"Moved: your appointment is now on {when}",
        {**_appointment_context(appointment), "moved_from": was},
        ics_method="REQUEST",
    )
    if by_staff is False:
        _tell_reception(appointment, Kind.RECEPTION_MOVED, f"Moved online: now {when}")


def appointment_cancelled(
    appointment: Appointment,
    *,
    by_staff: bool | None = None,
    was_held: bool = False,
    deposit_words: str = "",
) -> None:
    """Queue the cancellation (iCalendar CANCEL, same UID) and the reception notice.

    Reception hears of cancellations the patient made; the ones staff made they know of.
    A held appointment (`was_held`) was never sent as an invitation: no CANCEL goes.
    """
    _withdraw_unsent_reminders(appointment)
    when = _when(appointment)
    _tell_patient(
        appointment,
        Kind.CANCELLED,
        f"Cancelled: your appointment on {when}",
        {
            "appointment": appointment,
            "book_url": _public_url("public.book"),
            "with_invitation": not was_held,
            # What becomes of a deposit paid online (payments.deposit_policy), or "".
            "deposit_words": deposit_words,
        },
        ics_method=None if was_held else "CANCEL",
    )
    patient_cancelled = (
        not by_staff if by_staff is not None else appointment.cancelled_by != CancelledBy.CLINIC
    )
    if patient_cancelled:
        _tell_reception(appointment, Kind.RECEPTION_CANCELLED, f"Cancelled online: {when}")


def hold_released(appointment: Appointment, reason: str) -> None:
    """Tell the patient a time held for them was let go, in the words of its `reason`.

    The template is `hold_released_<reason>` (a HoldReason's value): a deposit not paid
    in time reads differently from an email address not confirmed. No calendar
    cancellation: a held appointment was never sent as an invitation.
    """
    email = _patient_email(appointment)
    if not email:
        return
    queue_message(
        kind=Kind.HOLD_RELEASED,
        recipient=email,
        subject=f"Not booked: {appointment.session_type.name} on {_when(appointment)}",
        template=f"{Kind.HOLD_RELEASED}_{reason}",
        context={"appointment": appointment, "book_url": _public_url("public.book")},
        dedupe_key=_appointment_key(appointment, Kind.HOLD_RELEASED),
        appointment=appointment,
    )


def email_confirmation_requested(appointment: Appointment) -> None:
    """Send a new patient the link that keeps their held booking ("Confirm your booking").

    No calendar invitation and no word to reception: nothing is booked until the link
    is opened (`booking.clinic.email_confirmation`), and `appointment_booked` then
    sends both.
    """
    email = _patient_email(appointment)
    if not email:
        return
    queue_message(
        kind=Kind.CONFIRM_EMAIL,
        recipient=email,
        subject=f"Confirm your booking: {appointment.session_type.name} on {_when(appointment)}",
        template=Kind.CONFIRM_EMAIL,
        context={"appointment": appointment, "confirm_url": confirm_email_url(appointment)},
        dedupe_key=_appointment_key(appointment, Kind.CONFIRM_EMAIL),
        appointment=appointment,
    )


def deposit_refund_due(appointment: Appointment, amount_pence: int) -> None:
    """A deposit came too late to keep the appointment: tell the patient it will be
    refunded, and reception that it must be (each once per appointment)."""
    context = {
        "appointment": appointment,
        "amount_pence": amount_pence,
        "book_url": _public_url("public.book"),
    }
    email = _patient_email(appointment)
    if email:
        queue_message(
            kind=Kind.DEPOSIT_REFUND_DUE,
            recipient=email,
            subject=f"Not booked: your deposit for {_when(appointment)} will be refunded",
            template=Kind.DEPOSIT_REFUND_DUE,
            context=context,
            dedupe_key=_appointment_key(appointment, Kind.DEPOSIT_REFUND_DUE),
            appointment=appointment,
        )
    reception = _reception_email()
    if reception:
        queue_message(
            kind=Kind.RECEPTION_DEPOSIT_REFUND_DUE,
            recipient=reception,
            subject=f"Deposit to refund: {_when(appointment)}",
            template=Kind.RECEPTION_DEPOSIT_REFUND_DUE,
            context=context,
            dedupe_key=_appointment_key(appointment, Kind.RECEPTION_DEPOSIT_REFUND_DUE),
            appointment=appointment,
        )


def deposit_refund_refused(appointment: Appointment, amount_pence: int, *, attempts: int) -> None:
    """The automatic refund of a cancelled booking's deposit did not go through after
    `attempts` asks: tell reception to make it (once per appointment; the diary shows it)."""
    reception = _reception_email()
    if not reception:
        return
    queue_message(
        kind=Kind.RECEPTION_DEPOSIT_REFUND_REFUSED,
        recipient=reception,
        subject=f"Deposit to refund by hand: {_when(appointment)}",
        template=Kind.RECEPTION_DEPOSIT_REFUND_REFUSED,
        context={"appointment": appointment, "amount_pence": amount_pence, "attempts": attempts},
        dedupe_key=_appointment_key(appointment, Kind.RECEPTION_DEPOSIT_REFUND_REFUSED),
        appointment=appointment,
    )


def appointment_restored(appointment: Appointment) -> None:
    """Queue "booked again" after the patient undid their cancellation, and tell reception.

    The invitation (REQUEST, a higher SEQUENCE than the cancellation's) puts the event
    back in the patient's calendar. Nothing already queued is withdrawn: the messages
    before it stay true of the moment they describe.
    """
    when = _when(appointment)
    _tell_patient(
        appointment,
        Kind.RESTORED,
        f"Booked again: your appointment on {when}",
        _appointment_context(appointment),
        ics_method="REQUEST",
    )
    _tell_reception(appointment, Kind.RECEPTION_RESTORED, f"Cancellation undone online: {when}")


def appointment_reminder(appointment: Appointment) -> None:
    """Queue the reminder for an appointment (at most one per appointment and time)."""
    _tell_patient(
        appointment,
        Kind.REMINDER,
        f"Reminder: {appointment.session_type.name} on {_when(appointment)}",
        {
            **_appointment_context(appointment),
            "intake_url": intake_url(appointment),
            "check_url": _public_url("public.pre_visit_check", token=check_token(appointment)),
        },
    )


def _public_url(endpoint: str, **values: Any) -> str | None:
    """An absolute link to one of our pages, built from PUBLIC_BASE_URL (no request needed)."""
    try:
        path = current_app.url_map.bind("localhost").build(endpoint, values)
    except BuildError:
        return None
    return f"{current_app.config['PUBLIC_BASE_URL']}{path}"


def intake_url(appointment: Appointment) -> str | None:
    """The patient's link to the intake questionnaire and consent, while either is missing.

    None once the patient's intake is on file and their consent to this visit's
    treatments is current (a new wording asks again).
    """
    if (
        intake_status(appointment.patient_id).complete
        and overall(appointment_consent(appointment)) == ConsentStatus.GIVEN
    ):
        return None
    return _public_url("public.intake_questions", token=intake_token(appointment))


def my_bookings_url(token: str) -> str | None:
    return _public_url("public.my_bookings_list", token=token)


def course_url(course: Course) -> str | None:
    """The patient's signed link to their course page, if the site has one."""
    return _public_url("public.course", token=course_token(course))


def _course_key(course: Course, kind: str) -> str:
    return f"course:{course.uid}:{kind}"


def course_requested(course: Course) -> None:
    """Queue the patient's acknowledgement of a course request and the reception notice."""
    db.session.flush()  # the course's uid is given on flush
    context = {
        "course": course,
        "course_url": course_url(course),
        "pay_online": online_payment_configured(),
    }
    email = course.patient.email
    if email:
        queue_message(
            kind=Kind.COURSE_REQUESTED,
            recipient=email,
            subject=f"Your request: {course.product.name}",
            template="course_requested",
            context=context,
            dedupe_key=_course_key(course, Kind.COURSE_REQUESTED),
        )
    reception = _reception_email()
    if reception and course.source == CourseSource.ONLINE:
        queue_message(
            kind=Kind.RECEPTION_COURSE_REQUESTED,
            recipient=reception,
            subject=f"Course requested online: {course.product.name}",
            template="reception_course_requested",
            context=context,
            dedupe_key=_course_key(course, Kind.RECEPTION_COURSE_REQUESTED),
        )


def course_activated(course: Course) -> None:
    """Queue the message telling the patient their course is paid for and ready to use."""
    db.session.flush()
    email = course.patient.email
    if not email:
        return
    queue_message(
        kind=Kind.COURSE_ACTIVATED,
        recipient=email,
        subject=f"Your course is ready: {course.product.name}",
        template="course_activated",
        context={
            "course": course,
            "course_url": course_url(course),
            "book_url": _public_url("public.book"),
        },
        dedupe_key=_course_key(course, Kind.COURSE_ACTIVATED),
    )


def course_planned(course: Course, appointments: Sequence[Appointment]) -> None:
    """Queue the summary listing every planned session, and one invitation per session.

    One email per session, each with its own REQUEST, because an iTIP object carries one
    UID: Outlook imports only the first event of a many-event invitation and a CalDAV
    server stores one object per resource. A later move or cancellation of one session
    then updates that session alone (same UID, higher SEQUENCE). Planning the same
    sessions again queues nothing new; planning more later sends mail for those.
    """
    db.session.flush()  # the appointments' uids are given on flush
    email = course.patient.email
    appointments = sorted(appointments, key=lambda appointment: appointment.starts_at)
    if not email or not appointments:
        return
    # The key names exactly these sessions at these versions.
    fingerprint = hashlib.sha256(
        ",".join(f"{a.uid}:{a.sequence}" for a in appointments).encode()
    ).hexdigest()[:24]
    link = course_url(course)
    queue_message(
        kind=Kind.COURSE_PLANNED,
        recipient=email,
        subject=(
            f"Your {len(appointments)} sessions are booked: {course.product.name}"
            if len(appointments) != 1
            else f"Your session is booked: {course.product.name}"
        ),
        template="course_planned",
        context={
            "course": course,
            "appointments": appointments,
            "course_url": link,
            "manage_urls": [manage_url(appointment) for appointment in appointments],
        },
        dedupe_key=_course_key(course, f"{Kind.COURSE_PLANNED}:{fingerprint}"),
    )
    numbers = _session_numbers(course)
    for appointment in appointments:
        number = numbers.get(appointment.id)
        queue_message(
            kind=Kind.COURSE_SESSION,
            recipient=email,
            subject=(
                f"Booked: session {number} of your course on {_when(appointment)}"
                if number
                else f"Booked: {appointment.session_type.name} on {_when(appointment)}"
            ),
            template="course_session",
            context={
                **_appointment_context(appointment),
                "course": course,
                "course_url": link,
                "number": number,
                "total": course.sessions_total,
            },
            dedupe_key=_appointment_key(appointment, Kind.COURSE_SESSION),
            appointment=appointment,
            ics=calendar.invitation(appointment, "REQUEST"),
            ics_method="REQUEST",
        )


def _session_numbers(course: Course) -> dict[int, int]:
    """Each live session's place in the course, counted in time order from 1."""
    live = [a for a in course.appointments if a.status != AppointmentStatus.CANCELLED]
    live.sort(key=lambda appointment: appointment.starts_at)
    return {appointment.id: index for index, appointment in enumerate(live, start=1)}
