"""CSV exports for the accountant and the full export: read back as a spreadsheet and a
program would read them."""

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic.data_exchange import exports, full_export
from booking.clinic.data_exchange.spreadsheets import csv_text, neutralised
from booking.extensions import db
from booking.models import AccessEvent, Appointment, Patient
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel would misread accents"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Zoë Brontë", "Zoë Brontë"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(typed, written):
    assert neutralised(typed) == written
    [row] = list(csv.reader(io.StringIO(csv_text(["a"], [[typed]]).lstrip("\ufeff"))))[1:]
    assert row == [written]


def post_export(client, kind: str, first_day: str, last_day: str):
    """The export form sent as an administrator sends it."""
    page = client.get("/diary/exports")
    return client.post(
        "/diary/exports",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "kind": kind,
            "first_day": first_day,
            "last_day": last_day,
        },
    )


@pytest.fixture
def booked(demo, make_patient, make_appointment):
    """Appointments either side of the autumn clock change, and one outside the range."""
    zoe = make_patient("=Zoë Brontë", email="zoe@example.org", phone="+44 7700 900123")
    before = make_appointment(
        local(date(2026, 10, 24), 10), patient=zoe, patient_note="My lower back aches"
    )
    after = make_appointment(
        local(date(2026, 10, 26), 10, 30), patient=zoe, staff_note="Private: knee history"
    )
    make_appointment(local(date(2026, 11, 2), 10))
    return zoe, before, after


def test_the_appointments_export_reads_back_with_local_times_and_no_health_content(
    booked, admin_client
):
    zoe, before, after = booked
    response = post_export(admin_client, "appointments", "2026-10-19", "2026-11-01")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = read_csv(response.get_data())
    assert [row["Appointment reference"] for row in rows] == [before.uid, after.uid]
    # 10:00 BST on the Saturday and 10:30 GMT on the Monday, as the diary shows them.
    assert [row["Starts"] for row in rows] == ["2026-10-24 10:00", "2026-10-26 10:30"]
    assert rows[0]["Patient"] == "'=Zoë Brontë"
    assert rows[0]["Price (£)"] == f"{before.price_pence // 100}.{before.price_pence % 100:02d}"
    text = response.get_data(as_text=True)
    assert "lower back" not in text and "knee" not in text
    [event] = db.session.scalars(
        sa.select(AccessEvent).where(AccessEvent.action == "export.appointments_csv")
    )
    assert event.staff_user_id == admin_client.user.id
    assert event.details == {"first_day": "2026-10-19", "last_day": "2026-11-01"}


def test_the_appointments_export_says_who_cancelled_and_who_asked(
    booked, make_appointment, admin_client
):
    """Staff cancel for a patient who phoned: the clinic cancelled, the patient asked (the
    difference between a late cancellation and the clinic's own change of plan)."""
    zoe, before, after = booked
    phoned, clinic_moved = (
        make_appointment(
            local(date(2026, 10, day), 9),
            patient=zoe,
            status="cancelled",
            cancelled_at=local(date(2026, 10, day - 1), 18),
            cancelled_by="clinic",
            cancel_requested_by=asked_by,
        )
        for day, asked_by in ((27, "patient"), (28, "clinic"))
    )
    response = post_export(admin_client, "appointments", "2026-10-19", "2026-11-01")
    rows = {row["Appointment reference"]: row for row in read_csv(response.get_data())}
    assert rows[phoned.uid]["Status"] == "cancelled"
    assert rows[phoned.uid]["Cancelled on"] == "2026-10-26 18:00"
    assert rows[phoned.uid]["Cancelled by"] == "clinic"
    assert rows[phoned.uid]["Cancellation asked for by"] == "patient"
    assert rows[clinic_moved.uid]["Cancellation asked for by"] == "clinic"
    assert rows[before.uid]["Cancelled by"] == rows[before.uid]["Cancellation asked for by"] == ""
    assert rows[after.uid]["Cancellation asked for by"] == ""


def test_the_patients_and_courses_exports(booked, make_course, admin_client):
    zoe, _, _ = booked
    export = exports.export_csv(
        "patients",
        date(2026, 10, 19),
        date(2026, 11, 1),
        zone=LONDON,
        staff_user=admin_client.user,
    )
    rows = read_csv(export.text.encode("utf-8"))
    assert [(row["Name"], row["Phone"]) for row in rows] == [("'=Zoë Brontë", "'+44 7700 900123")]
    assert "Consent on" in rows[0]
    course = make_course(now=local(date(2026, 10, 20), 9))
    export = exports.export_csv(
        "courses", date(2026, 10, 19), date(2026, 11, 1), zone=LONDON, staff_user=admin_client.user
    )
    [row] = read_csv(export.text.encode("utf-8"))
    assert row["Course reference"] == course.uid
    assert row["Paid on"] == "2026-10-20"
    assert row["Price (£)"] == "950.00"


def test_an_export_with_a_bad_range_is_refused_with_the_form_kept(app, admin_client):
    response = post_export(admin_client, "appointments", "2026-11-01", "2026-10-01")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "must not be before" in body and 'value="2026-11-01"' in body


def test_exports_are_for_administrators_only(app, receptionist_client):
    assert receptionist_client.get("/diary/exports").status_code == 403
    assert receptionist_client.get("/diary/import").status_code == 403


def _full_export(admin_client, *, clinical: bool) -> zipfile.ZipFile:
    page = admin_client.get("/diary/exports")
    data = {"csrf_token": csrf_token(page.get_data(as_text=True))}
    if clinical:
        data["include_clinical"] = "y"
    response = admin_client.post("/diary/exports/everything", data=data)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def test_the_full_export_holds_every_table_without_secrets_or_clinical_content(
    booked, admin_client
):
    zoe, before, _ = booked
    archive = _full_export(admin_client, clinical=False)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["clinical_content_included"] is False
    assert "appointments.patient_note" in manifest["clinical_columns_left_out"]
    appointments = json.loads(archive.read("json/appointments.json"))
    assert len(appointments) == db.session.scalar(sa.select(sa.func.count(Appointment.id)))
    assert manifest["rows"]["appointments"] == len(appointments)
    assert all("patient_note" not in row for row in appointments)
    patients = read_csv(archive.read("csv/patients.csv"))
    assert [row["name"] for row in patients if row["id"] == str(zoe.id)] == ["'=Zoë Brontë"]
    staff = json.loads(archive.read("json/staff_users.json"))
    assert staff and all("password_hash" not in row for row in staff)
    names = archive.namelist()
    assert "json/staff_sessions.json" not in names and "csv/outbox_messages.csv" not in names
    assert all(b"lower back" not in archive.read(name) for name in names)
    [event] = db.session.scalars(
        sa.select(AccessEvent).where(AccessEvent.action == "export.everything")
    )
    assert event.staff_user_id == admin_client.user.id


def test_the_full_export_with_clinical_content_writes_it_decrypted(booked, admin_client):
    _, before, _ = booked
    archive = _full_export(admin_client, clinical=True)
    assert json.loads(archive.read("manifest.json"))["clinical_content_included"] is True
    appointments = {row["uid"]: row for row in json.loads(archive.read("json/appointments.json"))}
    assert appointments[before.uid]["patient_note"] == "My lower back aches"
    assert appointments[before.uid]["starts_at"].startswith("2026-10-24T09:00:00")
    encrypted = [
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if full_export.is_clinical(table, column)
    ]
    assert ("appointments", "staff_note") in encrypted
    [event] = db.session.scalars(
        sa.select(AccessEvent).where(AccessEvent.action == "export.everything")
    )
    assert event.details == {"clinical": True}
    assert db.session.get(Patient, booked[0].id) is not None


def test_the_payments_export_lists_the_ledger_in_the_range(booked, make_staff, admin_client):
    from booking.clinic.payments import ledger
    from booking.models import Appointment as Visit

    zoe, before, after = booked
    db.session.execute(sa.update(Visit).values(price_pence=6500))
    db.session.commit()
    desk = make_staff("receptionist")
    ledger.record_payment(
        before, 6500, "card", desk, reference="=cmd", now=local(date(2026, 10, 24), 11)
    )
    ledger.record_refund(before, 500, "card", desk, now=local(date(2026, 10, 26), 9))
    ledger.record_payment(after, 6500, "cash", desk, now=local(date(2026, 11, 3), 9))  # after
    export = exports.export_csv(
        "payments", date(2026, 10, 19), date(2026, 11, 1), zone=LONDON, staff_user=admin_client.user
    )
    rows = read_csv(export.text.encode("utf-8"))
    assert [(row["Recorded"], row["Entry"], row["Amount (£)"], row["Method"]) for row in rows] == [
        ("2026-10-24 11:00", "payment", "65.00", "card"),
        ("2026-10-26 09:00", "refund", "-5.00", "card"),
    ]
    assert rows[0]["Reference"] == "'=cmd" and rows[0]["For"] == f"appointment {before.uid}"
    assert rows[0]["Patient"] == "'=Zoë Brontë" and rows[0]["Recorded by"] == desk.name


def test_the_full_export_leaves_out_what_belongs_to_a_left_out_table(booked, admin_client):
    """A patient's calendar invitation (an email's attachment) carries the link that acts
    for them, like the email itself: left out with it. So is any table that hangs off a
    left-out one, whatever is added later."""
    from booking.models import OutboxAttachment, OutboxMessage

    _, before, _ = booked
    message = OutboxMessage(
        kind="confirmation",
        recipient="zoe@example.org",
        subject="Your booking",
        text_body="See you soon",
        appointment_id=before.id,
        attachments=[
            OutboxAttachment(
                filename="invite.ics",
                content_type="text/calendar",
                content=b"URL:https://clinic.example/booking/view/SECRET-MANAGE-TOKEN",
            )
        ],
    )
    db.session.add(message)
    db.session.commit()
    archive = _full_export(admin_client, clinical=True)
    secret = b"SECRET-MANAGE-TOKEN"
    for name in archive.namelist():
        body = archive.read(name)
        assert secret not in body and secret.hex().encode() not in body, name
    left_out = full_export.LEFT_OUT_TABLES
    for table in db.metadata.sorted_tables:
        parents = {key.column.table.name for key in table.foreign_keys}
        if parents & left_out:
            assert table.name in left_out, f"{table.name} belongs to {parents & left_out}"
    assert "form_submissions" in left_out  # a form's key finds its result again


def test_the_courses_export_holds_the_courses_asked_for_or_paid_in_the_range(
    booked, make_course, admin_client
):
    from booking.clinic import courses as course_rules

    inside = make_course(now=local(date(2026, 10, 20), 9))
    before = make_course(now=local(date(2026, 10, 18), 23, 30))  # the Sunday before, BST
    after = make_course(now=local(date(2026, 11, 2), 0, 30))  # the Monday after, GMT
    asked_before = make_course(paid=False, now=local(date(2026, 10, 1), 9))
    course_rules.activate_course(
        asked_before, "card", admin_client.user, now=local(date(2026, 11, 1), 23, 30)
    )
    export = exports.export_csv(
        "courses", date(2026, 10, 19), date(2026, 11, 1), zone=LONDON, staff_user=admin_client.user
    )
    rows = read_csv(export.text.encode("utf-8"))
    references = {row["Course reference"] for row in rows}
    assert references == {inside.uid, asked_before.uid}
    assert before.uid not in references and after.uid not in references
    [late] = [row for row in rows if row["Course reference"] == asked_before.uid]
    assert (late["Asked for on"], late["Paid on"]) == ("2026-10-01", "2026-11-01")
