"""Every sign-in and every read of a patient's record leaves a trace, never the content."""

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from booking.extensions import db
from booking.models import AccessEvent


def events(**filters) -> list[AccessEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(AccessEvent).filter_by(**filters).order_by(AccessEvent.id))
    )


def test_sign_ins_failed_and_successful_are_logged(app, make_staff, sign_in):
    user = make_staff()
    browser = app.test_client()
    sign_in(browser, user, password="not the password")
    sign_in(browser, user)
    (failed,) = events(action="staff.sign_in_failed")
    assert failed.account_id == user.id and failed.staff_user_id is None
    assert "not the password" not in json.dumps(failed.details)
    (signed_in,) = events(action="staff.signed_in")
    assert signed_in.staff_user_id == user.id and signed_in.details == {"method": "password"}


def test_opening_and_exporting_a_record_is_logged_and_the_export_lists_its_readers(
    app, receptionist_client, admin_client, make_patient
):
    patient = make_patient()
    assert receptionist_client.get(f"/diary/patients/{patient.id}").status_code == 200
    reads = events(patient_id=patient.id)
    assert [(e.action, e.staff_user_id) for e in reads] == [
        ("patient.record_read", receptionist_client.user.id)
    ]
    # Who, when, what: never the record itself.
    assert patient.name not in json.dumps(reads[0].details)
    export = admin_client.get(f"/diary/patients/{patient.id}/export.json")
    assert export.status_code == 200
    readers = export.json["record_reads"]
    assert [(r["by"], r["what"]) for r in readers] == [
        (receptionist_client.user.name, "record"),
        (admin_client.user.name, "export"),
    ]
    assert readers[0]["role"] == "receptionist"


def test_the_audit_log_filters_by_staff_member_and_by_patient(
    app, receptionist_client, admin_client, make_patient
):
    first, second = make_patient(), make_patient()
    receptionist_client.get(f"/diary/patients/{first.id}")
    admin_client.get(f"/diary/patients/{second.id}")
    by_patient = admin_client.get(f"/diary/audit-log?log=access&patient={first.id}").text
    assert "patient.record_read" in by_patient
    assert f">{first.id}</a>" in by_patient and f">{second.id}</a>" not in by_patient
    staff_id = receptionist_client.user.id
    by_staff = admin_client.get(f"/diary/audit-log?log=access&staff={staff_id}").text
    assert f">{first.id}</a>" in by_staff and f">{second.id}</a>" not in by_staff
    assert "staff.signed_in" in by_staff
    changes = admin_client.get(f"/diary/audit-log?staff={staff_id}")
    assert changes.status_code == 200
    patient_page = admin_client.get(f"/diary/patients/{first.id}").text
    assert f"/diary/audit-log?log=access&amp;patient={first.id}" in patient_page


def test_opening_an_appointment_is_a_read_of_its_patients_record(
    demo, receptionist_client, make_appointment
):
    appointment = make_appointment(datetime(2026, 6, 2, 9, 0, tzinfo=UTC))
    page = receptionist_client.get(f"/diary/appointments/{appointment.id}")
    assert page.status_code == 200
    (read,) = events(action="patient.appointment_read")
    assert read.patient_id == appointment.patient_id
    assert read.staff_user_id == receptionist_client.user.id
