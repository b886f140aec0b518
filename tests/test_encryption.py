"""Clinical content is sealed with the record keys, and keys can be rotated."""

import pytest
from cryptography.fernet import Fernet

from booking.encryption import (
    ClinicalKeyMissing,
    EncryptedText,
    open_text,
    reseal_text,
    seal_text,
)


def test_sealed_text_holds_no_clear_text_and_opens_again(app):
    token = seal_text("Takes warfarin; faints at needles")
    assert "warfarin" not in token
    assert open_text(token) == "Takes warfarin; faints at needles"


def test_a_new_first_key_opens_old_records_and_reseals_them(app, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", old)
    token = seal_text("pacemaker fitted 2019")

    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", f"{new},{old}")
    resealed = reseal_text(token)
    assert open_text(resealed) == "pacemaker fitted 2019"

    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", new)
    assert open_text(resealed) == "pacemaker fitted 2019"
    with pytest.raises(ClinicalKeyMissing):
        open_text(token)


def test_production_refuses_to_seal_without_keys(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", "")
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS_REQUIRED", True)
    with pytest.raises(ClinicalKeyMissing):
        seal_text("anything")


def test_the_column_type_seals_on_the_way_in_and_opens_on_the_way_out(app):
    column = EncryptedText()
    stored = column.process_bind_param("bleeding disorder", None)
    assert stored is not None and "bleeding" not in stored
    assert column.process_result_value(stored, None) == "bleeding disorder"
    assert column.process_bind_param(None, None) is None


def test_without_the_right_key_the_diary_works_and_the_record_says_it_cannot_be_opened(
    app, demo, make_appointment, receptionist_client, practitioner_client, monkeypatch
):
    """A key lost or left out (the README's warning): only the clinical record is lost.

    The booking's note is sealed on every appointment, so a value no key opened used to
    fail every query of appointments: the diary, the booking pages and the worker.
    """
    import sqlalchemy as sa

    from booking.clinic.localtime import to_local
    from booking.clinic.records import intake
    from booking.clinic.settings import clinic_settings
    from booking.encryption import UNREADABLE
    from booking.extensions import db
    from booking.models import RecordMethod
    from tests.forms import csrf_token
    from tests.records_helpers import PACEMAKER_DETAILS, answers, ten_oclock

    old = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", old)
    start = ten_oclock(4)
    appointment = make_appointment(
        start, practitioner=practitioner_client.user.practitioner, patient_note="Sore left hip"
    )
    intake.submit_intake(
        appointment.patient,
        answers(pacemaker_or_implants=PACEMAKER_DETAILS),
        method=RecordMethod.ONLINE,
    )
    ids = appointment.id, appointment.patient_id

    def stored() -> list[str]:
        with db.engine.connect() as connection:
            return [
                *connection.execute(sa.text("SELECT patient_note FROM appointments")).scalars(),
                *connection.execute(sa.text("SELECT answers FROM intake_forms")).scalars(),
            ]

    before = stored()
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", Fernet.generate_key().decode())
    db.session.rollback()
    day = to_local(start, clinic_settings().zone).date().isoformat()

    # The diary and the appointment page still open, for reception and the practitioner.
    assert receptionist_client.get(f"/diary/day/{day}").status_code == 200
    assert receptionist_client.get(f"/diary/appointments/{ids[0]}").status_code == 200
    page = practitioner_client.get(f"/diary/appointments/{ids[0]}")
    assert page.status_code == 200
    assert 'id="record-unreadable"' in page.text and "None: nothing" not in page.text
    assert UNREADABLE in page.text  # where the booking's note was
    # The answers themselves: a clear page saying why, not a crash.
    refused = practitioner_client.get(f"/diary/patients/{ids[1]}/intake")
    assert refused.status_code == 503 and "cannot be opened" in refused.text
    # A change to the appointment that does not touch its note is kept ...
    note_form = practitioner_client.post(
        f"/diary/appointments/{ids[0]}/note",
        data={"csrf_token": csrf_token(page.text), "note": "Prefers mornings"},
    )
    assert note_form.status_code == 302
    # ... and the placeholder is never written back over the sealed value.
    db.session.rollback()
    from booking.models import Appointment

    kept = db.session.get(Appointment, ids[0])
    assert kept.patient_note == UNREADABLE
    with pytest.raises(ClinicalKeyMissing):
        EncryptedText().process_bind_param(kept.patient_note.strip(), None)
    db.session.rollback()
    assert stored() == before

    # With the key back, everything reads as it was.
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", old)
    db.session.expire_all()
    assert db.session.get(Appointment, ids[0]).patient_note == "Sore left hip"
    assert PACEMAKER_DETAILS in practitioner_client.get(f"/diary/patients/{ids[1]}/intake").text
