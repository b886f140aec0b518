"""The desk's tablet handed to a patient: locked to that appointment's questionnaire and
consent, no staff page reachable, a locked screen after the last form, a staff sign-in to
unlock it."""

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from booking.auth import tablet_lock
from booking.clinic.records import consent, intake
from booking.clinic.records.tablet import HANDOVER_MINUTES
from booking.database import utcnow
from booking.extensions import db
from booking.models import AuditEvent, IntakeForm, RecordMethod, StaffSession, TreatmentConsent
from tests.clinical_helpers import course_with_sessions
from tests.fixtures_staff import STAFF_PASSWORD
from tests.forms import csrf_token
from tests.records_helpers import PROBLEM, answers, form_data, ten_oclock

SOON = ten_oclock(10)
STAFF_PAGES = [
    "/diary/",
    "/diary/patients",
    "/diary/takings",
    "/diary/waiting-list",
    "/staff/password",
]


@pytest.fixture
def handed_over(demo, make_appointment, receptionist_client):
    """A massage-and-stretching visit whose patient has nothing on file, and the
    receptionist's browser just handed over to them (the response of the hand-over)."""
    appointment = make_appointment(SOON, session="massage-stretching")
    client = receptionist_client
    page = client.get(f"/diary/appointments/{appointment.id}").text
    assert "Hand this tablet to the patient" in page
    response = client.post(
        f"/diary/appointments/{appointment.id}/tablet", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302 and response.location.endswith("/tablet")
    return appointment, client, client.user


def test_the_tablet_shows_the_questionnaire_then_consent_then_locks(handed_over):
    appointment, client, receptionist = handed_over
    start = client.get("/tablet")
    assert start.status_code == 302 and start.location.endswith("/tablet/questionnaire")
    page = client.get("/tablet/questionnaire")
    assert page.status_code == 200 and "Health questions" in page.text
    assert "/diary/" not in page.text and "Sign out" not in page.text  # no staff navigation

    answered = client.post(
        "/tablet/questionnaire",
        data={**form_data(medication="Ibuprofen"), "csrf_token": csrf_token(page.text)},
    )
    assert answered.status_code == 302 and answered.location.endswith("/tablet/consent")
    form = intake.latest_intake(appointment.patient_id)
    assert (form.method, form.taken_by_id, form.appointment_id) == (
        "desk",
        receptionist.id,
        appointment.id,
    )
    consent_page = client.get("/tablet/consent")
    assert consent_page.status_code == 200
    assert "Massage" in consent_page.text and "Ibuprofen" not in consent_page.text
    done = client.post(
        "/tablet/consent",
        data={
            "consent_massage": "y",
            "consent_stretching": "y",
            "csrf_token": csrf_token(consent_page.text),
        },
    )
    assert done.status_code == 302 and done.location.endswith("/tablet/locked")
    given = db.session.scalars(
        sa.select(TreatmentConsent).filter_by(patient_id=appointment.patient_id)
    ).all()
    assert {(c.method, c.taken_by_id) for c in given} == {("desk", receptionist.id)}

    locked = client.get("/tablet/locked")
    assert locked.status_code == 200 and "hand the tablet back" in locked.text
    # Locked: going back to either form lands on the locked screen, nothing is shown again.
    for url in ("/tablet/questionnaire", "/tablet/consent", "/tablet"):
        again = client.get(url)
        assert again.status_code == 302 and again.location.endswith("/tablet/locked")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntakeForm)) == 1


def test_no_staff_page_opens_while_the_tablet_is_handed_over_nor_after(handed_over):
    appointment, client, _ = handed_over
    # The staff session of this browser ended with the hand-over.
    ended = db.session.scalars(sa.select(StaffSession.end_reason)).all()
    assert "tablet_handed_over" in ended
    for url in [*STAFF_PAGES, f"/diary/appointments/{appointment.id}"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/staff/sign-in" in response.location, url
    # A form post to a staff page is refused as well.
    page = client.get("/tablet/questionnaire").text
    crafted = client.post(
        f"/diary/appointments/{appointment.id}/intake",
        data={**form_data(), "csrf_token": csrf_token(page)},
    )
    assert crafted.status_code == 302 and "/staff/sign-in" in crafted.location
    assert intake.latest_intake(appointment.patient_id) is None
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "tablet.handed_over" in actions


def _fill_in_everything(client) -> None:
    page = client.get("/tablet/questionnaire").text
    client.post("/tablet/questionnaire", data={**form_data(), "csrf_token": csrf_token(page)})
    page = client.get("/tablet/consent").text
    client.post(
        "/tablet/consent",
        data={"consent_massage": "y", "consent_stretching": "y", "csrf_token": csrf_token(page)},
    )


def test_a_staff_sign_in_unlocks_it_and_returns_to_the_appointment(handed_over, sign_in):
    appointment, client, receptionist = handed_over
    _fill_in_everything(client)
    locked = client.get("/tablet/locked").text
    link = unquote(re.search(r'href="([^"]*/staff/sign-in[^"]*)"', locked).group(1))
    assert link == f"/staff/sign-in?next=/diary/appointments/{appointment.id}"
    assert client.get(link).status_code == 200  # the sign-in form, nothing more
    response = sign_in(client, receptionist, STAFF_PASSWORD, next_url=link.split("next=")[1])
    assert response.status_code == 302
    assert response.location.endswith(f"/diary/appointments/{appointment.id}")
    page = client.get(f"/diary/appointments/{appointment.id}").text
    assert "Massage: given" in page and "Hand this tablet to the patient" not in page
    with client.session_transaction() as cookie:
        assert tablet_lock.HANDOVER_KEY not in cookie


def test_the_hand_over_ends_after_its_time(handed_over):
    appointment, client, _ = handed_over
    with client.session_transaction() as cookie:
        held = dict(cookie[tablet_lock.HANDOVER_KEY])
    assert held["until"] <= int((utcnow() + timedelta(minutes=HANDOVER_MINUTES)).timestamp())
    assert client.get("/tablet/questionnaire").status_code == 200
    with client.session_transaction() as cookie:
        cookie[tablet_lock.HANDOVER_KEY] = {**held, "until": int(utcnow().timestamp()) - 1}
    response = client.get("/tablet/questionnaire")
    assert response.status_code == 302 and response.location.endswith("/tablet/locked")
    assert intake.latest_intake(appointment.patient_id) is None


def test_a_forged_hand_over_opens_nothing(app, demo, make_appointment):
    appointment = make_appointment(SOON, session="massage")
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie[tablet_lock.HANDOVER_KEY] = {"appointment": "x", "staff": None, "until": 0}
    assert client.get("/tablet/questionnaire").location.endswith("/tablet/locked")
    assert client.get("/tablet/locked").status_code == 200
    assert intake.latest_intake(appointment.patient_id) is None


def test_nothing_to_hand_over_is_said_plainly(demo, make_appointment, receptionist_client):
    appointment = make_appointment(SOON, session="massage")
    client = receptionist_client
    page = client.get(f"/diary/appointments/{appointment.id}").text
    intake.submit_intake(
        appointment.patient,
        intake.IntakeAnswers(
            date_of_birth=utcnow().date() - timedelta(days=365 * 40),
            gp_name="Dr A",
            gp_practice="Surgery",
            problem=PROBLEM,
            history={
                q.key: intake.HistoryAnswer("no") for q in intake.current_questionnaire().history
            },
        ),
        method=RecordMethod.ONLINE,
    )
    consent.give_consent(
        appointment.patient, consent.treatments_of(appointment), method=RecordMethod.ONLINE
    )
    response = client.post(
        f"/diary/appointments/{appointment.id}/tablet",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert "nothing for them to fill in" in response.text
    assert client.get("/diary/").status_code == 200  # still signed in
    with client.session_transaction() as cookie:
        assert tablet_lock.HANDOVER_KEY not in cookie


def test_a_patient_in_the_waiting_room_scores_their_checkpoint_session_on_the_tablet(
    demo, make_course, receptionist_client
):
    from booking.clinic.appointments import record_attendance
    from booking.models import AppointmentStatus, OutcomeRecord

    course = make_course()
    first = course_with_sessions(course, start=ten_oclock(0))[0]
    patient = first.patient
    intake.submit_intake(patient, answers(), method=RecordMethod.ONLINE)
    consent.give_consent(patient, consent.treatments_of(first), method=RecordMethod.ONLINE)
    record_attendance(
        first,
        AppointmentStatus.ARRIVED,
        staff_user=receptionist_client.user,
        now=first.starts_at - timedelta(minutes=10),
    )
    client = receptionist_client
    page = client.get(f"/diary/appointments/{first.id}").text
    assert "It shows only the pain and activity scores for this visit" in page
    client.post(f"/diary/appointments/{first.id}/tablet", data={"csrf_token": csrf_token(page)})
    start = client.get("/tablet")
    assert start.location.endswith("/tablet/scores")
    form = client.get("/tablet/scores")
    assert form.status_code == 200 and "/diary/" not in form.text
    done = client.post(
        "/tablet/scores",
        data={
            "csrf_token": csrf_token(form.text),
            "pain": "6",
            "activity_1": "Gardening",
            "score_1": "3",
        },
    )
    assert done.status_code == 302 and done.location.endswith("/tablet/locked")
    record = db.session.scalar(sa.select(OutcomeRecord).filter_by(appointment_id=first.id))
    assert (record.method, record.recorded_by_id) == ("desk", client.user.id)
    assert client.get("/tablet/scores").location.endswith("/tablet/locked")
