"""What patients and reception receive: confirmations, moves, cancellations, course mail.

Mail goes through the real outbox worker to a real SMTP server; the .ics
attachments are read back with the independent parser in tests/ical_parser.py.
"""

import subprocess
import sys
import time as clock
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from ical.calendar_stream import IcsCalendarStream

from booking.clinic import notifications
from booking.clinic.appointments import (
    PatientDetails,
    SlotTaken,
    book_appointment,
    cancel_appointment,
    move_appointment,
)
from booking.clinic.outbox import send_due
from booking.extensions import db
from booking.models import (
    Appointment,
    Course,
    CourseProduct,
    OutboxMessage,
    Patient,
    Practitioner,
    SessionType,
)
from tests.fixtures_mail import (
    attachments,
    calendar_attachment,
    calendar_part,
    free_port,
    html_text,
    plain_text,
)
from tests.ical_parser import parse_calendar, physical_lines_longer_than

LONDON = ZoneInfo("Europe/London")
# A month before the autumn clock change of 2026 (Sunday 25 October, 02:00 BST -> 01:00 GMT).
BEFORE_THE_CHANGE = datetime(2026, 10, 1, 9, tzinfo=UTC)
FRIDAY_BEFORE = datetime(2026, 10, 23, 10, tzinfo=LONDON)  # 09:00 UTC (BST)
FRIDAY_AFTER = datetime(2026, 10, 30, 10, tzinfo=LONDON)  # 10:00 UTC (GMT)
PRIYA = PatientDetails("Priya Shah", "priya@example.org", "07700 900123")
HEALTH_NOTE = "Shooting pain down the left leg since March"


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def outbox_rows() -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def book(starts_at: datetime, patient=PRIYA, *, session="full-combination", **options):
    return book_appointment(
        session_type=get(SessionType, slug=session),
        starts_at=starts_at.astimezone(UTC),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=patient,
        now=options.pop("now", BEFORE_THE_CHANGE),
        **options,
    )


def invitation_of(message):
    part = calendar_part(message)
    data = part.get_payload(decode=True)
    # The attached copy is the same calendar, byte for byte.
    assert calendar_attachment(message).get_payload(decode=True) == data
    # A strict, independent parser reads it too, as one iTIP object with one event.
    assert len(IcsCalendarStream.calendar_from_ics(data.decode()).events) == 1
    return part, data, parse_calendar(data)


def test_an_online_booking_sends_a_branded_confirmation_with_an_invitation(
    mail_app, demo, smtp_server, client
):
    appointment = book(FRIDAY_BEFORE, patient_note=HEALTH_NOTE)

    # Queued in the booking's own transaction, sent only by the worker.
    assert [row.kind for row in outbox_rows()] == ["confirmation", "reception_booked"]
    assert smtp_server.messages == []
    report = send_due()
    assert (report.sent, report.retrying, report.failed) == (2, 0, 0)

    [confirmation] = smtp_server.to("priya@example.org")
    assert "Friday 23 October 2026 at 10:00" in confirmation["Subject"]
    assert (
        confirmation["From"].addresses[0].display_name == "North West London Physiotherapy Centre"
    )
    text, html = plain_text(confirmation), html_text(confirmation)
    for body in (text, html):
        assert "North West London Physiotherapy Centre" in body
        assert "Friday 23 October 2026 at 10:00 (BST)" in body
        assert "Full combination session" in body and "Colette Assor" in body
        assert "12 Example Road, London NW0 0AA" in body
        assert "list of any medicines you take" in body  # what to bring
        assert "Ring the bell marked" in body  # directions
    assert HEALTH_NOTE not in text and HEALTH_NOTE not in html

    # The manage-my-booking link in the email opens this appointment's page.
    manage_link = next(line for line in text.splitlines() if "/manage/" in line).strip()
    assert manage_link.startswith("http://127.0.0.1:5000/manage/")
    assert f'href="{manage_link}"' in html
    page = client.get(manage_link.removeprefix("http://127.0.0.1:5000"))
    assert page.status_code == 200 and "Friday 23 October 2026" in page.get_data(as_text=True)

    part, data, calendar = invitation_of(confirmation)
    assert part.get_param("method") == "REQUEST"
    assert calendar_attachment(confirmation).get_filename() == "invite.ics"
    assert physical_lines_longer_than(data) == []
    assert calendar.value("METHOD") == "REQUEST"
    [event] = calendar.components_named("VEVENT")
    assert appointment.uid in event.value("UID")
    assert event.value("SEQUENCE") == "0"
    assert event.instant("DTSTART") == datetime(2026, 10, 23, 9, tzinfo=UTC)
    assert event.instant("DTEND") == datetime(2026, 10, 23, 10, 30, tzinfo=UTC)
    assert "mailto:priya@example.org" in event.value("ATTENDEE").lower()
    assert event.get("ORGANIZER") is not None
    assert calendar.components_named("VTIMEZONE")

    [notice] = smtp_server.to("reception@clinic.example")
    notice_text = plain_text(notice)
    assert "Priya Shah" in notice_text and "priya@example.org" in notice_text
    assert "Friday 23 October 2026 at 10:00 (BST)" in notice_text
    assert HEALTH_NOTE not in notice_text and HEALTH_NOTE not in html_text(notice)
    assert attachments(notice) == []


def test_invitations_keep_local_time_across_the_clocks_changing(mail_app, demo, smtp_server):
    before = book(FRIDAY_BEFORE)
    after = book(FRIDAY_AFTER)
    send_due()

    by_uid = {}
    for message in smtp_server.to("priya@example.org"):
        _, _, calendar = invitation_of(message)
        [event] = calendar.components_named("VEVENT")
        by_uid[event.value("UID")] = (event, plain_text(message))
        # Written as local time with the clinic's zone, which the calendar defines.
        tzid = event.get("DTSTART").param("TZID")
        assert tzid == "Europe/London"
        assert [tz.value("TZID") for tz in calendar.components_named("VTIMEZONE")] == [tzid]
        assert event.value("DTSTART").endswith("T100000")

    [(event_before, text_before)] = [v for k, v in by_uid.items() if before.uid in k]
    [(event_after, text_after)] = [v for k, v in by_uid.items() if after.uid in k]
    assert event_before.instant("DTSTART") == datetime(2026, 10, 23, 9, tzinfo=UTC)
    assert event_after.instant("DTSTART") == datetime(2026, 10, 30, 10, tzinfo=UTC)
    assert "Friday 23 October 2026 at 10:00 (BST)" in text_before
    assert "Friday 30 October 2026 at 10:00 (GMT)" in text_after


def test_moving_sends_an_updated_request_and_cancelling_a_cancel_with_the_same_uid(
    mail_app, demo, smtp_server
):
    appointment = book(FRIDAY_BEFORE)
    move_appointment(appointment, starts_at=FRIDAY_AFTER.astimezone(UTC), now=BEFORE_THE_CHANGE)
    cancel_appointment(appointment, now=BEFORE_THE_CHANGE)
    send_due()

    mails = smtp_server.to("priya@example.org")
    assert len(mails) == 3
    invitations = [invitation_of(message) for message in mails]
    events = [calendar.components_named("VEVENT")[0] for _, _, calendar in invitations]
    methods = [calendar.value("METHOD") for _, _, calendar in invitations]
    by_sequence = {
        int(event.value("SEQUENCE")): (method, event)
        for method, event in zip(methods, events, strict=True)
    }
    assert sorted(by_sequence) == [0, 1, 2]
    assert len({event.value("UID") for event in events}) == 1

    method, moved = by_sequence[1]
    assert method == "REQUEST"
    assert moved.instant("DTSTART") == datetime(2026, 10, 30, 10, tzinfo=UTC)
    [moved_mail] = [m for m in mails if m["Subject"].startswith("Moved")]
    assert "Friday 30 October 2026 at 10:00 (GMT)" in plain_text(moved_mail)

    method, cancelled = by_sequence[2]
    assert method == "CANCEL"
    assert cancelled.value("STATUS") == "CANCELLED"
    [cancel_mail] = [m for m in mails if m["Subject"].startswith("Cancelled")]
    assert calendar_attachment(cancel_mail).get_filename() == "cancel.ics"
    assert calendar_part(cancel_mail).get_param("method") == "CANCEL"

    # Reception hears of each change the patient made online, without any calendar file.
    reception = smtp_server.to("reception@clinic.example")
    assert sorted(m["Subject"].split(":")[0] for m in reception) == [
        "Cancelled online",
        "Moved online",
        "New online booking",
    ]
    assert all(attachments(m) == [] for m in reception)


def test_staff_bookings_confirm_to_the_patient_but_do_not_notify_reception(
    mail_app, demo, smtp_server, make_staff
):
    receptionist = make_staff("receptionist")
    appointment = book(FRIDAY_BEFORE, source="staff", staff_user=receptionist)
    cancel_appointment(appointment, staff_user=receptionist, now=BEFORE_THE_CHANGE)
    send_due()
    assert sorted(m["Subject"].split(":")[0] for m in smtp_server.messages) == [
        "Booked",
        "Cancelled",
    ]
    assert smtp_server.to("reception@clinic.example") == []


def test_a_patient_without_an_email_gets_no_mail_and_reception_still_hears(
    mail_app, demo, smtp_server
):
    book(FRIDAY_BEFORE, patient=PatientDetails("Arthur Dent", None, "07700 900456"))
    assert [row.kind for row in outbox_rows()] == ["reception_booked"]
    send_due()
    assert [m["To"] for m in smtp_server.messages] == ["reception@clinic.example"]
    assert "no email" in plain_text(smtp_server.messages[0])


def test_a_booking_that_fails_queues_no_mail(mail_app, demo, smtp_server):
    book(FRIDAY_BEFORE)
    with pytest.raises(SlotTaken):
        book(FRIDAY_BEFORE, patient=PatientDetails("Late Comer", "late@example.org", None))
    assert [row.recipient for row in outbox_rows()] == [
        "priya@example.org",
        "reception@clinic.example",
    ]


def test_queueing_the_same_message_twice_keeps_one(app, demo):
    appointment = book(FRIDAY_BEFORE)
    db.session.refresh(appointment)
    notifications.appointment_booked(appointment)  # as a retried transaction would
    db.session.commit()
    assert len(outbox_rows()) == 2


def _course_with_sessions(starts: list[datetime]) -> tuple[Course, list[Appointment]]:
    product = db.session.scalar(sa.select(CourseProduct))
    patient = Patient(name="Priya Shah", email="priya@example.org", phone="07700 900123")
    course = Course(
        patient=patient,
        product=product,
        session_type=product.session_type,
        status="active",
        sessions_total=product.sessions_count,
        credits_remaining=product.sessions_count - len(starts),
        price_pence=product.price_pence,
        paid_at=BEFORE_THE_CHANGE,
        expires_at=BEFORE_THE_CHANGE + timedelta(days=product.validity_days),
    )
    colette = get(Practitioner, slug="colette-assor")
    appointments = [
        Appointment(
            practitioner=colette,
            patient=patient,
            session_type=product.session_type,
            course=course,
            starts_at=start.astimezone(UTC),
            ends_at=start.astimezone(UTC) + timedelta(minutes=90),
            source="course_plan",
        )
        for start in starts
    ]
    db.session.add_all([course, *appointments])
    db.session.flush()
    return course, appointments


def test_a_planned_course_sends_a_summary_and_one_invitation_per_session(
    mail_app, demo, smtp_server
):
    starts = [FRIDAY_BEFORE + timedelta(weeks=week) for week in range(4)]
    course, appointments = _course_with_sessions(starts)
    for appointment in appointments:
        notifications.appointment_booked(appointment)  # course sessions: no mail each
    notifications.course_planned(course, appointments)
    notifications.course_planned(course, appointments)  # planning the same again: nothing new
    db.session.commit()
    send_due()

    messages = smtp_server.messages
    assert len(messages) == 5
    [summary] = [m for m in messages if "4 sessions" in m["Subject"]]
    text = plain_text(summary)
    assert "Friday 23 October 2026 at 10:00 (BST)" in text
    assert "Friday 30 October 2026 at 10:00 (GMT)" in text
    assert text.count("/manage/") == 4
    assert summary.get_content_type() == "multipart/alternative"  # no calendar in it
    invitations = [m for m in messages if m is not summary]
    uids = []
    for number, message in enumerate(
        sorted(
            invitations,
            key=lambda m: invitation_of(m)[2].components_named("VEVENT")[0].instant("DTSTART"),
        ),
        start=1,
    ):
        assert message["Subject"].startswith(f"Booked: session {number} of your course")
        _, _, calendar = invitation_of(message)
        assert calendar.value("METHOD") == "REQUEST"
        [event] = calendar.components_named("VEVENT")  # one UID per iTIP object
        assert event.instant("DTSTART") == starts[number - 1].astimezone(UTC)
        uids.append(event.value("UID"))
        assert plain_text(message).count("/manage/") == 1
    assert [sum(a.uid in uid for uid in uids) for a in appointments] == [1, 1, 1, 1]


def test_course_requested_and_activated_tell_the_patient(mail_app, demo, smtp_server):
    course, _ = _course_with_sessions([])
    course.status = "awaiting_payment"
    notifications.course_requested(course)
    db.session.commit()
    course.status = "active"
    notifications.course_activated(course)
    db.session.commit()
    send_due()
    subjects = sorted(m["Subject"] for m in smtp_server.to("priya@example.org"))
    assert subjects == [
        "Your course is ready: Course of 10 full combination sessions",
        "Your request: Course of 10 full combination sessions",
    ]
    [ready] = [m for m in smtp_server.messages if m["Subject"].startswith("Your course is ready")]
    assert "10 of 10 sessions" in plain_text(ready)
    assert len(smtp_server.to("reception@clinic.example")) == 1


def test_the_development_mail_catcher_prints_what_it_receives(mail_app, demo, tmp_path):
    port = free_port()
    log = tmp_path / "mail.log"
    with log.open("w") as output:
        catcher = subprocess.Popen(
            [sys.executable, "-m", "booking.dev_mail"],
            env={"DEV_MAIL_PORT": str(port), "PATH": "/usr/bin:/bin"},
            cwd=Path(__file__).resolve().parent.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = clock.monotonic() + 30  # a loaded machine starts Python slowly
        while "printing every email" not in log.read_text():
            assert clock.monotonic() < deadline and catcher.poll() is None, log.read_text()
            clock.sleep(0.05)
        mail_app.config["MAIL_PORT"] = port
        from booking.extensions import mail

        mail.init_app(mail_app)
        book(FRIDAY_BEFORE)
        assert send_due().sent == 2
        deadline = clock.monotonic() + 30  # a loaded machine starts Python slowly
        while log.read_text().count("Subject:") < 2:
            assert clock.monotonic() < deadline, log.read_text()
            clock.sleep(0.05)
    finally:
        catcher.terminate()
        catcher.wait(timeout=10)
    printed = log.read_text()
    assert "To: priya@example.org" in printed
    assert "Calendar: REQUEST" in printed
    assert "Attachments: invite.ics (application/ics)" in printed
    assert "Friday 23 October 2026 at 10:00 (BST)" in printed


def test_the_independent_ical_reader_follows_rfc_5545():
    data = (
        b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
        b"SUMMARY:Massage\\, then stretc\r\n hing\\nat the clinic\r\n"
        b'ATTENDEE;CN="Shah; Priya: patient";ROLE=REQ-PARTICIPANT:mailto:p@example.org\r\n'
        b"DTSTART;TZID=Europe/London:20261030T100000\r\n"
        b"DTEND:20261023T103000Z\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    [event] = parse_calendar(data).components_named("VEVENT")
    assert event.text("SUMMARY") == "Massage, then stretching\nat the clinic"
    attendee = event.get("ATTENDEE")
    assert attendee.param("CN") == "Shah; Priya: patient"
    assert attendee.value == "mailto:p@example.org"
    assert event.instant("DTSTART") == datetime(2026, 10, 30, 10, tzinfo=UTC)
    assert event.instant("DTEND") == datetime(2026, 10, 23, 10, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="does not close"):
        parse_calendar(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n")
    with pytest.raises(ValueError, match="never closed"):
        parse_calendar(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\n")


def test_the_price_line_matches_the_appointment_at_the_moment_it_is_sent(
    mail_app, demo, smtp_server
):
    appointment = book(FRIDAY_BEFORE, session="massage")
    cancel_appointment(appointment, now=BEFORE_THE_CHANGE)
    send_due()
    [booked] = [m for m in smtp_server.to("priya@example.org") if m["Subject"].startswith("Book")]
    [cancelled] = [
        m for m in smtp_server.to("priya@example.org") if m["Subject"].startswith("Cancelled")
    ]
    assert "to pay at the clinic on the day" in plain_text(booked)
    assert "to pay at the clinic on the day" in html_text(booked)
    for text in (plain_text(cancelled), html_text(cancelled)):
        assert "Nothing to pay: this appointment is cancelled" in text
        assert "paid at the clinic" not in text
