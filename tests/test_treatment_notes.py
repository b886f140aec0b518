"""Treatment notes: template pre-fill, draft, sign and lock, amendments, least privilege."""

import pytest
import sqlalchemy as sa

from booking.clinic.errors import DomainError
from booking.clinic.records import notes
from booking.extensions import db
from booking.models import AccessEvent, AuditEvent, SessionType, TreatmentNote
from tests.clinical_helpers import FIXED_DAY, colette
from tests.forms import csrf_token


@pytest.fixture
def visit(demo, make_appointment):
    return make_appointment(FIXED_DAY, practitioner="colette-assor", session="massage")


def _note_page(client, appointment):
    return client.get(f"/diary/appointments/{appointment.id}/treatment-note")


def _save(client, appointment, action="save", **sections):
    page = _note_page(client, appointment)
    html = page.get_data(as_text=True)
    version = ""
    marker = 'name="version" type="hidden" value="'
    if marker in html:
        version = html.split(marker, 1)[1].split('"', 1)[0]
    data = {"csrf_token": csrf_token(html), "version": version, "action": action}
    data.update(sections)
    return client.post(f"/diary/appointments/{appointment.id}/treatment-note", data=data)


def test_a_blank_note_is_pre_filled_from_the_session_types_template(
    practitioner_client, admin_client, visit
):
    massage = db.session.scalar(sa.select(SessionType).filter_by(slug="massage"))
    page = admin_client.get(f"/diary/session-types/{massage.id}/note-template")
    assert page.status_code == 200
    response = admin_client.post(
        f"/diary/session-types/{massage.id}/note-template",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "subjective": "Where it hurts today:",
            "objective": "Muscle tone:",
            "assessment": "",
            "plan": "Stretches to show:",
            "advice": "Drink water; soreness for a day is common.",
        },
    )
    assert response.status_code == 302

    html = _note_page(practitioner_client, visit).get_data(as_text=True)
    assert "Where it hurts today:" in html
    assert "Stretches to show:" in html
    assert "soreness for a day is common" in html
    # A session type without a template starts from the clinic's default prompts.
    assert notes.blank_content(visit).subjective == "Where it hurts today:"


def test_only_admins_edit_templates(practitioner_client, visit):
    assert (
        practitioner_client.get(
            f"/diary/session-types/{visit.session_type_id}/note-template"
        ).status_code
        == 403
    )


def test_a_practitioner_drafts_signs_and_the_signed_note_is_locked(practitioner_client, visit):
    response = _save(
        practitioner_client, visit, subjective="Low back pain, worse sitting", needle_count="12"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/diary/appointments/{visit.id}/treatment-note")
    db.session.rollback()
    note = db.session.scalar(sa.select(TreatmentNote))
    assert note.status == "draft" and note.needle_count == "12"

    response = _save(
        practitioner_client,
        visit,
        action="sign",
        subjective="Low back pain, worse sitting",
        points="BL23, BL25, GB30",
        needle_count="12",
        advice="Told to expect mild soreness",
    )
    assert response.status_code == 302
    db.session.rollback()
    note = db.session.scalar(sa.select(TreatmentNote))
    assert note.status == "signed" and note.signed_at is not None
    assert note.points == "BL23, BL25, GB30"

    # A crafted POST to the draft form is refused and changes nothing.
    token = csrf_token(_note_page(practitioner_client, visit).get_data(as_text=True))
    crafted = practitioner_client.post(
        f"/diary/appointments/{visit.id}/treatment-note",
        data={
            "csrf_token": token,
            "version": str(note.version),
            "subjective": "overwritten",
            "action": "save",
        },
    )
    assert crafted.status_code == 409
    assert "signed and locked" in crafted.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(TreatmentNote, note.id).subjective == "Low back pain, worse sitting"

    # And so is the domain call itself, whatever version it names.
    with pytest.raises(DomainError, match="signed and locked"):
        notes.save_draft(
            visit,
            notes.NoteContent(subjective="again"),
            staff_user=practitioner_client.user,
            seen_version=note.version,
        )


def test_amendments_append_with_reason_and_the_history_keeps_the_original(
    practitioner_client, visit
):
    _save(practitioner_client, visit, action="sign", subjective="Left knee", points="ST35")
    page = _note_page(practitioner_client, visit).get_data(as_text=True)
    no_reason = practitioner_client.post(
        f"/diary/appointments/{visit.id}/treatment-note/amend",
        data={"csrf_token": csrf_token(page), "section": "subjective", "text": "Right knee"},
    )
    assert no_reason.status_code == 409
    assert "Say why" in no_reason.get_data(as_text=True)

    response = practitioner_client.post(
        f"/diary/appointments/{visit.id}/treatment-note/amend",
        data={
            "csrf_token": csrf_token(page),
            "section": "subjective",
            "text": "Right knee",
            "reason": "Wrong side typed",
        },
    )
    assert response.status_code == 302
    db.session.rollback()
    note = db.session.scalar(sa.select(TreatmentNote))
    assert note.subjective == "Left knee"  # the original is never overwritten
    assert notes.current_content(note).subjective == "Right knee"
    entries = notes.history(note)
    assert [entry.kind for entry in entries] == ["original", "amendment"]
    assert entries[1].reason == "Wrong side typed"
    assert entries[1].by == practitioner_client.user.name

    html = _note_page(practitioner_client, visit).get_data(as_text=True)
    assert "Left knee" in html and "Right knee" in html and "Wrong side typed" in html
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert {"note.saved", "note.signed", "note.amended"} <= set(actions)


def test_only_the_appointments_practitioner_writes_admins_read_reception_never(
    practitioner_client, admin_client, receptionist_client, make_appointment
):
    sam_visit = make_appointment(FIXED_DAY, practitioner="sam-okafor", session="massage")
    # Colette may not write Sam's note, even with a crafted POST.
    page = admin_client.get(f"/diary/appointments/{sam_visit.id}/treatment-note")
    assert page.status_code == 200
    own_visit = make_appointment(FIXED_DAY, practitioner="colette-assor", session="massage")
    own_token = csrf_token(_note_page(practitioner_client, own_visit).get_data(as_text=True))
    crafted = practitioner_client.post(
        f"/diary/appointments/{sam_visit.id}/treatment-note",
        data={"csrf_token": own_token, "subjective": "x"},
    )
    assert crafted.status_code == 403
    # Nor read it: Sam's patient is not hers.
    assert (
        practitioner_client.get(f"/diary/appointments/{sam_visit.id}/treatment-note").status_code
        == 403
    )
    # An admin reads, and may not write.
    assert (
        admin_client.post(
            f"/diary/appointments/{sam_visit.id}/treatment-note",
            data={"csrf_token": csrf_token(page.get_data(as_text=True)), "subjective": "x"},
        ).status_code
        == 403
    )
    # Reception is refused the note outright.
    assert (
        receptionist_client.get(f"/diary/appointments/{sam_visit.id}/treatment-note").status_code
        == 403
    )
    assert db.session.scalar(sa.select(TreatmentNote)) is None


def test_every_read_of_a_note_is_in_the_access_log(admin_client, visit):
    admin_client.get(f"/diary/appointments/{visit.id}/treatment-note")
    admin_client.get(f"/diary/appointments/{visit.id}/treatment-note")
    reads = db.session.scalars(
        sa.select(AccessEvent).where(AccessEvent.action == "patient.treatment_note_read")
    ).all()
    assert len(reads) == 2 and reads[0].patient_id == visit.patient_id


def test_the_note_is_sealed_in_the_database(practitioner_client, visit):
    _save(practitioner_client, visit, subjective="Takes warfarin daily")
    raw = db.session.execute(sa.text("select subjective from treatment_notes")).scalar_one()
    assert "warfarin" not in raw
    assert db.session.scalar(sa.select(TreatmentNote)).subjective == "Takes warfarin daily"


def test_a_bad_needle_count_keeps_the_form_and_says_why(practitioner_client, visit):
    response = _save(practitioner_client, visit, subjective="Kept text", needle_count="twelve")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Needle count: a whole number" in html and "Kept text" in html


def test_the_receptionist_sees_whether_a_note_exists_but_not_its_content(
    practitioner_client, receptionist_client, visit
):
    _save(practitioner_client, visit, action="sign", subjective="Secret clinical words")
    html = receptionist_client.get(f"/diary/appointments/{visit.id}").get_data(as_text=True)
    assert "signed" in html
    assert "Secret clinical words" not in html
    assert f"/diary/appointments/{visit.id}/treatment-note" not in html
    assert colette() is not None


def test_a_control_character_in_a_note_is_refused_with_the_form_kept(practitioner_client, visit):
    response = _save(practitioner_client, visit, subjective="Ache\x00 in the knee", plan="Kept")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please correct the highlighted answers below." in html and "Kept" in html
    db.session.rollback()
    assert db.session.scalar(sa.select(TreatmentNote)) is None


def test_a_forged_amendment_section_is_refused(practitioner_client, visit):
    _save(practitioner_client, visit, action="sign", subjective="Knee")
    page = _note_page(practitioner_client, visit).get_data(as_text=True)
    response = practitioner_client.post(
        f"/diary/appointments/{visit.id}/treatment-note/amend",
        data={
            "csrf_token": csrf_token(page),
            "section": "status",
            "text": "draft",
            "reason": "x",
        },
    )
    assert response.status_code == 422
    db.session.rollback()
    assert db.session.scalar(sa.select(TreatmentNote)).status == "signed"
