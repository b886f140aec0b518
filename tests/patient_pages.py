"""Every page a patient can reach, and every email a patient can receive, for the tests that
read them all (the layout on a small phone, the copy as a patient reads it).

Each needs the demo clinic (the `demo` fixture) and builds the records it shows through the
domain, as a patient's own actions would.
"""

from datetime import timedelta

import sqlalchemy as sa

from booking.clinic import courses, my_bookings, notifications, waiting_list
from booking.clinic.appointments import (
    PatientDetails,
    book_appointment,
    cancel_appointment,
    move_appointment,
    undo_cancellation,
)
from booking.clinic.held_appointments import Hold, release_expired_holds
from booking.clinic.records import intake
from booking.clinic.records.outcomes import outcome_token
from booking.clinic.tokens import (
    check_token,
    confirm_email_token,
    course_token,
    intake_token,
    manage_token,
    offer_token,
    view_token,
    waiting_token,
)
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    CourseProduct,
    HoldReason,
    OutboxMessage,
    Practitioner,
    RecordMethod,
    SessionType,
)
from booking.presentation import format_start
from tests.records_helpers import answers
from tests.test_booking import next_weekday, start_at

PATIENT = PatientDetails("Pat Page", "pat@example.org", "07700900123")


def _get(model, slug):
    return db.session.scalar(sa.select(model).filter_by(slug=slug))


def _held_for_email(session_type, practitioner, starts_at, patient, *, minutes: int):
    """A new patient's booking held until they confirm their email (its email queued)."""
    return book_appointment(
        session_type=session_type,
        starts_at=starts_at,
        practitioner=practitioner,
        patient=patient,
        hold=Hold(HoldReason.EMAIL_CONFIRMATION, utcnow() + timedelta(minutes=minutes)),
    )


def patient_pages(make_course, make_staff) -> dict[str, str]:
    """Every page a patient can reach, by what it is, with the records each one needs."""
    massage, colette = _get(SessionType, "massage"), _get(Practitioner, "colette-assor")
    tuesday = next_weekday(1, at_least_days=5)
    appointment = book_appointment(
        session_type=massage, starts_at=start_at(tuesday, 10), practitioner=colette, patient=PATIENT
    )
    course = make_course()
    unpaid = make_course(paid=False)
    first_session = book_appointment(
        session_type=course.session_type,
        starts_at=start_at(tuesday + timedelta(days=1), 10),
        practitioner=colette,
        course=course,
    )
    entry = waiting_list.join_waiting_list(
        waiting_list.Wish(massage, None, "01234", "".join(waiting_list.PARTS_OF_DAY), tuesday),
        PatientDetails("Wes Waiting", "wes@example.org", "07700900124"),
    )
    offer = waiting_list.offer_time_by_hand(
        entry, colette, start_at(tuesday, 15), staff_user=make_staff("receptionist")
    )
    held = _held_for_email(
        massage,
        colette,
        start_at(tuesday, 12),
        PatientDetails("Hal Held", "hal@example.org", None),
        minutes=30,
    )
    released = _held_for_email(
        massage,
        colette,
        start_at(tuesday, 16),
        PatientDetails("Rae Late", "rae@example.org", None),
        minutes=-1,
    )
    release_expired_holds(utcnow())
    # The course's patient has answered the health questions: their consent page is next.
    intake.submit_intake(first_session.patient, answers(), method=RecordMethod.ONLINE)
    manage, course_link = manage_token(appointment), course_token(course)
    # The patient pressed My bookings' button once: their link opens the list at once.
    my_bookings.confirm_address(PATIENT.email)
    later = format_start(start_at(tuesday + timedelta(days=2), 11))
    return {
        "home": "/",
        "sciatica": "/sciatica",
        "how we treat it": "/treatment",
        "practitioner": "/practitioner",
        "practitioner's profile": "/practitioners/colette-assor",
        "when not to book": "/when-not-to-book",
        "contact": "/contact",
        "treatments and prices": "/treatments-and-prices",
        "choose a treatment": "/book",
        "choose a practitioner": "/book/massage",
        "choose a day and time": "/book/massage/times?practitioner=any",
        "your details": f"/book/massage/details?practitioner=any&start={later}",
        "you are booked": f"/book/confirmed/{manage}",
        "your time is held": f"/book/confirmed/{manage_token(held)}",
        "your held appointment": f"/manage/{manage_token(held)}",
        "confirm your booking": f"/book/confirm-email/{confirm_email_token(held)}",
        "your time was released": f"/book/confirm-email/{confirm_email_token(released)}",
        "waiting list": "/book/massage/waiting-list?practitioner=any",
        "your waiting-list place": f"/waiting-list/{waiting_token(entry.uid)}",
        "a time offered": f"/waiting-list/offer/{offer_token(offer.uid)}",
        "your appointment": f"/manage/{manage}",
        "cancel review": f"/manage/{manage}/cancel",
        "move": f"/manage/{manage}/reschedule",
        "move review": f"/manage/{manage}/reschedule/review?start={later}",
        "calendar's view": f"/appointment/{view_token(appointment)}",
        "courses": "/courses",
        "request a course": f"/courses/{course.product_id}/request",
        "your course": f"/course/{course_link}",
        "your course, not yet paid": f"/course/{course_token(unpaid)}",
        "book a course session": f"/course/{course_link}/book",
        "course session review": f"/course/{course_link}/book/review?start={later}",
        "plan a course": f"/course/{course_link}/plan",
        "my bookings": "/my-bookings",
        "my bookings, its button": f"/my-bookings/{my_bookings.link_token('hal@example.org')}",
        "my bookings list": f"/my-bookings/{my_bookings.link_token(PATIENT.email)}",
        "my bookings link expired": "/my-bookings/expired",
        "health questions": f"/intake/{intake_token(appointment)}",
        "consent": f"/intake/{intake_token(first_session)}/consent",
        "health questions done": f"/intake/{intake_token(appointment)}/done",
        "check before the visit": f"/check/{check_token(appointment)}",
        "how are you doing": f"/outcomes/{outcome_token(first_session)}",
    }


def patient_emails(make_staff) -> dict[str, str]:
    """Every kind of email a patient receives, as queued: {"kind (subject)": text and HTML}.

    The patient books, moves, cancels and undoes, is reminded, requests a course that the
    desk marks paid and plans a session of it, joins the waiting list and is offered a
    time, and asks for their My bookings link.
    """
    massage, colette = _get(SessionType, "massage"), _get(Practitioner, "colette-assor")
    thursday = next_weekday(3, at_least_days=5)
    appointment = book_appointment(
        session_type=massage,
        starts_at=start_at(thursday, 10),
        practitioner=colette,
        patient=PATIENT,
    )
    move_appointment(appointment, starts_at=start_at(thursday, 11))
    cancel_appointment(appointment, reason="Cancelled online by the patient")
    undo_cancellation(appointment)
    notifications.appointment_reminder(appointment)
    db.session.commit()
    receptionist = make_staff("receptionist")
    course = courses.request_course(
        db.session.scalar(sa.select(CourseProduct)),
        PatientDetails("Cory Course", "cory@example.org", "07700900125"),
    )
    courses.activate_course(course, "card 4242", receptionist)
    session = book_appointment(
        session_type=course.session_type,
        starts_at=start_at(thursday + timedelta(days=1), 10),
        practitioner=colette,
        course=course,
    )
    notifications.course_planned(course, [session])
    db.session.commit()
    entry = waiting_list.join_waiting_list(
        waiting_list.Wish(massage, None, "01234", "".join(waiting_list.PARTS_OF_DAY), thursday),
        PatientDetails("Wes Waiting", "wes@example.org", "07700900124"),
    )
    waiting_list.offer_time_by_hand(entry, colette, start_at(thursday, 15), staff_user=receptionist)
    my_bookings.send_link(PATIENT.email)
    # A new patient's booking held for their email's confirmation, and one let go unconfirmed.
    held = PatientDetails("Hal Held", "hal@example.org", None)
    _held_for_email(massage, colette, start_at(thursday, 12), held, minutes=30)
    _held_for_email(massage, colette, start_at(thursday, 16), held, minutes=-1)
    release_expired_holds(utcnow())
    db.session.expire_all()
    return {
        f"{message.kind} ({message.subject})": (
            f"{message.subject}\n{message.text_body}\n{message.html_body or ''}"
        )
        for message in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        if not message.kind.startswith("reception") and message.kind != "red_flag_alert"
    }
