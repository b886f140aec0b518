"""Retention and rights: the export holds the clinical record; erasure keeps it until its
retention ends, then the worker erases it; the record and GP letter as PDFs."""

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.clinic import jobs
from booking.clinic.patients import erase_patient, export_record
from booking.clinic.records import notes, outcomes, retention
from booking.clinic.records.documents import gp_letter_pdf, patient_record_pdf
from booking.clinic.transaction import unit_of_work
from booking.extensions import db
from booking.models import (
    AuditEvent,
    ClinicalErasure,
    IntakeForm,
    NoteAmendment,
    OutcomeRecord,
    Patient,
    RecordMethod,
    TreatmentConsent,
    TreatmentNote,
)
from tests.clinical_helpers import FIXED_DAY, course_with_sessions

PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture
def treated(demo, make_course, make_staff):
    """A patient whose 10-session course with Colette ended, with notes, an amendment,
    outcomes, an intake form and a consent."""
    practitioner = make_staff("practitioner", practitioner=_colette())
    course = make_course(patient=None)
    sessions = course_with_sessions(course, attended=10)
    for number, session in enumerate(sessions):
        notes.save_draft(
            session,
            notes.NoteContent(
                subjective=f"Session {number + 1}: lower back ache",
                points="BL23, BL40",
                needle_count="10",
                advice="Mild soreness after cupping is common for a day or two.",
            ),
            staff_user=practitioner,
            seen_version=None,
        )
        notes.sign_note(session, staff_user=practitioner, seen_version=1)
    notes.amend_note(
        sessions[0],
        section="points",
        text="BL23, BL40, GV4",
        reason="GV4 left out",
        staff_user=practitioner,
    )
    for session, pain in ((sessions[0], 7), (sessions[4], 5), (sessions[9], 2)):
        outcomes.record_outcome(
            session,
            pain=pain,
            activities=[("Bending to tie shoes", 10 - pain)],
            method=RecordMethod.ONLINE,
        )
    intake = IntakeForm(
        patient_id=course.patient_id,
        questions_version="2026-12",
        method=RecordMethod.ONLINE.value,
        date_of_birth="1980-05-17",
        gp_name="Dr Example",
        gp_practice="Example Surgery",
        problem="Back pain for months",
        submitted_at=FIXED_DAY - timedelta(days=3),
    )
    intake.answers = {"anticoagulants": {"answer": "yes", "details": "warfarin"}}
    db.session.add(intake)
    db.session.add(
        TreatmentConsent(
            patient_id=course.patient_id,
            treatment="acupuncture",
            wording_version="2026-12",
            method=RecordMethod.DESK.value,
            given_at=FIXED_DAY - timedelta(days=1),
        )
    )
    db.session.commit()
    return course, sessions, practitioner


def _colette():
    from tests.clinical_helpers import colette

    return colette()


def test_the_export_holds_the_decrypted_clinical_record_for_an_admin(treated, make_staff):
    course, _, _ = treated
    admin = make_staff("admin")
    record = export_record(course.patient, staff_user=admin)
    clinical = record["clinical_record"]
    assert clinical["included"] is True
    assert len(clinical["treatment_notes"]) == 10
    first = clinical["treatment_notes"][0]
    assert first["sections"]["points"] == "BL23, BL40"  # the original, as signed
    assert first["amendments"][0]["text"] == "BL23, BL40, GV4"
    assert first["amendments"][0]["reason"] == "GV4 left out"
    scores = clinical["outcomes"][0]["scores"]
    assert [score["pain"] for score in scores] == [7, 5, 2]
    assert (
        clinical["intake_questionnaires"][0]["answers"]["anticoagulants"]["details"] == "warfarin"
    )
    assert clinical["consents"][0]["treatment"] == "acupuncture"
    json.dumps(record)  # all of it is JSON-ready


def test_a_receptionists_export_leaves_the_clinical_record_out(treated, make_staff):
    course, _, _ = treated
    record = export_record(course.patient, staff_user=make_staff("receptionist"))
    assert record["clinical_record"]["included"] is False
    assert "lower back" not in json.dumps(record)
    # It names who can: an administrator. The patient's practitioner, whom it once named,
    # cannot open the export at all.
    assert "Only an administrator may export" in record["clinical_record"]["why"]
    assert "practitioner" not in record["clinical_record"]["why"]


def test_the_patients_practitioner_cannot_open_the_export(app, treated, sign_in):
    course, _, practitioner = treated
    client = app.test_client()
    assert sign_in(client, practitioner).status_code == 302
    assert client.get(f"/diary/patients/{course.patient_id}/export.json").status_code == 403


def test_a_receptionists_export_leaves_out_what_the_patient_wrote_when_booking(treated, make_staff):
    course, sessions, _ = treated
    with unit_of_work():
        sessions[0].patient_note = "numb left foot since Tuesday"
    receptionist = export_record(course.patient, staff_user=make_staff("receptionist"))
    assert "numb left foot" not in json.dumps(receptionist)
    admin = export_record(course.patient, staff_user=make_staff("admin"))
    assert "numb left foot" in json.dumps(admin)


def test_erasure_keeps_the_clinical_record_until_retention_ends_then_the_worker_erases_it(
    treated, make_staff
):
    course, sessions, _ = treated
    patient_id = course.patient_id
    name = course.patient.name
    admin = make_staff("admin")
    now = sessions[-1].ends_at + timedelta(days=30)
    erasure = erase_patient(course.patient, typed_name=name, staff_user=admin, now=now)

    # The law's minimum first: contact details go now; the clinical record stays.
    patient = db.session.get(Patient, patient_id)
    assert patient.name == "Erased patient" and patient.email is None
    kept = db.session.scalar(sa.select(ClinicalErasure))
    last_treatment = sessions[-1].ends_at
    assert kept.last_treatment_at == last_treatment
    assert kept.erase_after == last_treatment.replace(year=last_treatment.year + 8)
    assert erasure.clinical_record_kept_until == kept.erase_after
    assert retention.kept_identity(patient_id)["name"] == name
    assert db.session.scalar(sa.select(sa.func.count(TreatmentNote.id))) == 10

    # The worker's job before the period ends erases nothing ...
    jobs.run_due_jobs(kept.erase_after - timedelta(days=1))
    assert db.session.scalar(sa.select(sa.func.count(TreatmentNote.id))) == 10

    # ... and after it, everything, with an audit event in counts.
    assert retention.erase_due_clinical_records(kept.erase_after + timedelta(hours=1)) == 1
    for model in (TreatmentNote, NoteAmendment, OutcomeRecord, IntakeForm, TreatmentConsent):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
    db.session.rollback()
    kept = db.session.scalar(sa.select(ClinicalErasure))
    assert kept.erased_at is not None and kept.kept_identity is None
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "clinical_record.erased")
    )
    assert event.details["notes"] == 10 and event.details["amendments"] == 1
    assert event.details["intake_forms"] == 1
    # Run again: nothing more to do.
    assert retention.erase_due_clinical_records(kept.erase_after + timedelta(days=2)) == 0


def test_the_worker_runs_the_erasure_as_a_scheduled_job(treated, make_staff):
    course, sessions, _ = treated
    admin = make_staff("admin")
    erase_patient(
        course.patient,
        typed_name=course.patient.name,
        staff_user=admin,
        now=sessions[-1].ends_at + timedelta(days=1),
    )
    kept = db.session.scalar(sa.select(ClinicalErasure))
    ran = jobs.run_due_jobs(kept.erase_after + timedelta(minutes=1))
    assert "clinical-erasures" in ran
    assert db.session.scalar(sa.select(sa.func.count(TreatmentNote.id))) == 0


def test_the_retention_period_is_a_clinic_setting_and_a_child_is_kept_to_25(treated, make_staff):
    from booking.clinic.settings import clinic_settings, forget_clinic_settings
    from booking.models import ClinicSettings

    course, sessions, _ = treated
    settings = db.session.get(ClinicSettings, 1)
    settings.clinical_retention_years = 10
    db.session.commit()
    forget_clinic_settings()
    last = sessions[-1].ends_at
    assert clinic_settings().clinical_retention_years == 10
    assert retention.retention_ends(course.patient_id, now=last) == last.replace(
        year=last.year + 10
    )
    # Treated at 12 (born 2014): kept until the 25th birthday, later than 10 years on.
    intake = db.session.scalar(sa.select(IntakeForm))
    intake.date_of_birth = "2014-01-20"
    db.session.commit()
    ends = retention.retention_ends(course.patient_id, now=last)
    assert ends == datetime(2039, 1, 20, tzinfo=UTC)  # London midnight in winter is UTC's
    # Born in summer: the 25th birthday begins at London's midnight, 23:00 UTC the day before.
    intake.date_of_birth = "2014-06-20"
    db.session.commit()
    assert retention.retention_ends(course.patient_id, now=last) == datetime(
        2039, 6, 19, 23, tzinfo=UTC
    )


def test_a_patient_without_a_clinical_record_has_nothing_kept(demo, make_patient, make_staff):
    patient = make_patient()
    erase_patient(patient, typed_name=patient.name, staff_user=make_staff("admin"), now=FIXED_DAY)
    assert db.session.scalar(sa.select(ClinicalErasure)) is None


def _pdf_text(content: bytes, tmp_path) -> str:
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: `make browser` installs it")
    path = tmp_path / "document.pdf"
    path.write_bytes(content)
    return subprocess.run(
        [PDFTOTEXT, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_record_pdf_reads_back_with_every_note_and_its_amendment(treated, tmp_path):
    course, _, _ = treated
    patient = course.patient
    patient.name = "Zoë Łukasiewicz Ξένια"  # outside latin-1: no crash, and kept as written
    db.session.commit()
    text = _pdf_text(patient_record_pdf(patient, now=FIXED_DAY).content, tmp_path)
    assert "Zoë Łukasiewicz Ξένια" in text
    assert "Session 10: lower back ache" in text
    assert "BL23, BL40, GV4" in text and "GV4 left out" in text
    assert "pain 7/10" in text and "pain 2/10" in text


def test_a_script_the_font_lacks_gives_a_pdf_not_an_error(treated, tmp_path):
    course, _, _ = treated
    course.patient.name = "陈 Chen"
    db.session.commit()
    assert "Chen" in _pdf_text(patient_record_pdf(course.patient, now=FIXED_DAY).content, tmp_path)


def test_the_gp_letter_summarises_treatment_change_and_safety_advice(treated, tmp_path):
    course, _, _ = treated
    text = " ".join(_pdf_text(gp_letter_pdf(course, now=FIXED_DAY).content, tmp_path).split())
    assert "attended 10 of the 10 sessions" in text
    assert "Pain went from 7 out of 10 at the first session to 2" in text
    assert "Mild soreness after cupping is common" in text
    assert "between 10 and 10 single-use sterile needles" in text
    assert "makes no claim that the treatment cured" in text
    assert "cure" not in text.replace("makes no claim that the treatment cured", "")


def test_the_pdfs_are_staff_only_and_audited(treated, app, sign_in, receptionist_client):
    course, _, practitioner = treated
    assert (
        receptionist_client.get(
            f"/diary/patients/{course.patient_id}/clinical-record.pdf"
        ).status_code
        == 403
    )
    assert receptionist_client.get(f"/diary/courses/{course.id}/gp-letter.pdf").status_code == 403
    client = app.test_client()
    sign_in(client, practitioner)
    response = client.get(f"/diary/courses/{course.id}/gp-letter.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    response = client.get(f"/diary/patients/{course.patient_id}/clinical-record.pdf")
    assert response.status_code == 200
    from booking.models import AccessEvent

    actions = db.session.scalars(
        sa.select(AccessEvent.action).where(AccessEvent.patient_id == course.patient_id)
    ).all()
    assert "patient.gp_letter_read" in actions and "patient.record_pdf_read" in actions


def test_the_admin_sets_the_retention_period_but_not_below_eight_years(admin_client):
    from booking.models import ClinicSettings
    from tests.test_admin import post_settings

    refused = post_settings(admin_client, clinical_retention_years="5")
    assert refused.status_code == 422
    assert "How long clinical records are kept must be between 8 and 100 years" in (
        refused.get_data(as_text=True)
    )
    assert post_settings(admin_client, clinical_retention_years="10").status_code == 302
    db.session.rollback()
    assert db.session.get(ClinicSettings, 1).clinical_retention_years == 10
