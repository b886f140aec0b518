"""Least privilege for the clinical record: who may read it, and every read audited."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from booking.clinic.records import access
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import unit_of_work
from booking.extensions import db
from booking.models import AccessEvent, Practitioner

DAY = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)


def _practitioner(slug: str) -> Practitioner:
    return db.session.scalar(sa.select(Practitioner).filter_by(slug=slug))


@pytest.fixture
def staff(demo, make_staff):
    return {
        "admin": make_staff("admin"),
        "receptionist": make_staff("receptionist"),
        "colette": make_staff("practitioner", practitioner=_practitioner("colette-assor")),
        "sam": make_staff("practitioner", practitioner=_practitioner("sam-okafor")),
    }


def test_a_practitioner_reads_only_their_own_patients_and_reception_never(staff, make_appointment):
    appointment = make_appointment(DAY, practitioner="colette-assor")
    patient_id = appointment.patient_id
    assert access.may_read_record(staff["admin"], patient_id)
    assert access.may_read_record(staff["colette"], patient_id)
    assert not access.may_read_record(staff["sam"], patient_id)
    assert not access.may_read_record(staff["receptionist"], patient_id)
    assert not access.may_read_record(None, patient_id)


def test_the_clinic_may_let_every_practitioner_read_every_record(staff, make_appointment):
    patient_id = make_appointment(DAY, practitioner="colette-assor").patient_id
    with unit_of_work():
        clinic_settings().practitioners_read_all_records = True
    assert access.may_read_record(staff["sam"], patient_id)
    # Reception still reads nothing, whatever the clinic chooses for practitioners.
    assert not access.may_read_record(staff["receptionist"], patient_id)


def test_a_deactivated_account_reads_nothing(staff, make_appointment):
    patient_id = make_appointment(DAY, practitioner="colette-assor").patient_id
    with unit_of_work():
        staff["colette"].active = False
    assert not access.may_read_record(staff["colette"], patient_id)


def test_every_read_is_audited_and_a_refusal_leaves_no_read(staff, make_appointment):
    patient_id = make_appointment(DAY, practitioner="colette-assor").patient_id
    access.open_record(staff["colette"], patient_id, "intake")
    with pytest.raises(access.ClinicalRecordRefused):
        access.open_record(staff["receptionist"], patient_id, "intake")
    db.session.expire_all()
    reads = db.session.scalars(sa.select(AccessEvent).filter_by(patient_id=patient_id)).all()
    assert [(event.action, event.staff_user_id) for event in reads] == [
        ("patient.intake_read", staff["colette"].id)
    ]


def test_an_admin_chooses_on_the_settings_page_that_practitioners_read_every_record(
    staff, make_appointment, app, sign_in
):
    from tests.forms import post_forms

    patient_id = make_appointment(DAY, practitioner="colette-assor").patient_id
    client = app.test_client()
    sign_in(client, staff["admin"])
    page = client.get("/diary/settings")
    (form,) = [f for f in post_forms(page.text) if "practitioners_read_all_records" in f.choices]
    data = form.answers()
    data["practitioners_read_all_records"] = ["y"]
    assert client.post("/diary/settings", data=data).status_code == 302
    db.session.expire_all()
    assert clinic_settings().practitioners_read_all_records
    assert access.may_read_record(staff["sam"], patient_id)
