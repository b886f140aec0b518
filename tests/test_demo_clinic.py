"""`flask seed-demo` as `make run` runs it: every role signs in with the password printed
once and finds the demo's content on its screens; reception still reads no clinical content;
running it again changes nothing."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.clinic.localtime import to_local
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    Course,
    Document,
    IntakeForm,
    LedgerEntry,
    NoteAmendment,
    OutcomeRecord,
    Patient,
    StaffUser,
    TreatmentConsent,
    TreatmentNote,
    WaitingListEntry,
)

COUNTED = (
    Appointment,
    Course,
    Document,
    IntakeForm,
    LedgerEntry,
    NoteAmendment,
    OutcomeRecord,
    Patient,
    StaffUser,
    TreatmentConsent,
    TreatmentNote,
    WaitingListEntry,
)
NOTE_WORDS = "left-sided sciatica"
FLAGGED_WORDS = "Daily aspirin"


def _counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in COUNTED
    }


@pytest.fixture
def seeded(app):
    """The demo clinic loaded by the command; the passwords it printed, by email."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    found = re.findall(r"email:\s+(\S+)\s+password:\s+(\S+)", result.output)
    db.session.rollback()
    return dict(found), result.output


def _client(app, email: str, password: str):
    client = app.test_client()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/staff/sign-in", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert "/second-factor" not in response.headers["Location"]
    return client


def _patient(email: str) -> Patient:
    return db.session.scalar(sa.select(Patient).filter_by(email=email))


def _visits(patient: Patient) -> list[Appointment]:
    return list(
        db.session.scalars(
            sa.select(Appointment).filter_by(patient_id=patient.id).order_by(Appointment.starts_at)
        )
    )


def test_the_demo_prints_a_sign_in_for_each_role_once_and_adds_nothing_the_second_time(app, seeded):
    passwords, output = seeded
    assert list(passwords) == [
        "reception@clinic.example",  # first: scripts read the first password printed
        "colette@clinic.example",
        "admin@clinic.example",
    ]
    assert "requires no second factor" in output
    assert clinic_settings().second_factor_roles == ""
    roles = dict(db.session.execute(sa.select(StaffUser.email, StaffUser.role)).all())
    assert roles == {
        "reception@clinic.example": "receptionist",
        "colette@clinic.example": "practitioner",
        "admin@clinic.example": "admin",
    }
    before = _counts()
    assert before["TreatmentNote"] and before["Document"] and before["WaitingListEntry"]

    again = app.test_cli_runner().invoke(args=["seed-demo"])
    assert again.exit_code == 0
    assert "password:" not in again.output
    assert "already existed" in again.output
    db.session.rollback()
    assert _counts() == before
    for email, password in passwords.items():
        assert db.session.scalar(sa.select(StaffUser).filter_by(email=email)).check_password(
            password
        )


def test_the_demos_past_is_relative_to_now_and_its_clinical_record_is_sealed(app, seeded):
    now = utcnow()
    zone = clinic_settings().zone
    nadia = _patient("nadia.rahman@example.org")
    visits = _visits(nadia)
    assert len(visits) == 5 and all(v.starts_at < now for v in visits)
    assert visits[-1].starts_at > now - timedelta(days=5)  # the latest working day
    assert {to_local(v.starts_at, zone).weekday() for v in visits} <= set(range(5))
    assert all(v.status == "attended" for v in visits)
    notes = db.session.scalars(
        sa.select(TreatmentNote).filter_by(patient_id=nadia.id).order_by(TreatmentNote.id)
    ).all()
    assert [n.status for n in notes] == ["signed"] * 4 + ["draft"]
    # Sealed at rest: the raw column holds no clinical words.
    raw = db.session.execute(sa.text("SELECT subjective FROM treatment_notes")).scalars().all()
    assert raw and not any(NOTE_WORDS in text for text in raw)
    raw_answers = db.session.execute(sa.text("SELECT answers FROM intake_forms")).scalars().all()
    assert not any(FLAGGED_WORDS in text for text in raw_answers)
    # Through the domain functions: their audit events are there.
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"note.saved", "note.signed", "note.amended", "payment.recorded"} <= actions
    assert {"document.issued", "outcome.recorded", "consent.taken_at_desk"} <= actions


def test_the_practitioner_finds_flags_consent_notes_and_scores(app, seeded):
    passwords, _ = seeded
    nadia = _patient("nadia.rahman@example.org")
    first, latest = _visits(nadia)[0], _visits(nadia)[-1]
    client = _client(app, "colette@clinic.example", passwords["colette@clinic.example"])
    page = client.get(f"/diary/appointments/{first.id}").get_data(as_text=True)
    assert FLAGGED_WORDS in page and "Acupuncture: given" in page
    note = client.get(f"/diary/appointments/{first.id}/treatment-note").get_data(as_text=True)
    assert NOTE_WORDS in note and "GV4 was used but left out" in note
    draft = client.get(f"/diary/appointments/{latest.id}/treatment-note").get_data(as_text=True)
    assert "Draft, not signed yet" in draft and "Save and sign" in draft
    scores = client.get(f"/diary/courses/{first.course_id}/outcomes")
    assert scores.status_code == 200
    assert "Sitting through a work meeting" in scores.get_data(as_text=True)


def test_the_admin_finds_notes_takings_and_the_receipt(app, seeded):
    passwords, _ = seeded
    client = _client(app, "admin@clinic.example", passwords["admin@clinic.example"])
    daniel = _patient("daniel.osei@example.org")
    visit = _visits(daniel)[0]
    note = client.get(f"/diary/appointments/{visit.id}/treatment-note").get_data(as_text=True)
    assert "ache across the lower back" in note
    receipt = db.session.scalar(sa.select(Document).filter_by(patient_id=daniel.id))
    shown = client.get(f"/diary/documents/{receipt.id}").get_data(as_text=True)
    assert receipt.reference in shown and "Example Health Cash Plan" in shown
    day = to_local(visit.starts_at, clinic_settings().zone).date().isoformat()
    takings = client.get(f"/diary/takings?first_day={day}&last_day={day}")
    assert takings.status_code == 200 and "65.00" in takings.get_data(as_text=True)
    waiting = client.get("/diary/waiting-list").get_data(as_text=True)
    assert "Maria Novak" in waiting


def test_reception_sees_the_money_and_the_record_status_never_the_content(app, seeded):
    passwords, _ = seeded
    client = _client(app, "reception@clinic.example", passwords["reception@clinic.example"])
    nadia = _patient("nadia.rahman@example.org")
    first = _visits(nadia)[0]
    page = client.get(f"/diary/appointments/{first.id}").get_data(as_text=True)
    assert "Acupuncture: given" in page
    assert FLAGGED_WORDS not in page and NOTE_WORDS not in page
    assert client.get(f"/diary/appointments/{first.id}/treatment-note").status_code == 403
    assert client.get(f"/diary/patients/{nadia.id}/intake").status_code == 403
    assert client.get(f"/diary/courses/{first.course_id}/outcomes").status_code == 403
    grace = _patient("grace.whitfield@example.org")
    owed = client.get(f"/diary/appointments/{_visits(grace)[0].id}/payments")
    assert owed.status_code == 200 and "30.00" in owed.get_data(as_text=True)


def test_a_demo_seeded_days_ago_takes_the_past_visits_without_overlap(app):
    """An existing demo database, its diary filled ten days ago (now partly the past), is
    brought up to date by running seed-demo again: the past visits fit between its
    appointments (PostgreSQL's exclusion constraint would refuse an overlap)."""
    from booking.cli import seed_demo
    from booking.demo_diary import fill_demo_diary

    seed_demo()
    assert fill_demo_diary(now=utcnow() - timedelta(days=10)) > 0
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "were not added" not in result.output
    db.session.rollback()
    assert _visits(_patient("daniel.osei@example.org"))
    live = db.session.scalars(sa.select(Appointment).where(Appointment.status != "cancelled")).all()
    for a in live:
        for b in live:
            if a.id < b.id and a.practitioner_id == b.practitioner_id:
                assert a.ends_at <= b.starts_at or b.ends_at <= a.starts_at, (a.id, b.id)
