"""New patients confirm their email before an online booking is kept (a clinic setting).

On, a new patient's online booking is HELD until EMAIL_CONFIRMATION_HOLD_MINUTES from
now with an emailed "Confirm your booking" link; opening it books the time (confirmation
and invitation only then), again and again with no second effect; unopened, the worker
releases the time and the link says so. Off (the default), nothing changes.
"""

import re
from datetime import timedelta

import sqlalchemy as sa

from booking.clinic.appointments import PatientDetails, book_appointment, record_attendance
from booking.clinic.email_confirmation import confirm_from_link
from booking.clinic.held_appointments import release_expired_holds
from booking.clinic.outbox import send_due
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import appointment_uid_from_confirm_email_token
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    HoldReason,
    OutboxMessage,
    Patient,
    Practitioner,
    SessionType,
)
from tests.at_once import race
from tests.fixtures_mail import html_text, plain_text
from tests.forms import csrf_token
from tests.signed_links import appointment_opened_by
from tests.test_admin import post_settings
from tests.test_booking import details_url, next_weekday, start_at, submit_details

HELD_SENTENCE = re.compile(r"Your time is held until (\d\d:\d\d); open the link we emailed")
CONFIRM_LINK = re.compile(r"https?://[^\s\"<>]+/book/confirm-email/[A-Za-z0-9_\-.]+")


def require_confirmation(on: bool = True) -> None:
    clinic_settings().email_confirmation_for_new_patients = on
    db.session.commit()


def the_appointment() -> Appointment:
    db.session.rollback()
    appointment = db.session.scalar(sa.select(Appointment).order_by(Appointment.id.desc()))
    assert appointment is not None
    return appointment


def messages(*kinds: str) -> list[OutboxMessage]:
    db.session.rollback()
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind.in_(kinds)).order_by(OutboxMessage.id)
        )
    )


def confirm_link() -> str:
    """The link in the one "Confirm your booking" email queued, as a path."""
    [message] = messages("confirm_email")
    [link] = set(CONFIRM_LINK.findall(message.text_body))
    assert link in (message.html_body or "")
    return "/book/confirm-email/" + link.rsplit("/", 1)[1]


def press_confirm(client, link: str):
    """Open the link (a page with one button) and press "Confirm my booking"."""
    page = client.get(link)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    assert "Confirm my booking" in html
    return client.post(link, data={"csrf_token": csrf_token(html)})


def slot(hour: int = 9):
    return start_at(next_weekday(1), hour)


def test_the_setting_is_off_by_default_and_a_new_patient_is_booked_at_once(client, demo):
    assert clinic_settings().email_confirmation_for_new_patients is False
    assert submit_details(client, details_url(slot())).status_code == 302
    appointment = the_appointment()
    assert appointment.status == AppointmentStatus.BOOKED
    assert [m.kind for m in messages("confirmation", "confirm_email")] == ["confirmation"]


def test_an_admin_turns_it_on_from_the_settings_page(admin_client, demo):
    page = admin_client.get("/diary/settings").get_data(as_text=True)
    assert "New patients confirm their email address before an online booking is kept" in page
    assert "held for 30 minutes" in page
    assert post_settings(admin_client, email_confirmation_for_new_patients="y").status_code == 302
    db.session.expire_all()
    assert clinic_settings().email_confirmation_for_new_patients is True
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "clinic_settings.changed")
    )
    assert "email_confirmation_for_new_patients" in event.details["changes"]


def test_a_new_patient_is_held_until_the_link_is_opened_which_books_it_once(client, demo):
    require_confirmation()
    before = utcnow()
    response = submit_details(client, details_url(slot()))
    assert response.status_code == 302
    appointment = the_appointment()
    assert appointment.status == AppointmentStatus.HELD
    assert appointment.hold_reason == HoldReason.EMAIL_CONFIRMATION
    held = appointment.held_until - before
    assert timedelta(minutes=29) < held <= timedelta(minutes=31), held
    # Nothing is booked yet: no confirmation, no invitation, no word to reception.
    assert messages("confirmation", "reception_booked") == []

    page = client.get(response.location).get_data(as_text=True)
    shown = HELD_SENTENCE.search(page)
    assert shown, page
    local = appointment.held_until.astimezone(clinic_settings().zone)
    assert shown.group(1) == local.strftime("%H:%M")
    assert "You are booked" not in page
    # The manage page says the same, and offers no change to a booking not yet made.
    manage = client.get("/manage/" + response.location.rsplit("/", 1)[1]).get_data(as_text=True)
    assert HELD_SENTENCE.search(manage) and "Cancel this appointment" not in manage

    [email] = messages("confirm_email")
    assert email.recipient == "priya.shah@example.org"
    assert email.ics is None
    assert f"until {shown.group(1)}" in email.text_body
    assert "Confirm your booking" in email.html_body
    link = confirm_link()
    assert appointment_uid_from_confirm_email_token(link.rsplit("/", 1)[1]) == appointment.uid

    # Opening the link (as a mail scanner does before the patient) only shows the button.
    for _ in range(2):
        shown = client.get(link)
        assert shown.status_code == 200
        assert "Confirm my booking" in shown.get_data(as_text=True)
    assert the_appointment().status == AppointmentStatus.HELD
    assert the_appointment().patient.email_confirmed_at is None
    assert messages("confirmation", "reception_booked") == []

    opened = press_confirm(client, link)
    assert opened.status_code == 303 and opened.location.startswith("/book/confirmed/")
    assert "You are booked" in client.get(opened.location).get_data(as_text=True)
    appointment = the_appointment()
    assert appointment.status == AppointmentStatus.BOOKED and appointment.held_until is None
    assert appointment.patient.email_confirmed_at is not None
    [confirmation] = messages("confirmation")
    assert confirmation.ics is not None and "METHOD:REQUEST" in confirmation.ics
    assert len(messages("reception_booked")) == 1

    # Opening it again lands on the same page (the result) and changes nothing.
    again = client.get(link)
    booked = appointment_opened_by(opened.location)
    assert booked == appointment.uid
    assert again.status_code == 302 and appointment_opened_by(again.location) == booked
    # A second press (a double tap) changes nothing either.
    pressed_again = client.post(link, data={"csrf_token": csrf_token(shown.get_data(as_text=True))})
    assert pressed_again.status_code == 303
    assert appointment_opened_by(pressed_again.location) == booked
    assert len(messages("confirmation")) == 1 and len(messages("reception_booked")) == 1
    assert the_appointment().status == AppointmentStatus.BOOKED


def test_a_confirmed_address_books_at_once_next_time(client, demo):
    require_confirmation()
    submit_details(client, details_url(slot(9)))
    press_confirm(client, confirm_link())
    # Same address, typed differently: booked straight away.
    submit_details(client, details_url(slot(14)), email=" PRIYA.shah@example.org ")
    second = the_appointment()
    assert second.starts_at == slot(14)
    assert second.status == AppointmentStatus.BOOKED
    assert len(messages("confirm_email")) == 1


def test_a_patient_who_has_come_to_the_clinic_is_not_asked(client, demo, make_staff):
    require_confirmation()
    patient = Patient(name="Priya Shah", email="priya.shah@example.org", phone="07700 900123")
    db.session.add(patient)
    db.session.commit()
    earlier = book_appointment(
        session_type=db.session.scalar(sa.select(SessionType).filter_by(slug="massage")),
        starts_at=slot(16),
        practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
        patient=patient,
        source="staff",
    )
    assert earlier.status == AppointmentStatus.BOOKED  # staff bookings are never held
    # Before they come, an online booking is still held for the address's confirmation.
    assert submit_details(client, details_url(slot(9))).status_code == 302
    assert the_appointment().status == AppointmentStatus.HELD
    record_attendance(
        db.session.get(Appointment, earlier.id),
        AppointmentStatus.ATTENDED,
        staff_user=make_staff("receptionist"),
        now=slot(16) + timedelta(hours=1),
    )
    assert submit_details(client, details_url(slot(11))).status_code == 302
    assert the_appointment().status == AppointmentStatus.BOOKED


def test_an_unopened_link_lets_the_time_go_and_then_says_so(client, demo):
    require_confirmation()
    submit_details(client, details_url(slot()))
    appointment = the_appointment()
    link = confirm_link()

    assert release_expired_holds(utcnow() + timedelta(minutes=20)) == 0  # not yet
    assert release_expired_holds(appointment.held_until + timedelta(seconds=1)) == 1
    assert the_appointment().status == AppointmentStatus.CANCELLED
    [released] = messages("hold_released")
    assert "did not arrive in time" in released.text_body

    page = client.get(link)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Your time was released" in text and "nothing is booked" in text
    day = slot().astimezone(clinic_settings().zone).date().isoformat()
    times = f"/book/full-combination/times?practitioner=colette-assor&first={day}&day={day}#times"
    assert times in text.replace("&amp;", "&")
    # Opening it changed nothing: still released, nothing confirmed.
    assert the_appointment().status == AppointmentStatus.CANCELLED
    assert messages("confirmation") == []
    # The time is free for anyone again.
    assert submit_details(client, details_url(slot()), email="next@example.org").status_code == 302


def test_a_hold_not_yet_released_is_kept_by_a_late_opening(client, demo):
    """Just past the time, before the worker's next turn, nobody else could take it."""
    require_confirmation()
    submit_details(client, details_url(slot()))
    link = confirm_link()
    appointment = the_appointment()
    appointment.held_until = utcnow() - timedelta(seconds=5)
    db.session.commit()
    assert press_confirm(client, link).status_code == 303
    assert the_appointment().status == AppointmentStatus.BOOKED


def test_a_tampered_link_or_another_links_token_is_not_found(client, demo):
    require_confirmation()
    response = submit_details(client, details_url(slot()))
    link = confirm_link()
    assert client.get(link[:-2] + "xx").status_code == 404
    # The page's manage token names the same appointment, under another salt.
    manage = response.location.rsplit("/", 1)[1]
    assert client.get(f"/book/confirm-email/{manage}").status_code == 404
    assert client.post(f"/book/confirm-email/{manage}").status_code in (400, 404)
    assert the_appointment().status == AppointmentStatus.HELD


def test_the_button_without_its_form_token_books_nothing(client, demo):
    require_confirmation()
    submit_details(client, details_url(slot()))
    link = confirm_link()
    refused = client.post(link, data={})
    assert refused.status_code == 400
    assert the_appointment().status == AppointmentStatus.HELD
    assert messages("confirmation") == []


def test_staff_bookings_and_course_sessions_are_not_held(app, demo):
    require_confirmation()
    appointment = book_appointment(
        session_type=db.session.scalar(sa.select(SessionType).filter_by(slug="massage")),
        starts_at=slot(9),
        practitioner=db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor")),
        patient=PatientDetails("Desk Caller", "desk@example.org", "07700900555"),
        source="staff",
    )
    assert appointment.status == AppointmentStatus.BOOKED
    assert messages("confirm_email") == []


def test_a_held_booking_counts_against_the_cap(client, demo, app):
    require_confirmation()
    saved = app.config["ONLINE_HOLDS_PER_CONTACT"]
    app.config["ONLINE_HOLDS_PER_CONTACT"] = 1
    try:
        assert submit_details(client, details_url(slot(9))).status_code == 302
        refused = submit_details(client, details_url(slot(14)))
        assert refused.status_code == 409
        assert "the most we hold online for one person" in refused.get_data(as_text=True)
    finally:
        app.config["ONLINE_HOLDS_PER_CONTACT"] = saved


def test_the_emails_reach_a_real_mail_server(client, demo, mail_app, smtp_server):
    require_confirmation()
    submit_details(client, details_url(slot()))
    assert send_due().sent == 1
    [message] = smtp_server.to("priya.shah@example.org")
    assert message["Subject"].startswith("Confirm your booking: Full combination session on ")
    [link] = set(CONFIRM_LINK.findall(plain_text(message)))
    assert link in html_text(message)
    press_confirm(client, "/book/confirm-email/" + link.rsplit("/", 1)[1])
    assert send_due().sent == 2  # the confirmation and reception's notice
    subjects = [m["Subject"].split(":")[0] for m in smtp_server.to("priya.shah@example.org")]
    assert subjects == ["Confirm your booking", "Booked"]


def test_two_openings_at_once_book_it_once(app, client, demo):
    """A double tap on the email's button: both requests land on the booking, one sent."""
    require_confirmation()
    submit_details(client, details_url(slot()))
    token = confirm_link().rsplit("/", 1)[1]
    appointment_id = the_appointment().id
    db.session.remove()

    def attempt(_number: int) -> str:
        uid = appointment_uid_from_confirm_email_token(token)
        appointment = db.session.scalar(sa.select(Appointment).filter_by(uid=uid))
        return confirm_from_link(appointment, now=utcnow()).value

    outcomes = race(app, 2, attempt)

    assert sorted(outcomes) == ["already", "booked"], outcomes
    assert db.session.get(Appointment, appointment_id).status == AppointmentStatus.BOOKED
    assert len(messages("confirmation")) == 1 and len(messages("reception_booked")) == 1
