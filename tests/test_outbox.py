"""Delivery: mail survives an SMTP outage, goes out exactly once, and failures reach staff."""

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.clinic import email_sender, outbox
from booking.clinic.appointments import (
    PatientDetails,
    book_appointment,
    cancel_appointment,
    move_appointment,
)
from booking.clinic.outbox import (
    MAX_ATTEMPTS,
    claim,
    queue_reminders,
    retry_delay,
    send_due,
)
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    OutboxMessage,
    OutboxStatus,
    Patient,
    Practitioner,
    SessionType,
)
from tests.fixtures_mail import plain_text
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def next_tuesday_at_nine() -> datetime:
    day = datetime.now(LONDON).date() + timedelta(days=3)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 9, tzinfo=LONDON).astimezone(UTC)


def book_online(name="Priya Shah", email="priya@example.org", starts_at=None):
    return book_appointment(
        session_type=get(SessionType, slug="massage"),
        starts_at=starts_at or next_tuesday_at_nine(),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails(name, email, "07700 900123"),
    )


def queue_plain(count: int) -> None:
    """`count` ready-made messages: the sender only sends what the hooks rendered."""
    for number in range(count):
        db.session.add(
            OutboxMessage(
                kind="test",
                dedupe_key=f"test:{number}",
                recipient=f"patient{number}@example.org",
                subject=f"Message {number}",
                text_body=f"Body {number}",
                html_body=f"<p>Body {number}</p>",
            )
        )
    db.session.commit()


def test_backoff_doubles_and_is_capped():
    assert [retry_delay(n) for n in range(1, 5)] == [timedelta(minutes=m) for m in (2, 4, 8, 16)]
    assert retry_delay(20) == timedelta(hours=2)


def test_mail_queued_during_an_smtp_outage_is_delivered_exactly_once_afterwards(
    mail_app, demo, smtp_server
):
    smtp_server.stop()
    book_online()
    started = utcnow()

    report = send_due()
    assert (report.sent, report.retrying, report.failed) == (0, 2, 0)
    for message in rows():
        assert message.status == OutboxStatus.PENDING
        assert message.attempts == 1
        assert "Connection refused" in message.last_error or "ConnectionRefused" in (
            message.last_error
        )
        assert message.next_attempt_at >= started + retry_delay(1)
        assert message.claimed_until is None

    smtp_server.start()
    # Not yet due: the worker waits for the backoff rather than hammering the server.
    assert send_due().attempted == 0
    assert smtp_server.deliveries == []

    later = utcnow() + retry_delay(1) + timedelta(seconds=1)
    assert send_due(later).sent == 2
    assert send_due(later + timedelta(hours=3)).attempted == 0

    deliveries = smtp_server.deliveries
    assert sorted(d.recipients[0] for d in deliveries) == [
        "priya@example.org",
        "reception@clinic.example",
    ]
    message_ids = [d.message["Message-ID"] for d in deliveries]
    assert len(set(message_ids)) == 2
    for message in rows():
        assert message.status == OutboxStatus.SENT
        assert message.attempts == 2
        assert message.sent_at == later
        assert message.last_error == ""


def test_a_long_running_worker_still_sends_after_its_first_pass(mail_app, demo, smtp_server):
    """`flask outbox run` keeps one app context for its whole life and removes the session
    after each pass: mail queued later must still be sent (it failed with the settings
    object of a removed session, DetachedInstanceError, so `make run` sent nothing)."""
    book_online()
    assert send_due().sent == 2
    db.session.remove()  # the end of the worker's first pass
    with mail_app.app_context():  # meanwhile the site takes another booking
        book_online("Tom Hartley", "tom@example.org", next_tuesday_at_nine() + timedelta(hours=2))
    report = send_due()
    assert (report.sent, report.retrying, report.failed) == (2, 0, 0)
    assert "tom@example.org" in [d.recipients[0] for d in smtp_server.deliveries]


def test_every_attempt_keeps_the_same_message_id(mail_app, demo, smtp_server):
    queue_plain(1)
    [message] = rows()
    first = email_sender.outgoing(message).message_id
    assert email_sender.outgoing(message).message_id == first
    send_due()
    assert smtp_server.messages[0]["Message-ID"] == first


def test_two_workers_sending_at_once_deliver_each_message_once(mail_app, demo, smtp_server):
    total = 24
    queue_plain(total)
    smtp_server.slow_down(0.02)
    start_together = threading.Barrier(2)
    reports, errors = [], []

    def worker():
        try:
            with mail_app.app_context():
                start_together.wait()
                reports.append(send_due(batch_size=1))
                db.session.remove()
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(r.sent for r in reports) and sum(r.sent for r in reports) == total
    assert all(r.sent > 0 for r in reports), "both workers should have taken part"

    subjects = [message["Subject"] for message in smtp_server.messages]
    assert sorted(subjects) == sorted(f"Message {n}" for n in range(total))
    assert all(m.status == OutboxStatus.SENT and m.attempts == 1 for m in rows())


def test_two_workers_claiming_at_once_never_share_a_message(app, demo):
    queue_plain(30)
    start_together = threading.Barrier(2)
    claims, errors = [], []

    def worker():
        try:
            with app.app_context():
                start_together.wait()
                mine = []
                for _ in range(30):  # bounded, so that a broken claim fails rather than hangs
                    batch = claim(limit=3)
                    if not batch:
                        break
                    mine += [message_id for message_id, _ in batch]
                claims.append(mine)
                db.session.remove()
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    first, second = claims
    assert set(first).isdisjoint(second)
    assert sorted(first + second) == [m.id for m in rows()]


def test_a_message_that_keeps_failing_is_marked_failed_shown_to_staff_and_can_be_retried(
    mail_app, demo, smtp_server, client, make_staff, sign_in
):
    smtp_server.stop()
    queue_plain(1)
    moment = utcnow()
    for _ in range(MAX_ATTEMPTS + 2):
        send_due(moment)
        moment += timedelta(hours=3)
    [message] = rows()
    assert message.status == OutboxStatus.FAILED
    assert message.attempts == MAX_ATTEMPTS
    assert message.last_error
    assert outbox.failed_count() == 1

    receptionist = make_staff("receptionist")
    sign_in(client, receptionist)
    page = client.get("/diary/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Failed (1)" in html and "Message 0" in html and "patient0@example.org" in html

    retried = client.post(
        f"/diary/outbox/{message.id}/retry", data={"csrf_token": csrf_token(html)}
    )
    assert retried.status_code == 302
    [message] = rows()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)

    smtp_server.start()
    assert send_due().sent == 1
    assert [m["Subject"] for m in smtp_server.messages] == ["Message 0"]
    assert "Nothing is waiting" in client.get("/diary/outbox").get_data(as_text=True)


def test_the_outbox_page_is_for_the_front_desk_only(client, demo, make_staff, sign_in):
    assert client.get("/diary/outbox").status_code == 302  # to sign in
    colette = get(Practitioner, slug="colette-assor")
    sign_in(client, make_staff("practitioner", practitioner=colette))
    assert client.get("/diary/outbox").status_code == 403


def _appointment(starts_in: timedelta, *, now, email="priya@example.org", booked_ago=None):
    patient = Patient(name="Priya Shah", email=email)
    session_type = get(SessionType, slug="massage")
    starts_at = now + starts_in
    appointment = Appointment(
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=patient,
        session_type=session_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=45),
        created_at=now - (booked_ago or timedelta(days=7)),
    )
    db.session.add(appointment)
    db.session.commit()
    return appointment


def test_reminders_are_queued_once_for_appointments_inside_the_window(mail_app, demo, smtp_server):
    now = utcnow().replace(microsecond=0)
    due = _appointment(timedelta(hours=20), now=now)
    _appointment(timedelta(hours=30), now=now)  # not yet
    _appointment(timedelta(hours=-2), now=now)  # already happened
    _appointment(timedelta(hours=10), now=now, email=None)  # nobody to write to
    _appointment(timedelta(hours=5), now=now, booked_ago=timedelta(hours=1))  # just confirmed
    cancelled = _appointment(timedelta(hours=12), now=now)
    cancel_appointment(cancelled, staff_user=None, now=now - timedelta(days=3))
    sent_before = len(rows())

    assert queue_reminders(now) == 1
    assert queue_reminders(now) == 0
    assert queue_reminders(now + timedelta(minutes=30)) == 0
    reminders = [m for m in rows() if m.kind == "reminder"]
    assert [m.appointment_id for m in reminders] == [due.id]
    assert len(rows()) == sent_before + 1

    send_due()
    [reminder] = [m for m in smtp_server.messages if m["Subject"].startswith("Reminder")]
    text = plain_text(reminder)
    local = due.starts_at.astimezone(LONDON)
    assert f"at {local:%H:%M} ({local:%Z})" in text
    assert "/manage/" in text


def test_the_reminder_window_comes_from_the_clinic_settings(app, demo):
    from booking.clinic.settings import clinic_settings

    clinic_settings().reminder_hours_before = 48
    db.session.commit()
    now = utcnow()
    _appointment(timedelta(hours=40), now=now)
    assert queue_reminders(now) == 1


def test_the_flask_outbox_commands_send_and_remind(mail_app, demo, smtp_server):
    now = utcnow()
    _appointment(timedelta(hours=20), now=now)
    runner = mail_app.test_cli_runner()
    result = runner.invoke(args=["outbox", "remind"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 reminder." in result.output
    assert "Queued 0 reminders." in runner.invoke(args=["outbox", "remind"]).output

    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 1;" in result.output
    assert len(smtp_server.messages) == 1


def test_a_queued_reminder_is_withdrawn_when_the_appointment_is_cancelled_or_moved(
    mail_app, demo, smtp_server, make_staff
):
    from booking.clinic import availability

    colette = get(Practitioner, slug="colette-assor")
    massage = get(SessionType, slug="massage")
    soon = utcnow().date() + timedelta(days=3)
    free = availability.practitioner_free_starts(
        colette, massage, soon, soon + timedelta(days=7), now=utcnow()
    )
    first, second, third = [start for day in sorted(free) for start in free[day]][::8][:3]
    desk = make_staff()
    details = PatientDetails("Priya Shah", "priya@example.org", "07700900123")
    cancelled, moved = (
        book_appointment(
            session_type=massage, starts_at=start, practitioner=colette, patient=details
        )
        for start in (first, second)
    )
    assert queue_reminders(second - timedelta(hours=20)) == 2

    cancel_appointment(cancelled, staff_user=desk)
    move_appointment(moved, starts_at=third, staff_user=desk)
    assert [m for m in rows() if m.kind == "reminder"] == []

    send_due()
    assert not [m for m in smtp_server.messages if m["Subject"].startswith("Reminder")]
