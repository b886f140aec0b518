"""Issue 21's "done when", end to end, as one story through the real pages.

A new patient answers the questionnaire and consents through their link; their
practitioner sees the flagged answer and the consent in the diary and on the appointment
page before treating, writes and signs a note (and amends it), records the mid-course
review and, after the course's last session, reads the outcome chart. The same patient's
other visit carries the note they typed when booking, and its pre-visit check reports a
warning sign. Then:

- the receptionist opens every staff page there is, with this patient's own ids, and
  searches for them: the content pages refuse (403) and no page, export or PDF they can
  open holds any of the clinical text;
- every read of the record by the practitioner is in the access log, and the
  receptionist's refusals are not;
- the database dump (pg_dump; SQLite's iterdump and file bytes) holds none of it, in
  any table (outbox bodies, audit and access details included), nor do the logs;
- `flask records rotate-key` re-seals it all, and the record reads with the new key alone.

Every clinical text is an invented word found nowhere else, so a match is a leak.
"""

import logging
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from werkzeug.routing import IntegerConverter

from booking.clinic.appointments import record_attendance
from booking.clinic.localtime import to_local
from booking.clinic.notifications import intake_url
from booking.clinic.records import outcomes
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import check_token
from booking.extensions import db
from booking.models import (
    AccessEvent,
    Appointment,
    AppointmentStatus,
    Document,
    LedgerEntry,
    OutboxMessage,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
)
from tests.clinical_helpers import FIXED_DAY, colette, course_with_sessions
from tests.database_dump import database_dumps
from tests.forms import csrf_token
from tests.pdf_text import pdf_text
from tests.records_helpers import ten_oclock

WORDS = {
    "problem": "Quaggamire hipgrumble",
    "gp_name": "Dr Plinkertonshire",
    "gp_practice": "Wobblesfordian Surgery",
    "implant": "Jibberjabber pacemakerthing",
    "medication": "Frobozzicillin twicedaily",
    "booking note": "Snorkelwhistle ankletwinge",
    "subjective": "Glimmerthrob lowbackache",
    "objective": "Wibblewobble gaitpattern",
    "assessment": "Hullabaloo strainpattern",
    "plan": "Brouhahaful stretchplan",
    "points": "Skedaddle-pointset",
    "cupping": "Cattywampus shoulderblade",
    "massage": "Bumfuzzle calfmuscle",
    "advice": "Taradiddle aftercare",
    "amendment": "Rigmarolish correction",
    "reason": "Codswallop mistyping",
    "activity": "Lollygagging gardenwards",
    "review": "Skulduggery progressnote",
}
# Each invented word (every part longer than eight letters), as it may appear anywhere.
PARTS = {part for word in WORDS.values() for part in word.split() if len(part) > 8}
assert len(PARTS) >= len(WORDS)

# The staff pages that exist only to show clinical content: reception is refused them.
CONTENT_PAGES = {
    "diary.patient_intake",
    "diary.treatment_note",
    "diary.course_outcomes",
    "diary.patient_record_pdf",
    "diary.gp_letter",
}


# What the diary says only to those who may read the record (that something is flagged).
READERS_ONLY = ("Flagged answers", "Check warning sign", "Check before treating")


def _leaks(text: str) -> list[str]:
    return sorted(part for part in PARTS if part in text)


def _page_text(response) -> str:
    if response.mimetype == "application/pdf":
        return pdf_text(response.data)
    return response.get_data(as_text=True)


def _post_form(client, url: str, **fields):
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return client.post(url, data={"csrf_token": csrf_token(page.text), **fields})


def _answer_the_questionnaire(client, link: str):
    from booking.clinic.records.intake import current_questionnaire

    data = {
        "date_of_birth": "1971-04-23",
        "gp_name": WORDS["gp_name"],
        "gp_practice": WORDS["gp_practice"],
        "problem": WORDS["problem"],
    }
    yes = {"pacemaker_or_implants": WORDS["implant"], "medication": WORDS["medication"]}
    for question in current_questionnaire().history:
        data[question.key] = "yes" if question.key in yes else "no"
        data[f"{question.key}_details"] = yes.get(question.key, "")
    response = _post_form(client, link, **data)
    assert response.status_code == 302 and response.location.endswith("/consent"), response.text
    consent_url = response.location
    page = client.get(consent_url).text
    boxes = sorted(set(re.findall(r'name="(consent_\w+)"', page)))
    assert boxes, "the consent page asks for nothing"
    given = _post_form(client, consent_url, **dict.fromkeys(boxes, "y"))
    assert given.status_code == 302 and given.location.endswith("/done"), given.text


def _write_and_sign_the_note(client, appointment_id: int) -> None:
    url = f"/diary/appointments/{appointment_id}/treatment-note"
    html = client.get(url).text
    version = re.search(r'name="version" type="hidden" value="([^"]*)"', html)
    signed = client.post(
        url,
        data={
            "csrf_token": csrf_token(html),
            "version": version.group(1) if version else "",
            "action": "sign",
            "subjective": WORDS["subjective"],
            "objective": WORDS["objective"],
            "assessment": WORDS["assessment"],
            "plan": WORDS["plan"],
            "points": WORDS["points"],
            "needle_count": "9",
            "cupping_sites": WORDS["cupping"],
            "massage_areas": WORDS["massage"],
            "advice": WORDS["advice"],
        },
    )
    assert signed.status_code == 302, signed.text
    amended = client.post(
        f"{url}/amend",
        data={
            "csrf_token": csrf_token(client.get(url).text),
            "section": "plan",
            "text": WORDS["amendment"],
            "reason": WORDS["reason"],
        },
    )
    assert amended.status_code == 302, amended.text
    page = client.get(url).text
    assert "Signed by" in page
    assert WORDS["subjective"] in page and WORDS["amendment"] in page and WORDS["reason"] in page


def _score(client, appointment, pain: str, score: str, name: str = "") -> None:
    link = f"/outcomes/{outcomes.outcome_token(appointment)}"
    fields = {"pain": pain, "score_1": score}
    if name:
        fields["activity_1"] = name
    response = _post_form(client, link, **fields)
    assert response.status_code == 200 and "Thank you" in response.text, response.text


def _reads_of(patient_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AccessEvent)
        .where(AccessEvent.patient_id == patient_id)
    )


def _practitioner(slug: str) -> Practitioner:
    return db.session.scalar(sa.select(Practitioner).filter_by(slug=slug))


def _staff_urls(app, ids: dict[str, list[int]], days: list[str], slugs: list[str]):
    """Every staff GET page, once for each of the scene's ids its address takes."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.endpoint.startswith(
            ("diary.", "auth.", "feeds.staff", "feeds.download")
        ):
            continue
        if rule.endpoint in {"auth.sign_in", "auth.second_factor"}:
            continue
        values = dict(rule.defaults or {})
        choices: list[dict] = [values]
        for name in sorted(rule.arguments - values.keys()):
            converter = rule._converters[name]
            if isinstance(converter, IntegerConverter):
                options = ids.get(name) or [1]
            elif name == "day":
                options = days
            else:
                options = slugs
            choices = [{**choice, name: option} for choice in choices for option in options]
        for choice in choices:
            yield rule.endpoint, rule.build(choice, append_unknown=False)[1]


@pytest.fixture
def keys(app, monkeypatch):
    """This test's own record key, so it can rotate to a new one at the end."""
    old = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", old)
    return monkeypatch, old


def test_the_clinical_record_done_when_end_to_end(
    app,
    demo,
    make_course,
    make_appointment,
    make_staff,
    sign_in,
    backend,
    database_url,
    keys,
    caplog,
):
    monkeypatch, old_key = keys
    caplog.set_level(logging.DEBUG)
    receptionist = make_staff("receptionist")
    practitioner_user = make_staff("practitioner", practitioner=colette())
    clients = {}
    for name, user in (("practitioner", practitioner_user), ("receptionist", receptionist)):
        clients[name] = app.test_client()
        assert sign_in(clients[name], user).status_code == 302
    practitioner, reception = clients["practitioner"], clients["receptionist"]

    # A new patient's course of ten sessions with Colette (on fixed past days, so that
    # each note may be signed once its visit has begun), and a single visit still to come
    # with the note they typed when booking.
    course = make_course(staff_user=receptionist)
    sessions = course_with_sessions(course, start=FIXED_DAY)
    patient = course.patient
    later = make_appointment(
        ten_oclock(9),
        practitioner="colette-assor",
        session="massage",
        patient=patient,
        patient_note=WORDS["booking note"],
    )
    first, middle, last = sessions[0], sessions[4], sessions[9]
    # When booking, the patient reported a warning sign a doctor has already assessed.
    first.warning_sign_assessed = True
    db.session.commit()
    ids = {
        "patient": patient.id,
        "course": course.id,
        "first": first.id,
        "middle": middle.id,
        "last": last.id,
        "later": later.id,
    }
    link = intake_url(first)
    assert link is not None
    check_link = f"/check/{check_token(later)}"
    db.session.rollback()

    # 1. The patient answers the questionnaire and consents online, through their link.
    patient_browser = app.test_client()
    _answer_the_questionnaire(patient_browser, urlsplit(link).path)
    assert intake_url(db.session.get(Appointment, ids["first"])) is None

    # 2. Before treating: the diary block and the appointment page show the flag and consent.
    zone = clinic_settings().zone
    first_day = to_local(FIXED_DAY, zone).date().isoformat()
    diary = practitioner.get(f"/diary/day/{first_day}").text
    assert "Flagged answers" in diary
    assert "Consent missing" not in diary and "Intake missing" not in diary
    page = practitioner.get(f"/diary/appointments/{ids['first']}").text
    assert "Flagged answers" in page and WORDS["implant"] in page
    assert "Check before treating" in page and "Check warning sign" in diary
    assert re.search(r"Acupuncture: given", page), page
    answers = practitioner.get(f"/diary/patients/{ids['patient']}/intake").text
    for field in ("problem", "gp_name", "gp_practice", "implant", "medication"):
        assert WORDS[field] in answers, field

    # 3. The practitioner treats, writes and signs the note, and amends it with a reason.
    for session in sessions:
        record_attendance(
            db.session.get(Appointment, session.id),
            AppointmentStatus.ATTENDED,
            staff_user=db.session.get(StaffUser, practitioner_user.id),
        )
    db.session.rollback()
    _write_and_sign_the_note(practitioner, ids["first"])

    # 4. The patient scores the first, middle and last sessions through their links; the
    #    practitioner records the mid-course review, and after the last session reads the chart.
    for session_id, pain, score, name in (
        (ids["first"], "8", "2", WORDS["activity"]),
        (ids["middle"], "6", "5", ""),
        (ids["last"], "3", "8", ""),
    ):
        _score(patient_browser, db.session.get(Appointment, session_id), pain, score, name)
        db.session.rollback()
    middle_page = practitioner.get(f"/diary/appointments/{ids['middle']}").text
    assert "Mid-course review" in middle_page
    review = practitioner.post(
        f"/diary/appointments/{ids['middle']}/review",
        data={
            "csrf_token": csrf_token(middle_page),
            "decision": "continue",
            "note": WORDS["review"],
        },
    )
    assert review.status_code == 302, review.text
    chart = practitioner.get(f"/diary/courses/{ids['course']}/outcomes")
    assert chart.status_code == 200
    assert "<svg" in chart.text and "Pain went from 8 out of 10" in chart.text
    assert WORDS["activity"] in chart.text and WORDS["review"] in chart.text
    for url in (
        f"/diary/patients/{ids['patient']}/clinical-record.pdf",
        f"/diary/courses/{ids['course']}/gp-letter.pdf",
    ):
        response = practitioner.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf", url
    assert WORDS["subjective"] in pdf_text(
        practitioner.get(f"/diary/patients/{ids['patient']}/clinical-record.pdf").data
    )

    # 5. The later visit's pre-visit check: a warning sign has appeared since booking.
    check = _post_form(patient_browser, check_link, cauda_equina="no", other_warning="yes")
    assert check.status_code == 200 and "cancelled your appointment" in check.text
    db.session.rollback()
    assert db.session.get(Appointment, ids["later"]).status == AppointmentStatus.CANCELLED
    assert db.session.scalar(
        sa.select(OutboxMessage).filter_by(appointment_id=ids["later"], kind="red_flag_alert")
    )
    assert WORDS["booking note"] in practitioner.get(f"/diary/appointments/{ids['later']}").text

    # 6. Every read the practitioner made is in the access log; nothing of what was read.
    reads = db.session.scalars(
        sa.select(AccessEvent).where(
            AccessEvent.patient_id == ids["patient"],
            AccessEvent.staff_user_id == practitioner_user.id,
        )
    ).all()
    assert {
        "patient.intake_flags_read",
        "patient.intake_read",
        "patient.treatment_note_read",
        "patient.outcomes_read",
        "patient.record_pdf_read",
        "patient.gp_letter_read",
    } <= {event.action for event in reads}
    assert _leaks(" ".join(str(event.details) for event in reads)) == []

    # 7. The receptionist, and a practitioner who is not this patient's, open every staff
    #    page with this patient's ids; the receptionist also searches for them.
    db.session.rollback()
    id_lists = {
        "appointment_id": [ids["first"], ids["middle"], ids["last"], ids["later"]],
        "patient_id": [ids["patient"]],
        "course_id": [ids["course"]],
        "session_type_id": list(db.session.scalars(sa.select(SessionType.id))),
        "document_id": list(db.session.scalars(sa.select(Document.id))) or [1],
        "entry_id": list(db.session.scalars(sa.select(LedgerEntry.id))) or [1],
        "account_id": [receptionist.id, practitioner_user.id],
    }
    days = sorted(
        {
            to_local(moment, zone).date().isoformat()
            for moment in (FIXED_DAY, middle.starts_at, last.starts_at, later.starts_at)
        }
    )
    urls = list(_staff_urls(app, id_lists, days, ["colette-assor", "sam-okafor"]))
    other = app.test_client()
    other_user = make_staff("practitioner", practitioner=_practitioner("sam-okafor"))
    assert sign_in(other, other_user).status_code == 302
    for who, client in (("the receptionist", reception), ("another practitioner", other)):
        opened = []
        for endpoint, url in urls:
            response = client.get(url)
            assert response.status_code < 500, (who, url, response.status_code)
            if endpoint in CONTENT_PAGES:
                assert response.status_code == 403, (who, url, response.status_code)
            text = _page_text(response)
            assert _leaks(text) == [], f"{who} read {_leaks(text)} on {url}"
            told = [marker for marker in READERS_ONLY if marker in text]
            assert told == [], f"{who} was told {told} on {url}"
            if response.status_code == 200:
                opened.append(url)
        # The crawl reached the pages that matter, not only refusals (a practitioner opens
        # no other practitioner's appointment, and a patient only through one of theirs).
        musts = [f"/diary/day/{first_day}", f"/diary/week-all/{first_day}"]
        if client is reception:
            musts += [
                f"/diary/appointments/{ids['first']}",
                f"/diary/appointments/{ids['later']}",
                f"/diary/patients/{ids['patient']}",
                f"/diary/patients/{ids['patient']}/export.json",
                f"/diary/courses/{ids['course']}",
                "/diary/outbox",
            ]
        for must in musts:
            assert must in opened, (who, must)

    # Every read is audited: for the patient's practitioner and an admin, each page that
    # shows any of the clinical text wrote an access event naming this patient.
    admin = app.test_client()
    assert sign_in(admin, make_staff("admin")).status_code == 302
    for who, client in (("the practitioner", practitioner), ("an admin", admin)):
        shown = []
        for _endpoint, url in urls:
            before = _reads_of(ids["patient"])
            response = client.get(url)
            assert response.status_code < 500, (who, url, response.status_code)
            if _leaks(_page_text(response)):
                shown.append(url)
                assert _reads_of(ids["patient"]) > before, f"{who} read {url} unaudited"
        assert f"/diary/patients/{ids['patient']}/intake" in shown, who

    name = db.session.get(Patient, ids["patient"]).name
    for url in ("/diary/patients", "/diary/outbox"):
        found = _post_form(reception, url, query=name)
        assert found.status_code == 200 and name in found.text, url
        assert _leaks(found.text) == [], url
    assert (
        reception.post(
            "/diary/exports", data={"csrf_token": csrf_token(reception.get("/diary/patients").text)}
        ).status_code
        == 403
    )
    db.session.rollback()
    refused_reads = db.session.scalars(
        sa.select(AccessEvent.action).where(
            AccessEvent.staff_user_id.in_([receptionist.id, other_user.id])
        )
    ).all()
    assert not {
        "patient.intake_read",
        "patient.intake_flags_read",
        "patient.treatment_note_read",
        "patient.outcomes_read",
        "patient.record_pdf_read",
        "patient.gp_letter_read",
        "patient.clinical_export_read",
    } & set(refused_reads)

    # 8. A dump of the whole database holds none of the clinical text, in any table.
    for dump in database_dumps(backend, database_url):
        assert name in dump and "gAAAAA" in dump
        assert _leaks(dump) == [], f"in the dump in the clear: {_leaks(dump)}"

    # Nor does anything the application logged on the way.
    assert _leaks(caplog.text) == []

    # 9. Key rotation: re-sealed with a new key, the record reads with that key alone.
    new_key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", f"{new_key},{old_key}")
    result = app.test_cli_runner().invoke(args=["records", "rotate-key"])
    assert result.exit_code == 0, result.output
    monkeypatch.setitem(app.config, "CLINICAL_RECORD_KEYS", new_key)
    db.session.rollback()
    note_page = practitioner.get(f"/diary/appointments/{ids['first']}/treatment-note").text
    assert WORDS["subjective"] in note_page and WORDS["amendment"] in note_page
    assert WORDS["medication"] in practitioner.get(f"/diary/patients/{ids['patient']}/intake").text
    assert WORDS["activity"] in practitioner.get(f"/diary/courses/{ids['course']}/outcomes").text
    assert WORDS["booking note"] in practitioner.get(f"/diary/appointments/{ids['later']}").text
