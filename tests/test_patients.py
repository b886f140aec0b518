"""Patients' records: the desk corrects them, hands them over, and an administrator erases them."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.clinic import courses
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Course,
    CourseProduct,
    CreditEntry,
    OutboxAttachment,
    OutboxMessage,
    Patient,
    Practitioner,
    SessionType,
)
from booking.models import Testimonial as Reply
from tests.forms import csrf_token

ADA = {
    "name": "Ada Lovelace",
    "email": "ada@example.org",
    "phone": "07700 900111",
    "staff_notes": "Prefers the quiet room; ring after five",
    "appointment_note": "Sharp pain in the lower back since March",
    "appointment_staff_note": "Referred by her GP",
    "reply": "The exercises helped my back a lot",
}
BOB = {
    "name": "Bob Babbage",
    "email": "bob@example.org",
    "phone": "07700 900999",
    "appointment_note": "Knee gives way on stairs",
    "reply": "Kind staff and a tidy room",
}


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def page_token(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return csrf_token(response.get_data(as_text=True))


def add_appointment(patient: Patient, starts_at: datetime, **extra) -> Appointment:
    """Written straight to the table: past times are refused by the booking rules."""
    session_type = get(SessionType, slug="massage")
    appointment = Appointment(
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=patient,
        session_type=session_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=session_type.duration_minutes),
        source="online",
        **extra,
    )
    db.session.add(appointment)
    db.session.commit()
    return appointment


def add_message(appointment: Appointment | None, **values) -> OutboxMessage:
    message = OutboxMessage(appointment_id=appointment.id if appointment else None, **values)
    db.session.add(message)
    db.session.commit()
    return message


def patient_with_history(person: dict, staff_user, *, days_ago: int) -> dict:
    """A patient with a past appointment, a paid course, a reply and messages, sent and not."""
    patient = Patient(
        name=person["name"],
        email=person["email"],
        phone=person["phone"],
        staff_notes=person.get("staff_notes", ""),
        health_consent_at=datetime(2025, 1, 6, 9, 30, tzinfo=UTC),
    )
    db.session.add(patient)
    db.session.commit()
    last_week = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    appointment = add_appointment(
        patient,
        last_week,
        status=AppointmentStatus.ATTENDED.value,
        patient_note=person["appointment_note"],
        staff_note=person.get("appointment_staff_note", ""),
    )
    # Queues a pending "course activated" message to the patient.
    course = courses.sell_course(
        get(CourseProduct), patient, staff_user=staff_user, payment_reference="card 4242"
    )
    sent = add_message(
        appointment,
        kind="confirmation",
        recipient=person["email"],
        subject="Booked: Massage",
        text_body=f"Dear {person['name']}, see you soon.",
        html_body=f"<p>Dear {person['name']}</p>",
        ics="BEGIN:VCALENDAR\nEND:VCALENDAR",
        ics_method="REQUEST",
        status="sent",
        sent_at=last_week - timedelta(days=2),
    )
    reception_copy = add_message(
        appointment,
        kind="reception_booked",
        recipient="reception@clinic.example",
        subject="New online booking",
        text_body=f"Patient: {person['name']}, {person['email']}, {person['phone']}",
        status="sent",
        sent_at=last_week - timedelta(days=2),
    )
    failed = add_message(
        appointment,
        kind="reminder",
        recipient=person["email"],
        subject="Reminder",
        text_body=f"Dear {person['name']}",
        status="failed",
        last_error=f"550 mailbox {person['email']} unavailable",
    )
    reply = Reply(
        author_name=person["name"].split()[0],
        author_email=person["email"].upper(),
        body_html=f"<p>{person['reply']}</p>",
        status="approved",
    )
    db.session.add(reply)
    db.session.commit()
    return {
        "patient": patient,
        "appointment": appointment,
        "course": course,
        "sent": sent,
        "reception_copy": reception_copy,
        "failed": failed,
        "reply": reply,
    }


@pytest.fixture
def ada(demo, make_staff):
    return patient_with_history(ADA, make_staff("receptionist"), days_ago=7)


@pytest.fixture
def bob(demo, make_staff):
    return patient_with_history(BOB, make_staff("receptionist"), days_ago=8)


def personal_values(person: dict) -> list[str]:
    return [value for key, value in person.items() if value]


def assert_no_personal_data(event: AuditEvent, person: dict) -> None:
    details = json.dumps(event.details).lower()
    for value in personal_values(person):
        assert value.lower() not in details, (event.action, value)
    assert "lovelace" not in details and "900111" not in details


# Correcting contact details -------------------------------------------------------------------


def test_the_desk_corrects_a_patients_contact_details_and_the_change_is_audited_by_field(
    receptionist_client, ada
):
    patient = ada["patient"]
    url = f"/diary/patients/{patient.id}"
    before = patient.updated_at
    response = receptionist_client.post(
        url,
        data={
            "csrf_token": page_token(receptionist_client, url),
            "name": "  Ada   King ",
            "email": " ADA.King@Example.ORG ",
            "phone": "+44 7700 900222",
            "staff_notes": "Now prefers evening appointments",
        },
    )
    assert response.status_code == 302
    saved = fresh(Patient, patient.id)
    assert (saved.name, saved.email, saved.phone) == (
        "Ada King",
        "ada.king@example.org",
        "+44 7700 900222",
    )
    assert saved.staff_notes == "Now prefers evening appointments"
    # The practitioners' calendar feeds notice the new name by this.
    assert saved.updated_at > before
    event = get(AuditEvent, action="patient.changed")
    assert event.subject_id == patient.id
    assert event.details == {"fields": ["name", "email", "phone", "staff_notes"]}
    assert "evening" not in json.dumps(event.details)

    page = receptionist_client.get(url).get_data(as_text=True)
    assert "The patient&#39;s details have been saved." in page
    assert "ada.king@example.org" in page


def test_saving_unchanged_details_writes_nothing(receptionist_client, ada):
    patient = ada["patient"]
    url = f"/diary/patients/{patient.id}"
    before = patient.updated_at
    response = receptionist_client.post(
        url,
        data={
            "csrf_token": page_token(receptionist_client, url),
            "name": ADA["name"],
            "email": ADA["email"],
            "phone": ADA["phone"],
            "staff_notes": ADA["staff_notes"],
        },
    )
    assert response.status_code == 302
    assert fresh(Patient, patient.id).updated_at == before
    assert get(AuditEvent, action="patient.changed") is None


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"email": "ada-at-example.org"}, "Enter an email address like name@example.com."),
        ({"phone": "call me"}, "Enter a phone number, like 07700 900123"),
        ({"phone": "12"}, "Enter a phone number, like 07700 900123"),
        ({"name": "   "}, "Enter the patient&#39;s name."),
        ({"email": "", "phone": ""}, "Keep an email address or a phone number"),
    ],
)
def test_bad_contact_details_are_refused_kept_in_the_form_and_nothing_is_written(
    receptionist_client, ada, answers, message
):
    patient = ada["patient"]
    url = f"/diary/patients/{patient.id}"
    before = patient.updated_at
    data = {
        "csrf_token": page_token(receptionist_client, url),
        "name": "Ada King",
        "email": ADA["email"],
        "phone": ADA["phone"],
        "staff_notes": "Typed but not saved",
        **answers,
    }
    response = receptionist_client.post(url, data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Typed but not saved" in page  # what was typed stays in the form
    saved = fresh(Patient, patient.id)
    assert (saved.name, saved.email, saved.phone, saved.staff_notes) == (
        ADA["name"],
        ADA["email"],
        ADA["phone"],
        ADA["staff_notes"],
    )
    assert saved.updated_at == before
    assert get(AuditEvent, action="patient.changed") is None


def test_a_correction_without_the_csrf_token_is_refused(receptionist_client, ada):
    patient = ada["patient"]
    response = receptionist_client.post(
        f"/diary/patients/{patient.id}",
        data={"name": "Mallory", "email": "mallory@example.org", "phone": ""},
    )
    assert response.status_code == 400
    assert fresh(Patient, patient.id).name == ADA["name"]


# Export ---------------------------------------------------------------------------------------


def test_the_export_holds_everything_about_the_patient_and_nothing_about_anyone_else(
    receptionist_client, ada, bob
):
    patient = ada["patient"]
    response = receptionist_client.get(f"/diary/patients/{patient.id}/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="patient-{patient.id}.json"'
    )
    assert "no-store" in response.headers["Cache-Control"]
    assert response.mimetype == "application/json"
    raw = response.get_data(as_text=True)
    record = json.loads(raw)

    assert record["patient"]["name"] == ADA["name"]
    assert record["patient"]["email"] == ADA["email"]
    assert record["patient"]["phone"] == ADA["phone"]
    assert record["patient"]["health_consent_at"] == "2025-01-06T09:30:00+00:00"

    [appointment] = record["appointments"]
    starts_at = ada["appointment"].starts_at
    assert appointment["starts_at_utc"] == starts_at.isoformat()
    assert datetime.fromisoformat(appointment["starts_at_local"]) == starts_at
    assert appointment["starts_at_local"][-6:] in {"+00:00", "+01:00"}
    assert appointment["status"] == "attended"
    assert appointment["session_type"] == get(SessionType, slug="massage").name
    assert appointment["practitioner"] == get(Practitioner, slug="colette-assor").name
    # What Ada wrote when booking is health information: reception exports it as withheld.
    assert appointment["patient_note"] is None
    assert ADA["appointment_note"] not in raw
    assert appointment["staff_note"] == ADA["appointment_staff_note"]
    assert record["patient"]["staff_notes"] == ADA["staff_notes"]

    [course] = record["courses"]
    assert course["reference"] == ada["course"].uid
    assert course["credits_remaining"] == course["sessions_total"] == 10
    assert [entry["change"] for entry in course["credit_ledger"]] == [10]

    assert [reply["body_html"] for reply in record["replies"]] == [f"<p>{ADA['reply']}</p>"]
    kinds = {message["kind"]: message for message in record["messages"]}
    # Messages to the patient only: reception's copy is not theirs, and no bodies are given.
    assert set(kinds) == {"confirmation", "course_activated", "reminder"}
    assert kinds["confirmation"]["subject"] == "Booked: Massage"
    assert kinds["confirmation"]["sent_at_utc"] == ada["sent"].sent_at.isoformat()
    assert "see you soon" not in raw and "BEGIN:VCALENDAR" not in raw

    # Nothing about Bob.
    for value in personal_values(BOB):
        assert value not in raw

    event = get(AuditEvent, action="patient.exported")
    assert event.subject_id == patient.id
    assert event.staff_user_id == receptionist_client.user.id
    assert_no_personal_data(event, ADA)


def test_the_export_says_who_cancelled_and_who_asked_for_it(receptionist_client, ada):
    """A patient who phoned to cancel: the clinic cancelled, at the patient's request."""
    patient = ada["patient"]
    starts_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    phoned = add_appointment(
        patient,
        starts_at,
        status=AppointmentStatus.CANCELLED.value,
        cancelled_at=starts_at - timedelta(hours=30),
        cancelled_by="clinic",
        cancel_requested_by="patient",
    )
    record = receptionist_client.get(f"/diary/patients/{patient.id}/export.json").get_json()
    by_start = {row["starts_at_utc"]: row for row in record["appointments"]}
    cancelled = by_start[phoned.starts_at.isoformat()]
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at_utc"] == (starts_at - timedelta(hours=30)).isoformat()
    assert cancelled["cancelled_by"] == "clinic"
    assert cancelled["cancellation_asked_for_by"] == "patient"
    attended = by_start[ada["appointment"].starts_at.isoformat()]
    assert attended["cancelled_by"] is None and attended["cancellation_asked_for_by"] is None


def test_practitioners_cannot_export_a_patient(practitioner_client, ada):
    response = practitioner_client.get(f"/diary/patients/{ada['patient'].id}/export.json")
    assert response.status_code == 403
    assert get(AuditEvent, action="patient.exported") is None


# Erasure --------------------------------------------------------------------------------------


def erase(client, patient: Patient, typed_name: str):
    url = f"/diary/patients/{patient.id}"
    return client.post(
        f"{url}/erase",
        data={"csrf_token": page_token(client, url), "confirm_name": typed_name},
    )


def test_erasure_clears_every_personal_field_and_keeps_the_diary_and_accounts(
    admin_client, ada, bob
):
    patient = ada["patient"]
    # A pending message to reception about Ada's appointment, too.
    pending_notice = add_message(
        ada["appointment"],
        kind="reception_moved",
        recipient="reception@clinic.example",
        subject="Moved online",
        text_body=f"Patient: {ADA['name']}",
    )
    pending_ids = [
        message.id
        for message in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.status == "pending")
        )
        if message.recipient == ADA["email"]
    ] + [pending_notice.id]
    assert len(pending_ids) == 2  # the course message and the reception notice
    failed_id = ada["failed"].id

    response = erase(admin_client, patient, "  ada LOVELACE ")
    assert response.status_code == 302

    saved = fresh(Patient, patient.id)
    assert saved.name == "Erased patient"
    assert saved.email is None and saved.phone is None and saved.staff_notes == ""

    appointment = db.session.get(Appointment, ada["appointment"].id)
    assert appointment is not None and appointment.patient_id == patient.id
    assert appointment.patient_note == "" and appointment.staff_note == ""
    assert appointment.status == "attended"

    course = db.session.get(Course, ada["course"].id)
    assert course is not None and course.patient_id == patient.id
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CreditEntry)
        .where(CreditEntry.course_id == course.id)
    )

    for message_id in [*pending_ids, failed_id]:
        assert db.session.get(OutboxMessage, message_id) is None
    for message in (ada["sent"], ada["reception_copy"]):
        kept = db.session.get(OutboxMessage, message.id)
        assert (kept.recipient, kept.text_body, kept.html_body, kept.ics, kept.last_error) == (
            "",
            "",
            None,
            None,
            "",
        )
        assert kept.subject == message.subject and kept.sent_at is not None

    assert db.session.get(Reply, ada["reply"].id).author_email == ""

    # Nothing personal is left in any row of the tables the patient touched.
    rows = []
    for model in (Patient, Appointment, OutboxMessage, Reply):
        for row in db.session.scalars(sa.select(model)):
            rows.append(json.dumps({c.key: str(getattr(row, c.key)) for c in model.__table__.c}))
    everything = "\n".join(rows).lower()
    for value in personal_values(ADA):
        if value != ADA["reply"]:  # the reply's text stays, without who wrote it
            assert value.lower() not in everything, value

    # Bob is untouched.
    bob_now = fresh(Patient, bob["patient"].id)
    assert (bob_now.name, bob_now.email, bob_now.phone) == (BOB["name"], BOB["email"], BOB["phone"])
    assert (
        db.session.get(Appointment, bob["appointment"].id).patient_note == BOB["appointment_note"]
    )
    assert db.session.get(OutboxMessage, bob["sent"].id).recipient == BOB["email"]
    assert db.session.get(OutboxMessage, bob["failed"].id) is not None
    assert db.session.get(Reply, bob["reply"].id).author_email == BOB["email"].upper()

    event = get(AuditEvent, action="patient.erased")
    assert event.subject_id == patient.id
    assert event.staff_user_id == admin_client.user.id
    assert event.details["appointments"] == 1 and event.details["replies"] == 1
    assert_no_personal_data(event, ADA)

    page = admin_client.get(f"/diary/patients/{patient.id}").get_data(as_text=True)
    assert "Erased patient" in page and "record has been erased" in page
    assert 'name="confirm_name"' not in page and 'name="phone"' not in page


def test_erasure_removes_the_files_sent_with_the_patients_messages(admin_client, ada, bob):
    """A receipt's PDF names the patient: once the message that carried it is blanked, the
    copy kept with it in the outbox goes too. Another patient's files stay."""

    def attach(message: OutboxMessage, person: dict) -> int:
        attachment = OutboxAttachment(
            message_id=message.id,
            filename="R-000001.pdf",
            content_type="application/pdf",
            content=f"%PDF-1.4 Receipt for {person['name']}, {person['email']}".encode(),
        )
        db.session.add(attachment)
        db.session.commit()
        return attachment.id

    # Sent (blanked and kept) and failed (deleted) messages about Ada.
    adas = [attach(ada[kind], ADA) for kind in ("sent", "reception_copy", "failed")]
    bobs = attach(bob["sent"], BOB)

    assert erase(admin_client, ada["patient"], ADA["name"]).status_code == 302

    db.session.rollback()
    assert [db.session.get(OutboxAttachment, identity) for identity in adas] == [None] * 3
    assert db.session.get(OutboxMessage, ada["sent"].id) is not None  # the history stays
    assert BOB["name"].encode() in db.session.get(OutboxAttachment, bobs).content
    left = b"\n".join(db.session.scalars(sa.select(OutboxAttachment.content)))
    assert ADA["name"].encode() not in left and ADA["email"].encode() not in left


def test_erasure_is_refused_while_the_patient_has_a_booking_ahead(admin_client, ada):
    patient = ada["patient"]
    add_appointment(patient, datetime.now(UTC) + timedelta(days=3))
    response = erase(admin_client, patient, ADA["name"])
    assert response.status_code == 409
    assert "still has 1 appointment booked" in response.get_data(as_text=True)
    saved = fresh(Patient, patient.id)
    assert (saved.name, saved.email) == (ADA["name"], ADA["email"])
    assert db.session.get(Appointment, ada["appointment"].id).patient_note
    assert db.session.get(OutboxMessage, ada["failed"].id) is not None
    assert get(AuditEvent, action="patient.erased") is None


def test_a_cancelled_booking_ahead_does_not_stop_erasure(admin_client, ada):
    patient = ada["patient"]
    add_appointment(
        patient,
        datetime.now(UTC) + timedelta(days=3),
        status=AppointmentStatus.CANCELLED.value,
        patient_note="Cancelled: back feels better",
    )
    assert erase(admin_client, patient, ADA["name"]).status_code == 302
    notes = db.session.scalars(
        sa.select(Appointment.patient_note).where(Appointment.patient_id == patient.id)
    )
    assert set(notes) == {""}


@pytest.mark.parametrize("typed", ["", "Ada", "Bob Babbage"])
def test_erasure_needs_the_patients_name_typed(admin_client, ada, typed):
    patient = ada["patient"]
    response = erase(admin_client, patient, typed)
    assert response.status_code == 422
    assert "Type the patient&#39;s name" in response.get_data(as_text=True)
    assert fresh(Patient, patient.id).name == ADA["name"]
    assert get(AuditEvent, action="patient.erased") is None


def test_erasure_without_the_csrf_token_is_refused(admin_client, ada):
    patient = ada["patient"]
    response = admin_client.post(
        f"/diary/patients/{patient.id}/erase", data={"confirm_name": ADA["name"]}
    )
    assert response.status_code == 400
    assert fresh(Patient, patient.id).name == ADA["name"]


def test_only_administrators_may_erase(app, receptionist_client, ada):
    patient = ada["patient"]
    page = receptionist_client.get(f"/diary/patients/{patient.id}").get_data(as_text=True)
    assert 'name="confirm_name"' not in page
    assert erase(receptionist_client, patient, ADA["name"]).status_code == 403

    visitor = app.test_client()
    token = csrf_token(visitor.get("/staff/sign-in").get_data(as_text=True))
    response = visitor.post(
        f"/diary/patients/{patient.id}/erase",
        data={"csrf_token": token, "confirm_name": ADA["name"]},
    )
    assert response.status_code == 302
    assert response.location.startswith("/staff/sign-in")
    assert fresh(Patient, patient.id).name == ADA["name"]
    assert get(AuditEvent, action="patient.erased") is None
