"""Reception never reads clinical content: every clinical URL requested as every role.

Also: every read is audited, and a plain SQL dump of the record's tables holds no
clinical text in the clear.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.clinic.localtime import to_local
from booking.clinic.records import consent, intake, red_flags
from booking.extensions import db
from booking.models import AccessEvent, ConsentTreatment, Practitioner, RecordMethod
from tests.records_helpers import PACEMAKER_DETAILS, PROBLEM, answers, ten_oclock

RECORD_TABLES = ("intake_forms", "treatment_consents", "red_flag_checks")
# What the patient told us: none of it may reach a receptionist, another practitioner, or
# the database in the clear.
CLINICAL_TEXT = (
    PROBLEM,
    PACEMAKER_DETAILS,
    "Dr Quentin Blake",
    "Harrow Road Surgery",
    "1970-05-17",
)


@pytest.fixture
def scene(app, demo, make_appointment, make_staff, sign_in):
    start = ten_oclock(3)
    appointment = make_appointment(start, practitioner="colette-assor", session="acupuncture")
    intake.submit_intake(
        appointment.patient,
        answers(pacemaker_or_implants=PACEMAKER_DETAILS),
        method=RecordMethod.ONLINE,
        appointment=appointment,
    )
    consent.give_consent(
        appointment.patient, [ConsentTreatment.ACUPUNCTURE], method=RecordMethod.ONLINE
    )
    practitioners = {p.slug: p for p in db.session.scalars(sa.select(Practitioner))}
    clients = {}
    for name, role, practitioner in [
        ("admin", "admin", None),
        ("receptionist", "receptionist", None),
        ("own practitioner", "practitioner", practitioners["colette-assor"]),
        ("other practitioner", "practitioner", practitioners["sam-okafor"]),
    ]:
        client = app.test_client()
        user = make_staff(role, practitioner=practitioner)
        assert sign_in(client, user).status_code == 302
        client.user = user
        clients[name] = client
    return appointment, clients, start


def _urls(appointment, start):
    from booking.clinic.localtime import to_local as local
    from booking.clinic.settings import clinic_settings

    day = local(start, clinic_settings().zone).date()
    monday = day - timedelta(days=day.weekday())
    return {
        # url: roles that may read clinical content there
        f"/diary/patients/{appointment.patient_id}/intake": {"admin", "own practitioner"},
        f"/diary/appointments/{appointment.id}": {"admin", "own practitioner"},
        f"/diary/appointments/{appointment.id}/intake": set(),
        f"/diary/appointments/{appointment.id}/consent": set(),
        f"/diary/day/{day.isoformat()}": set(),
        f"/diary/week/colette-assor/{monday.isoformat()}": set(),
        f"/diary/patients/{appointment.patient_id}": set(),
        # The patient's subject-access export holds their clinical record: an admin's job.
        f"/diary/patients/{appointment.patient_id}/export.json": {"admin"},
    }


def test_each_role_requests_each_clinical_url(scene):
    appointment, clients, start = scene
    for url, readers in _urls(appointment, start).items():
        for name, client in clients.items():
            response = client.get(url)
            page = response.get_data(as_text=True)
            if name in readers:
                assert response.status_code == 200, (url, name)
                assert PACEMAKER_DETAILS in page, (url, name)
            else:
                assert response.status_code in {200, 302, 403, 404}, (url, name)
                leaked = [text for text in CLINICAL_TEXT if text in page]
                assert leaked == [], f"{name} read {leaked} on {url}"


def test_reception_sees_that_the_record_is_complete_but_not_what_it_says(scene):
    appointment, clients, start = scene
    page = clients["receptionist"].get(f"/diary/appointments/{appointment.id}").text
    assert "Clinical record" in page and "complete" in page
    assert "Acupuncture: given" in page
    assert "Flagged answers" not in page and "Read all the answers" not in page
    assert (
        clients["receptionist"].get(f"/diary/patients/{appointment.patient_id}/intake").status_code
        == 403
    )
    assert (
        clients["other practitioner"]
        .get(f"/diary/patients/{appointment.patient_id}/intake")
        .status_code
        == 403
    )


def test_the_practitioner_sees_the_flag_on_the_diary_block_and_reception_does_not(scene):
    appointment, clients, start = scene
    from booking.clinic.settings import clinic_settings

    day = to_local(start, clinic_settings().zone).date().isoformat()
    assert "Flagged answers" in clients["own practitioner"].get(f"/diary/day/{day}").text
    reception_day = clients["receptionist"].get(f"/diary/day/{day}").text
    assert "Flagged answers" not in reception_day
    assert "Intake missing" not in reception_day and "Consent missing" not in reception_day


def test_the_patients_booking_note_is_for_the_practitioner_not_reception(
    app, demo, make_appointment, receptionist_client, practitioner_client
):
    note = "Sharp pain when I sit, worse since my fall"
    appointment = make_appointment(ten_oclock(5), practitioner="colette-assor", patient_note=note)
    url = f"/diary/appointments/{appointment.id}"
    reception_page = receptionist_client.get(url).text
    assert note not in reception_page and "on file, for the practitioner" in reception_page
    assert note in practitioner_client.get(url).text


def test_a_missing_intake_and_consent_show_on_the_block_for_everyone(
    app, demo, make_appointment, receptionist_client
):
    from booking.clinic.settings import clinic_settings

    start = ten_oclock(4)
    make_appointment(start, session="massage")
    day = to_local(start, clinic_settings().zone).date().isoformat()
    page = receptionist_client.get(f"/diary/day/{day}").text
    assert "Intake missing" in page and "Consent missing" in page


def test_reading_the_answers_is_audited_with_who_and_never_what(scene):
    appointment, clients, start = scene
    clients["own practitioner"].get(f"/diary/patients/{appointment.patient_id}/intake")
    clients["receptionist"].get(f"/diary/patients/{appointment.patient_id}/intake")
    db.session.expire_all()
    reads = db.session.scalars(
        sa.select(AccessEvent).filter_by(
            patient_id=appointment.patient_id, action="patient.intake_read"
        )
    ).all()
    assert [event.staff_user_id for event in reads] == [clients["own practitioner"].user.id]
    assert PACEMAKER_DETAILS not in str(reads[0].details)


def test_a_raw_dump_of_the_record_tables_holds_no_clinical_text(scene, backend):
    appointment, clients, start = scene
    red_flags.record_recheck(appointment, {"cauda_equina": "no", "other_warning": "no"})
    from booking.clinic.records.key_rotation import sealed_columns

    # The record's tables here, and every other table with a sealed column (notes, outcomes).
    tables = sorted({*RECORD_TABLES, *(table.name for table, _ in sealed_columns())})
    dumped = []
    with db.engine.connect() as connection:
        for table in tables:
            columns = sa.inspect(connection).get_columns(table)
            text_columns = [
                column["name"]
                for column in columns
                if isinstance(column["type"], (sa.Text, sa.String))
            ]
            assert text_columns, table
            quoted = ", ".join(f'"{name}"' for name in text_columns)
            rows = connection.execute(sa.text(f"SELECT {quoted} FROM {table}")).all()
            assert rows or table not in RECORD_TABLES, table
            dumped.extend(str(value) for row in rows for value in row)
    dump = "\n".join(dumped)
    for text in (*CLINICAL_TEXT, "Warfarin", "pacemaker", 'no"}', '"answer"'):
        assert text not in dump
    # The answers are there, sealed: the database holds Fernet tokens.
    assert dump.count("gAAAAA") >= 6


def test_the_patients_booking_note_is_sealed_and_the_migration_seals_old_notes(
    app, demo, make_appointment
):
    import flask_migrate

    note = "Numb left foot since Tuesday"
    appointment = make_appointment(ten_oclock(6), patient_note=note)
    raw = "SELECT patient_note FROM appointments WHERE id = :id"

    def stored() -> str:
        db.session.rollback()
        with db.engine.connect() as connection:
            return connection.execute(sa.text(raw), {"id": appointment.id}).scalar_one()

    assert note not in stored() and stored().startswith("gAAAAA")
    # Before the migration notes were plain; going back opens them, coming forward seals.
    db.session.remove()
    flask_migrate.downgrade(revision="9dfd7ea5ea7f")
    try:
        assert stored() == note
    finally:
        flask_migrate.upgrade()
    assert note not in stored()
    db.session.expire_all()
    assert db.session.get(type(appointment), appointment.id).patient_note == note


def test_the_plain_staff_notes_say_health_details_go_in_the_treatment_note(
    app, demo, make_appointment, receptionist_client
):
    # Staff notes are plain text that reception reads: before the clinical record, they were
    # the only place for clinical content, so each now says where that goes instead.
    appointment = make_appointment(ten_oclock(5), practitioner="colette-assor")
    for url, goes_in in (
        (f"/diary/appointments/{appointment.id}", "that goes in the treatment note"),
        (f"/diary/patients/{appointment.patient_id}", "belongs in the health questionnaire"),
    ):
        response = receptionist_client.get(url)
        assert response.status_code == 200, url
        page = " ".join(response.text.split())
        assert "reception included, reads this, and it is not encrypted" in page, url
        assert goes_in in page, url


def test_a_new_consent_wording_shows_consent_outdated_on_the_diary_block(
    app, demo, make_appointment, practitioner_client, monkeypatch
):
    from dataclasses import replace

    from booking.clinic.settings import clinic_settings

    start = ten_oclock(6)
    appointment = make_appointment(start, practitioner="colette-assor", session="massage")
    consent.give_consent(
        appointment.patient, [ConsentTreatment.MASSAGE], method=RecordMethod.ONLINE
    )
    day = to_local(start, clinic_settings().zone).date().isoformat()
    assert "Consent " not in _block(practitioner_client.get(f"/diary/day/{day}").text, appointment)

    new = replace(consent.current_wording(ConsentTreatment.MASSAGE), version="2027-06")
    monkeypatch.setitem(consent.WORDINGS, (ConsentTreatment.MASSAGE, "2027-06"), new)
    monkeypatch.setitem(consent.CURRENT_VERSIONS, ConsentTreatment.MASSAGE, "2027-06")
    block = _block(practitioner_client.get(f"/diary/day/{day}").text, appointment)
    assert "Consent outdated" in block
    page = practitioner_client.get(f"/diary/appointments/{appointment.id}").text
    assert "Massage: outdated" in page


def _block(day_page: str, appointment) -> str:
    """The diary block of one appointment: its link, up to the link's end."""
    start = day_page.index(f'href="/diary/appointments/{appointment.id}"')
    return day_page[start : day_page.index("</a>", start)]
