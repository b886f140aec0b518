"""The intake questionnaire and consent: versions, flags, the patient's link."""

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.clinic.records import consent, intake
from booking.clinic.records.intake import IntakeAnswers
from booking.clinic.tokens import intake_token
from booking.extensions import db
from booking.models import ConsentTreatment, IntakeForm, RecordMethod, TreatmentConsent
from tests.forms import csrf_token
from tests.records_helpers import PACEMAKER_DETAILS, PROBLEM, answers, form_data, ten_oclock

SOON = ten_oclock(10)


def test_answers_keep_their_version_and_a_new_version_changes_nothing_old(
    demo, make_patient, monkeypatch
):
    patient = make_patient()
    first = intake.submit_intake(
        patient, answers(pacemaker_or_implants=PACEMAKER_DETAILS), method=RecordMethod.ONLINE
    )
    assert first.questions_version == intake.CURRENT_VERSION
    old_text = intake.current_questionnaire().question("pacemaker_or_implants").text

    # The clinic rewords the question: a new version, made current.
    reworded = replace(
        intake.current_questionnaire(),
        version="2027-06",
        history=tuple(
            replace(q, text="Do you have a pacemaker?") if q.key == "pacemaker_or_implants" else q
            for q in intake.current_questionnaire().history
        ),
    )
    monkeypatch.setitem(intake.QUESTIONNAIRES, "2027-06", reworded)
    monkeypatch.setattr(intake, "CURRENT_VERSION", "2027-06")
    second = intake.submit_intake(patient, answers(), method=RecordMethod.ONLINE)

    db.session.expire_all()
    old = db.session.get(IntakeForm, first.id)
    assert old.questions_version != second.questions_version == "2027-06"
    lines = {line.question: line for line in intake.history_lines(old)}
    assert lines[old_text].answer == "yes" and lines[old_text].details == PACEMAKER_DETAILS
    assert "Do you have a pacemaker?" not in lines
    assert intake.latest_intake(patient.id).id == second.id


def test_yes_to_a_contraindication_is_flagged_with_what_it_means(demo, make_patient):
    patient = make_patient()
    form = intake.submit_intake(
        patient,
        answers(bleeding_or_anticoagulants="Warfarin 5 mg", medication="Warfarin"),
        method=RecordMethod.ONLINE,
    )
    assert form.has_flags
    (flag,) = intake.flags_of(form)  # medication alone is listed, not flagged
    assert "thins the blood" in flag.question and flag.details == "Warfarin 5 mg"
    assert "Bleeding" in flag.caution
    clear = intake.submit_intake(make_patient(), answers(), method=RecordMethod.ONLINE)
    assert not clear.has_flags and intake.flags_of(clear) == []


def test_a_child_is_flagged_for_a_parents_consent(demo, make_patient):
    now = datetime(2030, 1, 10, 9, tzinfo=UTC)
    young = replace(answers(), date_of_birth=now.date().replace(year=2016))
    form = intake.submit_intake(make_patient(), young, method=RecordMethod.ONLINE, now=now)
    assert form.has_flags and "parent" in intake.flags_of(form)[0].caution


def test_the_desk_records_who_started_the_form(demo, make_patient, make_staff):
    with pytest.raises(intake.DomainError):
        intake.submit_intake(make_patient(), answers(), method=RecordMethod.DESK)
    receptionist = make_staff("receptionist")
    form = intake.submit_intake(
        make_patient(), answers(), method=RecordMethod.DESK, staff_user=receptionist
    )
    assert form.taken_by_id == receptionist.id and form.method == "desk"


def test_consent_is_per_treatment_and_a_new_wording_asks_again(demo, make_appointment, monkeypatch):
    appointment = make_appointment(SOON, session="acupuncture-cupping")
    assert consent.treatments_of(appointment) == [
        ConsentTreatment.ACUPUNCTURE,
        ConsentTreatment.CUPPING,
    ]
    assert consent.overall(consent.appointment_consent(appointment)) == "missing"
    consent.give_consent(
        appointment.patient, [ConsentTreatment.ACUPUNCTURE], method=RecordMethod.ONLINE
    )
    statuses = {s.treatment: s.status for s in consent.appointment_consent(appointment)}
    assert statuses == {ConsentTreatment.ACUPUNCTURE: "given", ConsentTreatment.CUPPING: "missing"}
    consent.give_consent(
        appointment.patient, [ConsentTreatment.CUPPING], method=RecordMethod.ONLINE
    )
    assert consent.overall(consent.appointment_consent(appointment)) == "given"

    # New cupping wording: the earlier consent is outdated, and the patient is asked again.
    new = replace(consent.current_wording(ConsentTreatment.CUPPING), version="2027-06")
    monkeypatch.setitem(consent.WORDINGS, (ConsentTreatment.CUPPING, "2027-06"), new)
    monkeypatch.setitem(consent.CURRENT_VERSIONS, ConsentTreatment.CUPPING, "2027-06")
    assert consent.overall(consent.appointment_consent(appointment)) == "outdated"
    assert consent.appointments_consent([appointment]) == {appointment.id: "outdated"}
    consent.give_consent(
        appointment.patient, [ConsentTreatment.CUPPING], method=RecordMethod.ONLINE
    )
    assert consent.overall(consent.appointment_consent(appointment)) == "given"
    versions = db.session.scalars(
        sa.select(TreatmentConsent.wording_version)
        .filter_by(patient_id=appointment.patient_id, treatment="cupping")
        .order_by(TreatmentConsent.id)
    ).all()
    assert versions == ["2026-12", "2027-06"]  # the old consent is kept as it was


def test_no_wording_promises_a_cure_or_calls_a_treatment_free_of_risk():
    for wording in consent.WORDINGS.values():
        text = " ".join([wording.what_happens, wording.may_help, *wording.risks]).lower()
        assert "cure" not in text.replace("cannot promise", "")
        assert "risk-free" not in text and "free of risk" not in text and "no risk" not in text
        assert "no treatment is without risk" in text
    assert "marks" in " ".join(consent.current_wording(ConsentTreatment.CUPPING).risks)


def test_a_new_patient_answers_and_consents_through_their_link(app, demo, make_appointment):
    appointment = make_appointment(SOON, session="acupuncture-cupping")
    client = app.test_client()
    url = f"/intake/{intake_token(appointment)}"
    # The token signs the appointment's random uid: nothing about the patient is in it.
    from booking.clinic.tokens import appointment_uid_from_intake_token

    assert appointment_uid_from_intake_token(url.removeprefix("/intake/")) == appointment.uid

    page = client.get(url)
    assert page.status_code == 200 and "<legend>" in page.text
    incomplete = form_data()
    del incomplete["epilepsy"]
    refused = client.post(url, data={**incomplete, "csrf_token": csrf_token(page.text)})
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and 'href="#epilepsy"' in refused.text
    assert PROBLEM in refused.text  # what was typed is kept

    answered = client.post(
        url,
        data={
            **form_data(pacemaker_or_implants=PACEMAKER_DETAILS),
            "csrf_token": csrf_token(page.text),
        },
    )
    assert answered.status_code == 302 and answered.location.endswith(f"{url}/consent")
    consent_page = client.get(f"{url}/consent")
    assert "Cupping" in consent_page.text and "marks" in consent_page.text
    half = client.post(
        f"{url}/consent",
        data={"consent_acupuncture": "y", "csrf_token": csrf_token(consent_page.text)},
    )
    assert half.status_code == 422 and "cupping" in half.text
    done = client.post(
        f"{url}/consent",
        data={
            "consent_acupuncture": "y",
            "consent_cupping": "y",
            "csrf_token": csrf_token(consent_page.text),
        },
    )
    assert done.status_code == 302
    assert "Thank you" in client.get(done.location).text

    form = intake.latest_intake(appointment.patient_id)
    assert form.method == "online" and form.appointment_id == appointment.id and form.has_flags
    assert consent.overall(consent.appointment_consent(appointment)) == "given"
    # The link adds answers but never shows them back: it now goes straight to the end.
    again = client.get(url, follow_redirects=True)
    assert PACEMAKER_DETAILS not in again.text and PROBLEM not in again.text


def test_a_tampered_link_is_not_found(app, demo, make_appointment):
    appointment = make_appointment(SOON)
    token = intake_token(appointment)
    assert app.test_client().get(f"/intake/{token[:-2]}xx").status_code == 404
    # A link of another kind (manage-my-booking) does not open the questionnaire.
    from booking.clinic.tokens import manage_token

    assert app.test_client().get(f"/intake/{manage_token(appointment)}").status_code == 404


def test_the_confirmation_email_carries_the_link_until_everything_is_on_file(
    app, demo, make_appointment
):
    from booking.clinic.notifications import intake_url

    appointment = make_appointment(SOON, session="massage")
    link = intake_url(appointment)
    assert link and re.search(r"/intake/[\w\-.]+$", link)
    intake.submit_intake(appointment.patient, answers(), method=RecordMethod.ONLINE)
    assert intake_url(appointment)  # consent still missing
    consent.give_consent(
        appointment.patient, [ConsentTreatment.MASSAGE], method=RecordMethod.ONLINE
    )
    assert intake_url(appointment) is None


def test_a_booking_confirmation_carries_the_questionnaire_link(app, demo):
    from booking.clinic.appointments import PatientDetails, book_appointment
    from booking.clinic.availability import practitioner_free_starts
    from booking.clinic.tokens import appointment_uid_from_intake_token
    from booking.models import OutboxMessage, Practitioner, SessionType

    session_type = db.session.scalar(sa.select(SessionType).filter_by(slug="massage"))
    colette = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
    day = (SOON + timedelta(days=1)).date()
    free = practitioner_free_starts(
        colette, session_type, day, day + timedelta(days=14), now=datetime.now(UTC)
    )
    start = next(s for starts in free.values() for s in starts)
    appointment = book_appointment(
        session_type=session_type,
        starts_at=start,
        practitioner=colette,
        patient=PatientDetails(name="Nell Gwyn", email="nell@example.org", phone="07700900123"),
    )
    confirmation = db.session.scalar(
        sa.select(OutboxMessage).filter_by(appointment_id=appointment.id, kind="confirmation")
    )
    tokens = re.findall(r"/intake/([\w\-.]+)", confirmation.text_body)
    assert tokens and {appointment_uid_from_intake_token(t) for t in tokens} == {appointment.uid}
    assert "/intake/" in confirmation.html_body


def test_the_desk_hands_the_questionnaire_over_and_records_consent_taken_in_person(
    demo, make_appointment, receptionist_client
):
    appointment = make_appointment(SOON, session="massage-stretching")
    client = receptionist_client
    page = client.get(f"/diary/appointments/{appointment.id}").text
    # The patient's own forms go to them on the locked tablet, never in a staff session.
    assert 'id="hand-tablet-over"' in page
    assert "Fill in the questionnaire with the patient" not in page
    assert "Take consent yourself" not in page
    assert "Record consent given to you in person" in page and "For staff only" in page

    # The older desk questionnaire address leads to the hand-over and saves nothing.
    url = f"/diary/appointments/{appointment.id}/intake"
    for response in (
        client.get(url),
        client.post(url, data={**form_data(), "csrf_token": csrf_token(page)}),
    ):
        assert response.status_code == 302
        assert response.location.endswith(f"/diary/appointments/{appointment.id}#hand-tablet-over")
    assert intake.latest_intake(appointment.patient_id) is None
    told = client.get(f"/diary/appointments/{appointment.id}").text
    assert "The health questionnaire is for the patient to fill in themselves" in told

    # Consent taken in person: a page for staff, recorded as taken by them.
    consent_url = f"/diary/appointments/{appointment.id}/consent"
    consent_page = client.get(consent_url)
    assert "Record consent given in person" in consent_page.text
    assert "do not hand this page to the patient" in consent_page.text
    assert "Give my consent" not in consent_page.text
    assert "Massage" in consent_page.text and "Assisted stretching" in consent_page.text
    assert PROBLEM not in consent_page.text
    done = client.post(
        consent_url,
        data={
            "consent_massage": "y",
            "consent_stretching": "y",
            "csrf_token": csrf_token(consent_page.text),
        },
    )
    assert done.status_code == 302
    given = db.session.scalars(
        sa.select(TreatmentConsent).filter_by(patient_id=appointment.patient_id)
    ).all()
    assert {(c.treatment, c.method, c.taken_by_id) for c in given} == {
        ("massage", "desk", client.user.id),
        ("stretching", "desk", client.user.id),
    }
    page = client.get(f"/diary/appointments/{appointment.id}").text
    assert "Ibuprofen" not in page and "Massage: given" in page


def test_the_questionnaire_asks_everything_that_matters_for_these_treatments(app):
    """The issue's list: each topic is a question, and each but medication is flagged."""
    questions = {q.key: q for q in intake.current_questionnaire().history}
    assert set(questions) == {
        "pregnancy",
        "pacemaker_or_implants",
        "bleeding_or_anticoagulants",
        "diabetes",
        "epilepsy",
        "skin_conditions",
        "metal_allergy",
        "fainting_or_needle_phobia",
        "medication",
    }
    assert [key for key, q in questions.items() if q.caution is None] == ["medication"]
    for field in ("date_of_birth", "gp_name", "gp_practice", "problem"):
        assert field in IntakeAnswers.__dataclass_fields__, field


def test_a_sixteenth_birthday_counts_from_london_midnight_not_utc(demo, make_patient):
    # 00:30 on 16 June in London is still 15 June in UTC: the form is the patient's on
    # their sixteenth birthday, so no parent's consent is asked, and a child born that
    # London day is not "in the future".
    now = datetime(2026, 6, 15, 23, 30, tzinfo=UTC)
    adult = replace(answers(), date_of_birth=date(2010, 6, 16))
    form = intake.submit_intake(make_patient(), adult, method=RecordMethod.ONLINE, now=now)
    assert not form.has_flags and intake.flags_of(form) == []
    newborn = replace(answers(), date_of_birth=date(2026, 6, 16))
    baby = intake.submit_intake(make_patient(), newborn, method=RecordMethod.ONLINE, now=now)
    assert baby.has_flags and "parent" in intake.flags_of(baby)[0].caution


def test_the_questionnaire_takes_a_birth_on_londons_today_after_midnight(
    app, demo, make_appointment, monkeypatch
):
    # At 00:30 in London on 16 June (23:30 UTC on the 15th) the 16th is today, not the
    # future: the form and the record both judge the date by the clinic's clock.
    import booking.clinic.records.intake as intake_module
    import booking.record_forms as record_forms

    just_after_midnight = datetime(2026, 6, 15, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(record_forms, "utcnow", lambda: just_after_midnight)
    monkeypatch.setattr(intake_module, "utcnow", lambda: just_after_midnight)
    appointment = make_appointment(SOON)
    client = app.test_client()
    url = f"/intake/{intake_token(appointment)}"
    page = client.get(url)
    answered = client.post(
        url,
        data={**form_data(), "date_of_birth": "2026-06-16", "csrf_token": csrf_token(page.text)},
    )
    assert "cannot be in the future" not in answered.text
    assert answered.status_code == 302
