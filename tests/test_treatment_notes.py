"""Treatment notes: template pre-fill, draft, sign and lock, amendments, least privilege."""

from datetime import timedelta

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


def test_a_note_cannot_be_signed_before_the_visit_has_started(
    practitioner_client, make_appointment
):
    from booking.database import utcnow

    starts_at = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    coming = make_appointment(starts_at, practitioner="colette-assor", session="massage")
    response = _save(practitioner_client, coming, action="sign", subjective="Plan for Tuesday")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "has not started yet" in html and "The draft is kept" in html
    db.session.rollback()
    note = db.session.scalar(sa.select(TreatmentNote))
    assert note.status == "draft" and note.subjective == "Plan for Tuesday"

    # The page it answered with goes on from the saved draft: saving again is not refused
    # as a change made in another window.
    version = html.split('name="version" type="hidden" value="', 1)[1].split('"', 1)[0]
    again = practitioner_client.post(
        f"/diary/appointments/{coming.id}/treatment-note",
        data={
            "csrf_token": csrf_token(html),
            "version": version,
            "action": "save",
            "subjective": "Plan for Tuesday, revised",
        },
    )
    assert again.status_code == 302, again.get_data(as_text=True)

    # The domain refuses up to the start and signs from the start itself.
    user = practitioner_client.user
    db.session.rollback()
    note = db.session.scalar(sa.select(TreatmentNote))
    with pytest.raises(DomainError, match="has not started yet"):
        notes.sign_note(
            coming,
            staff_user=user,
            seen_version=note.version,
            now=starts_at - timedelta(minutes=1),
        )
    signed = notes.sign_note(coming, staff_user=user, seen_version=note.version, now=starts_at)
    assert signed.is_signed


def test_signing_drops_the_templates_headings_left_empty_and_the_draft_keeps_them(
    practitioner_client, visit
):
    blank = notes.blank_content(visit)
    subjective = blank.subjective.replace(
        "Presenting complaint:", "Presenting complaint:\nAche in the left buttock since May"
    ).replace("Pain today (0-10):", "Pain today (0-10): 6")
    plan = blank.plan.replace("Home advice:", "Home advice:\n\n  Walk twenty minutes a day")
    sections = {
        "subjective": subjective,
        "objective": blank.objective,  # every prompt left unanswered
        "assessment": blank.assessment,
        "plan": plan,
        "advice": blank.advice,
        "points": "BL25, GB30",
    }
    assert _save(practitioner_client, visit, **sections).status_code == 302
    db.session.rollback()
    draft = db.session.scalar(sa.select(TreatmentNote))
    assert "Change since last visit:" in draft.subjective
    assert draft.objective == blank.objective and draft.advice == blank.advice

    assert _save(practitioner_client, visit, action="sign", **sections).status_code == 302
    db.session.rollback()
    note = db.session.scalar(sa.select(TreatmentNote))
    assert note.is_signed
    assert note.subjective == (
        "Presenting complaint:\nAche in the left buttock since May\nPain today (0-10): 6"
    )
    assert note.objective == "" and note.assessment == "" and note.advice == ""
    assert note.plan == "Home advice:\n\n  Walk twenty minutes a day"
    assert note.points == "BL25, GB30"
    html = _note_page(practitioner_client, visit).get_data(as_text=True)
    assert "Change since last visit:" not in html and "Range of movement:" not in html


def test_a_note_of_nothing_but_prompts_is_refused_as_empty(
    admin_client, practitioner_client, visit
):
    # A clinic's own template counts as prompts too.
    page = admin_client.get(f"/diary/session-types/{visit.session_type_id}/note-template")
    admin_client.post(
        f"/diary/session-types/{visit.session_type_id}/note-template",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "subjective": "Where it hurts today:",
            "objective": "Muscle tone:",
            "assessment": "",
            "plan": "",
            "advice": "Drink water; soreness for a day is common.",
        },
    )
    response = _save(
        practitioner_client,
        visit,
        action="sign",
        subjective="Where it hurts today:\n\n",
        objective="Muscle tone:",
    )
    assert response.status_code == 409
    assert "This note is empty" in response.get_data(as_text=True)
    db.session.rollback()
    note = db.session.scalar(sa.select(TreatmentNote))
    assert note.status == "draft" and note.subjective == "Where it hurts today:"

    # A template line that is not a heading is the clinic's standing text, and is kept.
    signed = _save(
        practitioner_client,
        visit,
        action="sign",
        subjective="Where it hurts today:\nRight hip",
        objective="Muscle tone:",
        advice="Drink water; soreness for a day is common.",
    )
    assert signed.status_code == 302
    db.session.rollback()
    note = db.session.scalar(sa.select(TreatmentNote))
    assert note.is_signed and note.objective == ""
    assert note.subjective == "Where it hurts today:\nRight hip"
    assert note.advice == "Drink water; soreness for a day is common."
