"""Invitations as real calendars receive them: read from the mail the way Outlook and
Gmail find them, parsed by a strict independent parser (the `ical` package), and
stored in a real CalDAV server (Radicale) as a calendar client applies an iTIP
message: one resource per UID, replaced by a later SEQUENCE.
"""

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from ical.calendar_stream import IcsCalendarStream

from booking.clinic import course_plans, courses
from booking.clinic.appointments import PatientDetails, cancel_appointment, move_appointment
from booking.clinic.outbox import send_due
from booking.extensions import db
from booking.models import CourseProduct, Practitioner
from tests.fixtures_mail import calendar_part

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 9, 1, 9, tzinfo=UTC)
FIRST_TUESDAY = date(2026, 9, 15)
PATIENT = PatientDetails("Course Patient", "course@example.org", "07700 900100")


def _local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON).astimezone(UTC)


def _as_stored_resource(data: bytes) -> bytes:
    """What a client stores on receiving an iTIP message: the object without METHOD.

    RFC 4791 4.1: calendar object resources carry no METHOD property.
    """
    lines = data.decode().split("\r\n")
    return "\r\n".join(line for line in lines if not line.startswith("METHOD:")).encode()


def test_a_course_plan_a_move_and_a_cancellation_reach_a_caldav_server_one_per_session(
    mail_app, demo, smtp_server, caldav_server, make_staff
):
    staff = make_staff("receptionist")
    product = db.session.scalar(sa.select(CourseProduct))
    colette = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
    course = courses.sell_course(
        product, PATIENT, staff_user=staff, payment_reference="card 1234", now=NOW
    )
    # Ten Tuesdays at 10:00, across the October clock change.
    starts = [_local(FIRST_TUESDAY + timedelta(weeks=n), 10) for n in range(10)]
    sessions = course_plans.book_plan(
        course, practitioner=colette, starts=starts, now=NOW, staff_user=staff
    )
    assert send_due().sent == 12  # "course ready", the summary and ten invitations
    fourth, seventh = sessions[3], sessions[6]
    moved_to = _local(FIRST_TUESDAY + timedelta(weeks=3, days=1), 10)  # the Wednesday
    move_appointment(fourth, starts_at=moved_to, staff_user=staff, now=NOW)
    cancel_appointment(seventh, staff_user=staff, now=NOW)
    assert send_due().sent == 2

    mails = smtp_server.to(PATIENT.email)
    invitations = [m for m in mails if m.get_content_type() == "multipart/mixed"]
    assert len(mails) == 14 and len(invitations) == 12
    collection = caldav_server.make_calendar("patient")
    methods = []
    for message in invitations:  # in the order they were sent
        assert message["Reply-To"] == "reception@clinic.example"
        assert message["Auto-Submitted"] == "auto-generated"
        part = calendar_part(message)
        data = part.get_payload(decode=True)
        strict = IcsCalendarStream.calendar_from_ics(data.decode())
        [event] = strict.events  # one UID per iTIP object
        assert str(strict.method) == part.get_param("method")
        methods.append(part.get_param("method"))
        assert event.organizer.uri == "mailto:reception@clinic.example"
        status = caldav_server.put(f"{collection}{quote(event.uid)}.ics", _as_stored_resource(data))
        assert status in (201, 204), status
    assert methods == ["REQUEST"] * 11 + ["CANCEL"]

    hrefs = caldav_server.resources(collection)
    assert len(hrefs) == 10  # one resource per session, the move and cancel replaced theirs
    stored = {}
    for href in hrefs:
        [event] = IcsCalendarStream.calendar_from_ics(caldav_server.get(href).decode()).events
        stored[event.uid.split("@")[0]] = event
    assert set(stored) == {session.uid for session in sessions}
    for session in sessions:
        event = stored[session.uid]
        if session is fourth:
            assert event.sequence == 1
            assert event.dtstart.astimezone(UTC) == moved_to
        elif session is seventh:
            assert event.sequence == 1
            assert event.status.value == "CANCELLED"
        else:
            assert event.sequence == 0
            assert event.dtstart.astimezone(UTC) == session.starts_at
            assert event.status.value == "CONFIRMED"
        assert event.classification.value == "PRIVATE"


def test_a_caldav_server_refuses_one_object_holding_several_uids(caldav_server):
    """The old course-plan invitation (ten UIDs in one object) cannot be stored as one."""
    collection = caldav_server.make_calendar("patient")
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:session-{n}@clinic-booking\r\nDTSTAMP:20260901T090000Z\r\n"
        f"DTSTART:2026091{n}T090000Z\r\nDTEND:2026091{n}T103000Z\r\nSUMMARY:Session\r\n"
        "END:VEVENT\r\n"
        for n in (5, 6)
    )
    data = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n"
    assert caldav_server.put(f"{collection}plan.ics", data.encode()) >= 400


def test_a_booking_its_move_and_its_cancellation_replace_one_resource(
    mail_app, demo, smtp_server, caldav_server
):
    from booking.clinic.appointments import book_appointment
    from booking.models import SessionType

    colette = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
    kind = db.session.scalar(sa.select(SessionType).filter_by(slug="full-combination"))
    appointment = book_appointment(
        session_type=kind,
        starts_at=_local(FIRST_TUESDAY, 10),
        practitioner=colette,
        patient=PATIENT,
        now=NOW,
    )
    move_appointment(appointment, starts_at=_local(FIRST_TUESDAY, 14), now=NOW)
    cancel_appointment(appointment, now=NOW)
    send_due()
    invitations = [
        m for m in smtp_server.to(PATIENT.email) if m.get_content_type() == "multipart/mixed"
    ]
    assert len(invitations) == 3
    collection = caldav_server.make_calendar("patient")
    for message in invitations:
        data = calendar_part(message).get_payload(decode=True)
        [event] = IcsCalendarStream.calendar_from_ics(data.decode()).events
        path = f"{collection}{quote(event.uid)}.ics"
        assert caldav_server.put(path, _as_stored_resource(data)) in (201, 204)
    [href] = caldav_server.resources(collection)
    [stored] = IcsCalendarStream.calendar_from_ics(caldav_server.get(href).decode()).events
    assert stored.sequence == 2 and stored.status.value == "CANCELLED"
    assert stored.dtstart.astimezone(UTC) == _local(FIRST_TUESDAY, 14)
