"""`flask records rotate-key`: every sealed value re-sealed with the first key, in batches."""

import sqlalchemy as sa
from cryptography.fernet import Fernet

from booking.clinic.records import consent, intake, red_flags
from booking.clinic.records.key_rotation import sealed_columns
from booking.extensions import db
from booking.models import IntakeForm, RecordMethod
from tests.records_helpers import PACEMAKER_DETAILS, PROBLEM, answers


def _tokens() -> dict[tuple[str, str, int], str]:
    """Every sealed value as stored: (table, column, id) -> token."""
    found = {}
    with db.engine.connect() as connection:
        for table, columns in sealed_columns():
            names = ", ".join(f'"{column.name}"' for column in columns)
            for row in connection.execute(sa.text(f"SELECT id, {names} FROM {table.name}")):
                for column, token in zip(columns, row[1:], strict=True):
                    if token is not None:
                        found[(table.name, column.name, row[0])] = token
    return found


def test_rotation_reseals_every_value_so_the_old_key_can_go(
    app, demo, make_appointment, make_patient, monkeypatch
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", old)
    patients = [make_patient() for _ in range(5)]
    for patient in patients:
        intake.submit_intake(
            patient, answers(pacemaker_or_implants=PACEMAKER_DETAILS), method=RecordMethod.ONLINE
        )
    from datetime import UTC, datetime, timedelta

    appointment = make_appointment(datetime.now(UTC) + timedelta(days=2))
    red_flags.record_recheck(appointment, {"cauda_equina": "no", "other_warning": "no"})
    consent.give_consent(
        patients[0], [consent.ConsentTreatment.MASSAGE], method=RecordMethod.ONLINE
    )
    before = _tokens()
    # Five sealed columns per questionnaire, one per check, the appointment's booking note.
    assert len(before) == 5 * 5 + 1 + 1

    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", f"{new},{old}")
    result = app.test_cli_runner().invoke(args=["records", "rotate-key", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert f"Re-sealed {len(before)} values in 7 rows of" in result.output

    after = _tokens()
    assert after.keys() == before.keys()
    assert all(after[key] != before[key] for key in before)
    # Only the new key now: everything still opens, and no old token would.
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", new)
    db.session.expire_all()
    forms = db.session.scalars(sa.select(IntakeForm)).all()
    assert {form.problem for form in forms} == {PROBLEM}
    assert all(intake.flags_of(form)[0].details == PACEMAKER_DETAILS for form in forms)


def test_rotation_without_the_old_key_stops_with_a_message_and_changes_nothing_it_cannot_open(
    app, demo, make_patient, monkeypatch
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", old)
    intake.submit_intake(make_patient(), answers(), method=RecordMethod.ONLINE)
    before = _tokens()

    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", new)  # the old key forgotten
    result = app.test_cli_runner().invoke(args=["records", "rotate-key"])
    assert result.exit_code == 1, result.exception
    assert "add the old key" in result.output + getattr(result, "stderr", "")
    assert _tokens() == before
