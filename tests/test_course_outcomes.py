"""Outcomes across a course: checkpoints, the patient's signed link, the chart, the review."""

import re
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from booking.clinic.errors import DomainError
from booking.clinic.notifications import appointment_reminder
from booking.clinic.payments import ledger
from booking.clinic.records import outcomes, reviews
from booking.extensions import db
from booking.models import (
    AccessEvent,
    CourseReview,
    OutboxMessage,
    OutcomeCheckpoint,
    OutcomeRecord,
    RecordMethod,
    ReviewDecision,
)
from tests.clinical_helpers import course_with_sessions
from tests.forms import csrf_token

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def course(demo, make_course):
    return make_course()


def test_the_checkpoints_are_the_first_middle_and_last_of_the_products_size(course):
    # The demo's course product sells 10 sessions: checkpoints 1, 5 and 10.
    assert course.sessions_total == course.product.sessions_count == 10
    sessions = course_with_sessions(course)
    found = {
        number: outcomes.checkpoint_of(session)
        for number, session in enumerate(sessions, start=1)
        if outcomes.checkpoint_of(session)
    }
    assert found == {
        1: OutcomeCheckpoint.FIRST,
        5: OutcomeCheckpoint.MIDDLE,
        10: OutcomeCheckpoint.LAST,
    }
    assert outcomes.checkpoint_positions(6) == {
        1: OutcomeCheckpoint.FIRST,
        3: OutcomeCheckpoint.MIDDLE,
        6: OutcomeCheckpoint.LAST,
    }
    assert outcomes.checkpoint_positions(1) == {1: OutcomeCheckpoint.FIRST}


def test_the_reminder_of_a_checkpoint_session_carries_the_score_link(app, course):
    sessions = course_with_sessions(course)
    from booking.clinic.transaction import unit_of_work

    with unit_of_work():
        appointment_reminder(sessions[0])
        appointment_reminder(sessions[1])
    reminders = {
        message.appointment_id: message
        for message in db.session.scalars(sa.select(OutboxMessage).filter_by(kind="reminder"))
    }
    first = reminders[sessions[0].id]
    tokens = re.findall(r"/outcomes/([A-Za-z0-9_.\-]+)", first.text_body)
    assert tokens and outcomes.read_outcome_token(tokens[0]) == (
        sessions[0].uid,
        RecordMethod.ONLINE,
    )
    assert "/outcomes/" in (first.html_body or "")
    assert "/outcomes/" not in reminders[sessions[1].id].text_body  # session 2: no scores


def _answer(client, url, **fields):
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:400]
    return client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **fields})


def test_the_patient_scores_first_middle_and_last_from_their_links(app, client, course):
    sessions = course_with_sessions(course)
    first, middle, last = sessions[0], sessions[4], sessions[9]
    first_url = f"/outcomes/{outcomes.outcome_token(first)}"
    response = _answer(
        client,
        first_url,
        pain="7",
        activity_1="Climbing stairs",
        score_1="3",
        activity_2="Sitting for an hour",
        score_2="4",
    )
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    # A second answer for the same session is not taken.
    assert "Already answered" in client.get(first_url).get_data(as_text=True)

    middle_url = f"/outcomes/{outcomes.outcome_token(middle)}"
    page = client.get(middle_url).get_data(as_text=True)
    assert "Climbing stairs" in page and "Sitting for an hour" in page
    # A missing score keeps the form and says what to do.
    missing = client.post(
        middle_url, data={"csrf_token": csrf_token(page), "pain": "5", "score_1": "5"}
    )
    assert missing.status_code == 422
    assert "Sitting for an hour: choose a score from 0 to 10" in missing.get_data(as_text=True)
    _answer(client, middle_url, pain="5", score_1="5", score_2="6")
    _answer(client, f"/outcomes/{outcomes.outcome_token(last)}", pain="3", score_1="8", score_2="7")

    # A session that is not a checkpoint has no form; a forged token is a 404.
    assert client.get(f"/outcomes/{outcomes.outcome_token(sessions[1])}").status_code == 410
    assert client.get("/outcomes/forged-token").status_code == 404

    db.session.rollback()
    points = outcomes.course_outcomes(course)
    assert [(p.checkpoint, p.pain) for p in points] == [
        (OutcomeCheckpoint.FIRST, 7),
        (OutcomeCheckpoint.MIDDLE, 5),
        (OutcomeCheckpoint.LAST, 3),
    ]
    assert [(a.name, a.score) for a in points[-1].activities] == [
        ("Climbing stairs", 8),
        ("Sitting for an hour", 7),
    ]
    raw = db.session.execute(sa.text("select answers from outcome_records")).scalars().all()
    assert raw and not any("stairs" in value for value in raw)


def test_scores_out_of_range_are_refused(course):
    sessions = course_with_sessions(course)
    with pytest.raises(DomainError, match="0 to 10"):
        outcomes.record_outcome(sessions[0], pain=11, activities=[], method=RecordMethod.DESK)
    with pytest.raises(DomainError, match="up to 3"):
        outcomes.record_outcome(
            sessions[0],
            pain=4,
            activities=[(f"Activity {n}", 2) for n in range(4)],
            method=RecordMethod.DESK,
        )
    assert db.session.scalar(sa.select(OutcomeRecord)) is None


def _scored_course(course):
    sessions = course_with_sessions(course, attended=10)
    for session, pain, stairs in ((sessions[0], 8, 2), (sessions[4], 6, 5), (sessions[9], 3, 8)):
        outcomes.record_outcome(
            session,
            pain=pain,
            activities=[("Climbing stairs", stairs)],
            method=RecordMethod.ONLINE,
        )
    return sessions


def test_the_chart_draws_each_score_it_was_given(course):
    _scored_course(course)
    points = outcomes.course_outcomes(course)
    svg = ET.fromstring(outcomes.chart_svg(points))
    drawn = {
        (circle.get("data-series"), circle.get("data-checkpoint"), circle.get("data-score"))
        for circle in svg.iter(f"{SVG}circle")
    }
    assert drawn == {
        ("Pain (0-10)", "first", "8"),
        ("Pain (0-10)", "middle", "6"),
        ("Pain (0-10)", "last", "3"),
        ("Climbing stairs", "first", "2"),
        ("Climbing stairs", "middle", "5"),
        ("Climbing stairs", "last", "8"),
    }
    # A higher score is drawn higher: pain 8 sits above pain 3.
    pain = {
        c.get("data-checkpoint"): float(c.get("cy"))
        for c in svg.iter(f"{SVG}circle")
        if c.get("data-series") == "Pain (0-10)"
    }
    assert pain["first"] < pain["last"]
    assert svg.get("role") == "img" and svg.find(f"{SVG}title") is not None
    text = outcomes.summary(points)
    assert "Pain went from 8 out of 10 at the first session to 3 at the last session" in text
    assert "down 5 points" in text and "not its cause" in text


def test_the_practitioner_sees_the_chart_table_and_summary_after_the_last_session(
    practitioner_client, receptionist_client, course
):
    _scored_course(course)
    page = practitioner_client.get(f"/diary/courses/{course.id}/outcomes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'id="outcome-table"' in html and "Pain went from 8" in html
    assert "<script" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert receptionist_client.get(f"/diary/courses/{course.id}/outcomes").status_code == 403
    reads = db.session.scalars(
        sa.select(AccessEvent.action).where(AccessEvent.patient_id == course.patient_id)
    ).all()
    assert "patient.outcomes_read" in reads


def test_the_mid_course_review_prompt_and_stop_marks_unused_credits_refundable(
    practitioner_client, receptionist_client, course
):
    sessions = course_with_sessions(course, attended=5)
    middle = sessions[4]
    html = practitioner_client.get(f"/diary/appointments/{middle.id}").get_data(as_text=True)
    assert "Mid-course review" in html
    # Not on the other sessions.
    other = practitioner_client.get(f"/diary/appointments/{sessions[3].id}").get_data(as_text=True)
    assert 'id="mid-course-review"' not in other

    response = practitioner_client.post(
        f"/diary/appointments/{middle.id}/review",
        data={"csrf_token": csrf_token(html), "decision": "stop", "note": "No change so far"},
    )
    assert response.status_code == 302
    db.session.rollback()
    review = db.session.scalar(sa.select(CourseReview))
    assert review.decision == ReviewDecision.STOP
    assert review.refundable_credits == course.credits_remaining == 10
    assert review.note == "No change so far"
    # Their share of what the ledger says was paid: all ten credits are unused here.
    paid = ledger.amount_paid(course)
    assert review.refundable_pence == min(course.price_pence, paid)
    after = practitioner_client.get(f"/diary/appointments/{middle.id}").get_data(as_text=True)
    assert 'id="mid-course-review"' not in after and "unused credits marked refundable" in after
    # Reception sees on the course page that it was stopped and what to refund, not why.
    desk = receptionist_client.get(f"/diary/courses/{course.id}").get_data(as_text=True)
    assert 'id="course-stopped"' in desk and "10 unused credits" in desk
    assert "No change so far" not in desk
    with pytest.raises(DomainError, match="already been recorded"):
        reviews.record_review(
            middle, ReviewDecision.CONTINUE, note="", staff_user=practitioner_client.user
        )


def test_the_desk_hands_the_tablet_over_for_the_scores_not_a_form_in_its_session(
    receptionist_client, client, course
):
    sessions = course_with_sessions(course)
    page = receptionist_client.get(f"/diary/appointments/{sessions[0].id}").text
    assert "Open the score form for the patient" not in page
    assert 'href="#hand-tablet-over"' in page and 'id="hand-tablet-over"' in page
    assert "the pain and activity scores" in page  # what the tablet will show
    # The older address leads to the hand-over; it no longer opens the form for staff.
    response = receptionist_client.get(f"/diary/appointments/{sessions[0].id}/outcome-form")
    assert response.status_code == 302
    assert response.location.endswith(f"/diary/appointments/{sessions[0].id}#hand-tablet-over")
    assert "/outcome/" not in response.location
    told = receptionist_client.get(f"/diary/appointments/{sessions[0].id}").text
    assert "The score form is for the patient to fill in themselves" in told
    db.session.rollback()
    assert db.session.scalar(sa.select(OutcomeRecord)) is None
    assert (
        receptionist_client.get(f"/diary/appointments/{sessions[1].id}/outcome-form").status_code
        == 404
    )


def test_the_diary_prompts_the_practitioner_on_the_day_of_the_middle_session(
    practitioner_client, receptionist_client, course
):
    sessions = course_with_sessions(course, attended=4)
    middle = sessions[4]
    day = middle.starts_at.date().isoformat()  # 10:00 UTC is the same day in London
    html = practitioner_client.get(f"/diary/day/{day}").get_data(as_text=True)
    assert 'id="reviews-due"' in html and f"/diary/appointments/{middle.id}" in html
    assert 'id="reviews-due"' not in receptionist_client.get(f"/diary/day/{day}").get_data(
        as_text=True
    )
    reviews.record_review(
        middle, ReviewDecision.CONTINUE, note="", staff_user=practitioner_client.user
    )
    html = practitioner_client.get(f"/diary/day/{day}").get_data(as_text=True)
    assert 'id="reviews-due"' not in html


def test_hostile_answers_on_the_patients_form_are_refused_and_store_nothing(client, course):
    sessions = course_with_sessions(course)
    url = f"/outcomes/{outcomes.outcome_token(sessions[0])}"
    for answers in (
        {"pain": "7", "activity_1": "Stairs\x00", "score_1": "3"},
        {"pain": "11"},
        {"pain": "-1"},
        {"pain": "7", "activity_1": "x" * 500, "score_1": "3"},
        {"pain": "7", "activity_1": "Stairs", "score_1": "99999999999999999999"},
    ):
        response = _answer(client, url, **answers)
        assert response.status_code == 422, answers
    db.session.rollback()
    assert db.session.scalar(sa.select(OutcomeRecord)) is None


def test_stop_counts_the_credits_of_sessions_still_booked_as_unused(
    practitioner_client, receptionist_client, course
):
    """A course booked all at once has spent every credit at the middle session: the
    sessions still to come hold the unused ones, which reception cancels and refunds."""
    from booking.clinic import credits
    from booking.clinic.appointments import cancel_appointment
    from booking.clinic.transaction import unit_of_work
    from tests.records_helpers import ten_oclock

    # Five weekly sessions behind (the middle two days ago), five still to come.
    sessions = course_with_sessions(course, start=ten_oclock(-30), attended=5)
    with unit_of_work():
        for session in sessions:
            credits.spend_credit(course, session)
    db.session.refresh(course)
    assert course.credits_remaining == 0
    middle = sessions[4]
    review = reviews.record_review(
        middle, ReviewDecision.STOP, note="", staff_user=practitioner_client.user
    )
    assert review.refundable_credits == 5
    paid = ledger.amount_paid(course)
    assert review.refundable_pence == min(course.price_pence * 5 // 10, paid)
    # Reception cancels the five still booked: their credits come back, as many as marked.
    for session in sessions[5:]:
        cancel_appointment(
            session,
            reason="Course stopped at the review",
            staff_user=receptionist_client.user,
            return_credit=True,
        )
    db.session.refresh(course)
    assert course.credits_remaining == review.refundable_credits
