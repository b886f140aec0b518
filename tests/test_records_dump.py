"""A database dump alone holds no clinical text.

A patient fills in the questionnaire and consents; their practitioner signs a note and
amends it, records the mid-course review; the patient scores the course's first session.
Every free text is a word found nowhere else. Then the real dump is taken: `pg_dump` on
PostgreSQL, and on SQLite both `iterdump()` and the database file's own bytes. None of
those words may be in it, while the plain facts (the patient's name, the session) are, so
the dump is known to hold the clinic's data.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.clinic.records import consent, intake, notes, outcomes, red_flags, reviews
from booking.clinic.records.intake import IntakeAnswers
from booking.extensions import db
from booking.models import ConsentTreatment, RecordMethod, ReviewDecision
from tests.clinical_helpers import FIXED_DAY, colette, course_with_sessions
from tests.database_dump import database_dumps
from tests.records_helpers import answers

# Made-up words: if one of them is in a dump, clinical text reached it in the clear.
WORDS = {
    "problem": "Zorblaxian kneeache",
    "gp_name": "Dr Quibbleworth",
    "gp_practice": "Frobisham Quaddlesurgery",
    "pacemaker": "Vexillographic pacemakerish",
    "subjective": "Plumbaginous throbbingness",
    "objective": "Crenellated gaitwobble",
    "assessment": "Sesquipedalian strainage",
    "plan": "Snollygoster stretchifying",
    "points": "Zyzzyva-point",
    "cupping_sites": "Quokkashoulder",
    "advice": "Flibbertigibbet advicement",
    "amendment": "Gobbledygook correctionage",
    "reason": "Kerfuffle reasonance",
    "activity": "Wombatting upstairsward",
    "review": "Lollygagging progressment",
}


@pytest.fixture
def record(demo, make_course, make_staff):
    """A course patient's whole clinical record, saved through the domain."""
    practitioner = make_staff("practitioner", practitioner=colette())
    course = make_course(patient=None)
    sessions = course_with_sessions(course, attended=5)
    patient = course.patient
    given = answers(pacemaker_or_implants=WORDS["pacemaker"])
    intake.submit_intake(
        patient,
        IntakeAnswers(
            date_of_birth=given.date_of_birth,
            gp_name=WORDS["gp_name"],
            gp_practice=WORDS["gp_practice"],
            problem=WORDS["problem"],
            history=given.history,
        ),
        method=RecordMethod.ONLINE,
        appointment=sessions[0],
    )
    consent.give_consent(
        patient,
        [ConsentTreatment.ACUPUNCTURE, ConsentTreatment.CUPPING],
        method=RecordMethod.ONLINE,
        appointment=sessions[0],
    )
    red_flags.record_recheck(
        sessions[5],
        {"cauda_equina": "no", "other_warning": "no"},
        now=sessions[5].starts_at - timedelta(days=1),
    )
    notes.save_draft(
        sessions[0],
        notes.NoteContent(
            subjective=WORDS["subjective"],
            objective=WORDS["objective"],
            assessment=WORDS["assessment"],
            plan=WORDS["plan"],
            points=WORDS["points"],
            needle_count="8",
            cupping_sites=WORDS["cupping_sites"],
            advice=WORDS["advice"],
        ),
        staff_user=practitioner,
        seen_version=None,
    )
    notes.sign_note(sessions[0], staff_user=practitioner, seen_version=1)
    notes.amend_note(
        sessions[0],
        section="plan",
        text=WORDS["amendment"],
        reason=WORDS["reason"],
        staff_user=practitioner,
    )
    outcomes.record_outcome(
        sessions[0], pain=7, activities=[(WORDS["activity"], 3)], method=RecordMethod.ONLINE
    )
    reviews.record_review(
        sessions[4], ReviewDecision.CONTINUE, note=WORDS["review"], staff_user=practitioner
    )
    db.session.commit()
    # The record reads back: the words were kept, sealed, not dropped.
    note = notes.note_of(sessions[0])
    assert note is not None and notes.content_of(note).subjective == WORDS["subjective"]
    return patient


def test_a_database_dump_holds_no_clinical_text(record, backend, database_url):
    surname = record.name.split()[-1]
    dumps = database_dumps(backend, database_url)
    for dump in dumps:
        # The dump is of this clinic: the patient's name and the sealed values are in it.
        assert surname in dump
        assert "gAAAAA" in dump  # Fernet tokens: the record is there, sealed
        for field, word in WORDS.items():
            for part in word.split():
                if len(part) > 8:  # each an invented word
                    assert part not in dump, f"{field}: {part!r} is in the dump in the clear"


def test_erasure_then_the_end_of_retention_leave_no_clinical_text_anywhere(
    record, make_appointment, make_staff, backend, database_url
):
    """The whole class: every sealed column in every table, opened, and the dump."""
    from booking.clinic.patients import erase_patient
    from booking.clinic.records import retention
    from booking.models import ClinicalErasure

    booking_note = "Gallimaufry bootstrapping twinge"
    make_appointment(
        FIXED_DAY - timedelta(days=7), patient=record, patient_note=booking_note, status="attended"
    )
    everything = {**WORDS, "booking note": booking_note}
    erase_patient(
        record,
        typed_name=record.name,
        staff_user=make_staff("admin"),
        now=FIXED_DAY + timedelta(days=120),
    )
    kept = db.session.scalar(sa.select(ClinicalErasure))
    assert retention.erase_due_clinical_records(kept.erase_after + timedelta(hours=1)) == 1
    db.session.rollback()

    opened = []
    for table in db.metadata.sorted_tables:
        # Selected through the model's column types: sealed values come back opened.
        opened.extend(str(row) for row in db.session.execute(sa.select(table)))
    text = "\n".join(opened + database_dumps(backend, database_url))
    for field, word in everything.items():
        for part in word.split():
            if len(part) > 8:
                assert part not in text, f"{field}: {part!r} outlived the erasure"
