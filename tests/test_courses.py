"""Courses of sessions: buying, paying, planning, and spending credits that never go negative."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError, availability, course_plans, courses, credits
from booking.clinic.appointments import (
    PatientDetails,
    book_appointment,
    cancel_appointment,
    record_attendance,
)
from booking.clinic.localtime import local_to_utc
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import course_token, manage_token
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Course,
    CourseProduct,
    CourseStatus,
    CreditEntry,
    OutboxMessage,
    Practitioner,
    SessionType,
    TimeOff,
)
from tests.at_once import race
from tests.forms import csrf_token
from tests.signed_links import assert_course_link_for

LONDON = ZoneInfo("Europe/London")
# The safety questions answered "no" and the consent given, as every online booking asks.
SAFE_ANSWERS = {"cauda_equina": "no", "other_warning": "no", "consent": "y"}


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def count(model, *conditions) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


def compact(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return local_to_utc(day, time(hour, minute), LONDON)


def next_weekday(weekday: int, *, at_least_days: int = 3) -> date:
    day = datetime.now(LONDON).date() + timedelta(days=at_least_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def ledger_total(course: Course) -> int:
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.change), 0)).where(
            CreditEntry.course_id == course.id
        )
    )


def colette() -> Practitioner:
    return get(Practitioner, slug="colette-assor")


@pytest.fixture
def product(demo) -> CourseProduct:
    return get(CourseProduct)


@pytest.fixture
def paid_course(product, make_course) -> Course:
    """A paid course of 10 combination sessions for a new patient."""
    return make_course(product)


def test_a_patient_requests_a_course_pays_at_the_desk_and_plans_around_time_off(
    client, product, receptionist_client
):
    # The patient asks for the course online.
    listing = client.get("/courses").get_data(as_text=True)
    assert product.name in listing
    form_url = f"/courses/{product.id}/request"
    page = client.get(form_url).get_data(as_text=True)
    response = client.post(
        form_url,
        data={
            "name": "Ada Course",
            "email": "ada@example.org",
            "phone": "07700 900200",
            **SAFE_ANSWERS,
            "csrf_token": csrf_token(page),
        },
    )
    assert response.status_code == 302
    course_link = response.location
    assert course_link.startswith("/course/")
    course = get(Course)
    assert course.status == CourseStatus.AWAITING_PAYMENT
    assert course.credits_remaining == 0 and course.sessions_total == 10
    assert_course_link_for(course_link, course)
    assert "ada" not in course_link.lower() and f"/{course.id}" not in course_link

    # Unpaid, it books nothing, and says why.
    waiting = client.get(course_link).get_data(as_text=True)
    assert "waiting for payment" in waiting
    refused = client.get(f"{course_link}/plan", follow_redirects=True).get_data(as_text=True)
    assert "This course is waiting for payment" in refused
    with pytest.raises(DomainError, match="waiting for payment"):
        book_appointment(
            session_type=course.session_type,
            starts_at=local(next_weekday(1), 10),
            practitioner=colette(),
            course=course,
        )

    # The receptionist takes the payment.
    desk_page = receptionist_client.get(f"/diary/courses/{course.id}")
    assert desk_page.status_code == 200
    paid = receptionist_client.post(
        f"/diary/courses/{course.id}/paid",
        data={
            "payment_reference": "card receipt 5521",
            "csrf_token": csrf_token(desk_page.get_data(as_text=True)),
        },
    )
    assert paid.status_code == 302
    db.session.expire_all()
    course = get(Course)
    assert course.status == CourseStatus.ACTIVE
    assert course.payment_reference == "card receipt 5521"
    assert course.credits_remaining == 10
    assert course.expires_at.astimezone(LONDON).date() == (
        course.paid_at.astimezone(LONDON).date() + timedelta(days=183)
    )
    assert count(AuditEvent, AuditEvent.action == "course.paid") == 1
    assert count(OutboxMessage, OutboxMessage.kind == "course_activated") == 1

    # The practitioner is away on the third Tuesday.
    first_tuesday = next_weekday(1)
    away_day = first_tuesday + timedelta(weeks=2)
    db.session.add(
        TimeOff(
            practitioner=colette(),
            starts_at=local(away_day, 0),
            ends_at=local(away_day + timedelta(days=1), 0),
            reason="Training",
        )
    )
    db.session.commit()

    plan_url = (
        f"{course_link}/plan?weekday=1&second_weekday=&at=10:00"
        f"&first_day={first_tuesday}&practitioner=colette-assor"
    )
    proposal = client.get(plan_url)
    html = proposal.get_data(as_text=True)
    assert proposal.status_code == 200
    assert "10 sessions every Tuesday at 10:00" in html
    assert "10:00 is not free" in html
    # The nearest free times that week: the days either side, at the same time.
    monday, wednesday = away_day - timedelta(days=1), away_day + timedelta(days=1)
    for alternative in (local(monday, 10), local(wednesday, 10)):
        assert f'value="{compact(alternative)}"' in html

    chosen = {}
    for n in range(10):
        tuesday = first_tuesday + timedelta(weeks=n)
        chosen[f"session-{n}"] = compact(local(wednesday if tuesday == away_day else tuesday, 10))
    accepted = client.post(
        plan_url, data={**chosen, **SAFE_ANSWERS, "csrf_token": csrf_token(html)}
    )
    assert accepted.status_code == 302, accepted.get_data(as_text=True)
    db.session.expire_all()
    course = get(Course)
    sessions = course.appointments
    assert len(sessions) == 10
    assert {a.source for a in sessions} == {"course_plan"}
    assert all(a.starts_at.astimezone(LONDON).time() == time(10) for a in sessions)
    assert local(wednesday, 10) in [a.starts_at for a in sessions]
    assert course.credits_remaining == 0
    assert ledger_total(course) == 0
    # One email lists them all; each session has its own invitation (one UID per object).
    planned = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "course_planned")
    ).all()
    assert len(planned) == 1 and planned[0].ics is None
    invitations = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "course_session")
    ).all()
    assert len(invitations) == 10
    assert all(row.ics.count("BEGIN:VEVENT") == 1 for row in invitations)
    assert {row.appointment_id for row in invitations} == {a.id for a in sessions}

    course_page = client.get(course_link).get_data(as_text=True)
    assert "0 of 10" in course_page

    # Cancelling one with notice gives the credit back.
    last = sessions[-1]
    manage_link = f"/manage/{manage_token(last)}"
    review = client.get(f"{manage_link}/cancel").get_data(as_text=True)
    cancelled = client.post(f"{manage_link}/cancel", data={"csrf_token": csrf_token(review)})
    assert cancelled.status_code == 302
    db.session.expire_all()
    course = get(Course)
    assert get(Appointment, id=last.id).status == AppointmentStatus.CANCELLED
    assert course.credits_remaining == 1
    assert course.credit_entries[-1].reason == "Cancelled with notice: credit returned"
    assert ledger_total(course) == course.credits_remaining
    assert "1 of 10" in client.get(course_link).get_data(as_text=True)


def test_a_patient_books_the_next_session_against_a_credit(client, paid_course):
    token = course_token(paid_course)
    day = next_weekday(3)
    page = client.get(f"/course/{token}/book?first={day}&day={day}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and ">10:00<" in html
    # The time leads to a review of the session, with the safety questions; nothing yet.
    start = compact(local(day, 10))
    review_url = f"/course/{token}/book/review?practitioner=colette-assor&start={start}"
    assert review_url.replace("&", "&amp;") in html
    review = client.get(review_url)
    review_html = review.get_data(as_text=True)
    assert review.status_code == 200 and "Book this course session?" in review_html
    assert "Uses 1 of the 10 sessions left on your course" in review_html
    assert count(Appointment) == 0
    unanswered = client.post(review_url, data={"csrf_token": csrf_token(review_html)})
    assert unanswered.status_code == 422
    assert "Please answer this safety question" in unanswered.get_data(as_text=True)
    assert count(Appointment) == 0
    response = client.post(review_url, data={**SAFE_ANSWERS, "csrf_token": csrf_token(review_html)})
    assert response.status_code == 302
    db.session.expire_all()
    appointment = get(Appointment)
    assert appointment.course_id == paid_course.id
    assert appointment.patient_id == paid_course.patient_id
    assert appointment.price_pence == 0
    assert get(Course).credits_remaining == 9
    assert count(OutboxMessage, OutboxMessage.kind == "confirmation") == 1


def test_a_late_cancellation_uses_the_credit_unless_the_clinic_says_otherwise(
    app, paid_course, make_staff
):
    receptionist = make_staff("receptionist")
    day = next_weekday(4)
    late = book_appointment(
        session_type=paid_course.session_type,
        starts_at=local(day, 10),
        practitioner=colette(),
        course=paid_course,
    )
    cancel_appointment(late, staff_user=receptionist, now=late.starts_at - timedelta(hours=3))
    db.session.expire_all()
    assert get(Course).credits_remaining == 9
    assert ledger_total(paid_course) == 9

    settings = clinic_settings()
    settings.late_cancellation_uses_credit = False
    db.session.commit()
    forgiven = book_appointment(
        session_type=paid_course.session_type,
        starts_at=local(day, 14),
        practitioner=colette(),
        course=paid_course,
    )
    assert get(Course).credits_remaining == 8
    cancel_appointment(
        forgiven, staff_user=receptionist, now=forgiven.starts_at - timedelta(hours=3)
    )
    db.session.expire_all()
    assert get(Course).credits_remaining == 9
    assert paid_course.credit_entries[-1].reason == "Cancelled late: credit returned"


def test_the_clinic_cancelling_late_gives_the_credit_back(app, paid_course, make_staff):
    """A late cancellation uses the credit (the setting), but not one the clinic asked for:
    the patient did not choose to miss it (a practitioner off sick, say)."""
    from booking.models import CancelledBy

    assert clinic_settings().late_cancellation_uses_credit
    sick_day = book_appointment(
        session_type=paid_course.session_type,
        starts_at=local(next_weekday(4), 10),
        practitioner=colette(),
        course=paid_course,
    )
    assert get(Course).credits_remaining == 9
    cancel_appointment(
        sick_day,
        staff_user=make_staff("receptionist"),
        now=sick_day.starts_at - timedelta(hours=3),
        requested_by=CancelledBy.CLINIC,
    )
    db.session.expire_all()
    assert get(Course).credits_remaining == 10
    assert ledger_total(paid_course) == 10
    assert paid_course.credit_entries[-1].reason == "Cancelled late by the clinic: credit returned"


def test_a_no_show_follows_the_clinic_setting_and_undoing_it_never_counts_twice(
    app, paid_course, make_staff
):
    receptionist = make_staff("receptionist")
    settings = clinic_settings()
    settings.no_show_uses_credit = False
    db.session.commit()
    appointment = book_appointment(
        session_type=paid_course.session_type,
        starts_at=local(next_weekday(0), 10),
        practitioner=colette(),
        course=paid_course,
    )
    after = appointment.starts_at + timedelta(hours=2)
    assert get(Course).credits_remaining == 9
    record_attendance(appointment, AppointmentStatus.NO_SHOW, staff_user=receptionist, now=after)
    assert get(Course).credits_remaining == 10
    # Marking it again, undoing it and marking it once more: each state holds its credit once.
    record_attendance(appointment, AppointmentStatus.NO_SHOW, staff_user=receptionist, now=after)
    assert get(Course).credits_remaining == 10
    record_attendance(appointment, AppointmentStatus.BOOKED, staff_user=receptionist, now=after)
    assert get(Course).credits_remaining == 9
    record_attendance(appointment, AppointmentStatus.ATTENDED, staff_user=receptionist, now=after)
    assert get(Course).credits_remaining == 9

    settings.no_show_uses_credit = True
    db.session.commit()
    record_attendance(appointment, AppointmentStatus.NO_SHOW, staff_user=receptionist, now=after)
    db.session.expire_all()
    assert get(Course).credits_remaining == 9
    assert ledger_total(paid_course) == 9


def test_an_expired_course_books_nothing(client, paid_course):
    paid_course.expires_at = datetime.now(UTC) - timedelta(days=1)
    db.session.commit()
    with pytest.raises(DomainError, match="This course ended on"):
        book_appointment(
            session_type=paid_course.session_type,
            starts_at=local(next_weekday(1), 10),
            practitioner=colette(),
            course=paid_course,
        )
    token = course_token(paid_course)
    page = client.get(f"/course/{token}/book", follow_redirects=True).get_data(as_text=True)
    assert "This course ended on" in page
    assert count(Appointment) == 0
    assert get(Course).credits_remaining == 10


def test_a_session_after_the_course_ends_is_refused(app, paid_course):
    paid_course.expires_at = local(next_weekday(1), 23, 59)
    db.session.commit()
    with pytest.raises(DomainError, match="after your course ends"):
        book_appointment(
            session_type=paid_course.session_type,
            starts_at=local(next_weekday(1) + timedelta(days=1), 10),
            practitioner=colette(),
            course=paid_course,
        )
    assert count(Appointment) == 0 and get(Course).credits_remaining == 10


def test_twenty_bookings_racing_for_the_last_credits_never_overspend(app, paid_course, make_staff):
    credits.adjust_credits(
        paid_course, -7, "Seven sessions used before", staff_user=make_staff("admin")
    )
    assert get(Course).credits_remaining == 3
    # Twenty different free times, so only the credits can run out.
    settings = clinic_settings()
    now = datetime.now(UTC)
    first = next_weekday(0)
    free = availability.practitioner_free_starts(
        colette(),
        paid_course.session_type,
        first,
        first + timedelta(days=27),
        now=now,
        settings=settings,
    )
    starts = [day_starts[0] for day, day_starts in sorted(free.items()) if day_starts][:20]
    assert len(starts) == 20
    course_id = paid_course.id
    colette_id = colette().id
    db.session.remove()

    def attempt(number: int) -> str:
        course = db.session.get(Course, course_id)
        book_appointment(
            session_type=course.session_type,
            starts_at=starts[number],
            practitioner=db.session.get(Practitioner, colette_id),
            course=course,
        )
        return "booked"

    outcomes = race(app, 20, attempt)

    assert len(outcomes) == 20
    assert outcomes.count("booked") == 3, outcomes
    assert outcomes.count(credits.NO_CREDITS_MESSAGE) == 17, outcomes
    course = get(Course)
    assert course.credits_remaining == 0
    assert count(Appointment, Appointment.course_id == course.id) == 3
    assert ledger_total(course) == 0


def test_the_database_refuses_negative_credits(app, paid_course):
    paid_course.credits_remaining = -1
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_blank_plan_form_suggests_ten_oclock_with_the_only_practitioner(client, paid_course):
    html = client.get(f"/course/{course_token(paid_course)}/plan").get_data(as_text=True)
    assert re.search(
        r'<option[^>]*selected[^>]*value="10:00"|<option[^>]*value="10:00"[^>]*selected', html
    )
    assert '<input type="hidden" name="practitioner" value="colette-assor">' in html
    assert f"<p>With {colette().name}.</p>" in html


def test_the_plan_page_still_opens_when_no_session_fits_the_working_hours(client, paid_course):
    # Hours that close before a whole 90-minute session fits used to end in a server error.
    for practitioner in course_plans.plannable_practitioners(paid_course):
        for hours in practitioner.working_hours:
            hours.starts_at, hours.ends_at = time(0), time(1)
    db.session.commit()
    response = client.get(f"/course/{course_token(paid_course)}/plan")
    assert response.status_code == 200
    assert 'name="at"' in response.get_data(as_text=True)


def test_a_plan_books_nothing_if_one_time_was_taken_meanwhile(client, paid_course):
    first_tuesday = next_weekday(1)
    plan = course_plans.propose_plan(
        paid_course,
        practitioner=colette(),
        weekdays=[1],
        at=time(10),
        first_day=first_tuesday,
    )
    assert len(plan.sessions) == 10 and not plan.clashes
    starts = [session.proposed for session in plan.sessions]
    taken = starts[4]
    book_appointment(
        session_type=paid_course.session_type,
        starts_at=taken,
        practitioner=colette(),
        patient=PatientDetails("Quick Patient", "quick@example.org", "07700900300"),
    )
    with pytest.raises(course_plans.PlanSlotTaken) as refusal:
        course_plans.book_plan(paid_course, practitioner=colette(), starts=starts)
    assert refusal.value.starts_at == taken
    local_taken = taken.astimezone(LONDON)
    assert f"{local_taken:%A} {local_taken.day} {local_taken:%B} at 10:00" in refusal.value.message
    assert "nothing has been booked" in refusal.value.message
    db.session.expire_all()
    assert count(Appointment, Appointment.course_id == paid_course.id) == 0
    assert get(Course).credits_remaining == 10
    assert ledger_total(paid_course) == 10
    assert count(OutboxMessage, OutboxMessage.kind == "course_planned") == 0

    # Through the page: the person sees which time went, and a fresh plan.
    token = course_token(paid_course)
    url = (
        f"/course/{token}/plan?weekday=1&second_weekday=&at=10:00"
        f"&first_day={first_tuesday}&practitioner=colette-assor"
    )
    html = client.get(url).get_data(as_text=True)
    data = {f"session-{n}": compact(start) for n, start in enumerate(starts)}
    response = client.post(url, data={**data, **SAFE_ANSWERS, "csrf_token": csrf_token(html)})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "was taken while you were choosing" in page
    assert "10:00 is not free" in page
    assert count(Appointment, Appointment.course_id == paid_course.id) == 0


def test_a_plan_across_the_clocks_going_back_keeps_ten_oclock_local(app, product, make_staff):
    now = datetime(2026, 10, 1, 9, tzinfo=UTC)
    course = courses.request_course(
        product, PatientDetails("Autumn Patient", "autumn@example.org", "07700900400"), now=now
    )
    courses.activate_course(course, "cash", make_staff("receptionist"), now=now)
    plan = course_plans.propose_plan(
        course,
        practitioner=colette(),
        weekdays=[1],
        at=time(10),
        first_day=date(2026, 10, 6),
        now=now,
    )
    starts = [session.proposed for session in plan.sessions]
    assert len(starts) == 10 and not plan.clashes
    booked = course_plans.book_plan(course, practitioner=colette(), starts=starts, now=now)
    assert [a.starts_at.astimezone(LONDON).time() for a in booked] == [time(10)] * 10
    utc_hours = [a.starts_at.astimezone(UTC).hour for a in booked]
    # British Summer Time ends on 25 October 2026: 10:00 local is 09:00 UTC before, 10:00 after.
    assert utc_hours == [9, 9, 9, 10, 10, 10, 10, 10, 10, 10]
    assert booked[2].starts_at.date() == date(2026, 10, 20)
    assert booked[3].starts_at.date() == date(2026, 10, 27)


def test_a_twice_weekly_plan_keeps_alternatives_off_the_other_planned_day(app, paid_course):
    first_monday = next_weekday(0)
    thursday = first_monday + timedelta(days=3)
    db.session.add(
        TimeOff(
            practitioner=colette(),
            starts_at=local(first_monday, 0),
            ends_at=local(first_monday + timedelta(days=1), 0),
        )
    )
    db.session.commit()
    plan = course_plans.propose_plan(
        paid_course,
        practitioner=colette(),
        weekdays=[0, 3],
        at=time(10),
        first_day=first_monday,
    )
    assert len(plan.sessions) == 10
    clash = plan.sessions[0]
    assert not clash.free and clash.wanted == local(first_monday, 10)
    assert clash.proposed == local(first_monday + timedelta(days=1), 10)
    assert all(start.astimezone(LONDON).date() != thursday for start in clash.alternatives)
    assert plan.sessions[1].proposed == local(thursday, 10)


def test_the_receptionist_sells_a_course_and_adjusts_credits_with_a_reason(
    receptionist_client, product
):
    page = receptionist_client.get("/diary/courses")
    assert page.status_code == 200
    response = receptionist_client.post(
        "/diary/courses/sell",
        data={
            "product_id": product.id,
            "name": "Desk Patient",
            "email": "desk@example.org",
            "phone": "07700 900500",
            "payment_reference": "cash",
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302
    course = get(Course)
    assert course.status == CourseStatus.ACTIVE and course.source == "staff"
    assert course.credits_remaining == 10
    assert response.location == f"/diary/courses/{course.id}"

    course_page = receptionist_client.get(response.location).get_data(as_text=True)
    assert "Desk Patient" in course_page and "Course paid" in course_page
    token = csrf_token(course_page)
    no_reason = receptionist_client.post(
        f"/diary/courses/{course.id}/credits", data={"change": "1", "csrf_token": token}
    )
    assert no_reason.status_code == 422
    too_many = receptionist_client.post(
        f"/diary/courses/{course.id}/credits",
        data={"change": "1", "reason": "Goodwill", "csrf_token": token},
    )
    assert too_many.status_code == 409
    assert "between 0 and 10" in too_many.get_data(as_text=True)
    removed = receptionist_client.post(
        f"/diary/courses/{course.id}/credits",
        data={"change": "-2", "reason": "Two sessions used on paper", "csrf_token": token},
    )
    assert removed.status_code == 302
    db.session.expire_all()
    course = get(Course)
    assert course.credits_remaining == 8
    assert course.credit_entries[-1].reason == "Two sessions used on paper"
    assert course.credit_entries[-1].staff_user_id == receptionist_client.user.id
    audit = get(AuditEvent, action="course.credits_adjusted")
    assert audit.details == {"change": -2, "reason": "Two sessions used on paper"}


def test_a_patient_already_on_file_can_buy_a_course_at_the_desk(receptionist_client, product):
    course = courses.request_course(
        product, PatientDetails("File Patient", "file@example.org", "07700900600")
    )
    patient_id = course.patient_id
    url = f"/diary/patients/{patient_id}/courses/new"
    page = receptionist_client.get(url).get_data(as_text=True)
    response = receptionist_client.post(
        url,
        data={
            "product_id": product.id,
            "payment_reference": "card",
            "csrf_token": csrf_token(page),
        },
    )
    assert response.status_code == 302
    assert count(Course, Course.patient_id == patient_id, Course.status == "active") == 1


def test_only_administrators_edit_course_products(
    client, receptionist_client, admin_client, product
):
    assert client.get("/diary/courses").status_code == 302
    assert receptionist_client.get("/diary/course-products").status_code == 403
    listing = admin_client.get("/diary/course-products").get_data(as_text=True)
    assert product.name in listing

    new_page = admin_client.get("/diary/course-products/new").get_data(as_text=True)
    combination = get(SessionType, slug="full-combination")
    assert re.search(rf'<option selected value="{combination.id}"', new_page)
    response = admin_client.post(
        f"/diary/course-products/{product.id}",
        data={
            "name": "Course of 6 full combination sessions",
            "session_type_id": combination.id,
            "sessions_count": "6",
            "price": "600.50",
            "validity_days": "120",
            "active": "y",
            "csrf_token": csrf_token(new_page),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    changed = get(CourseProduct, id=product.id)
    assert (changed.sessions_count, changed.price_pence, changed.validity_days) == (6, 60050, 120)
    assert get(AuditEvent, action="course_product.changed") is not None


def test_tampered_course_links_get_a_404(client, paid_course):
    token = course_token(paid_course)
    assert client.get(f"/course/{token}").status_code == 200
    assert client.get(f"/course/{token[:-2]}xx").status_code == 404
    assert client.get("/course/not-a-token/plan").status_code == 404


def test_a_course_session_cannot_be_moved_past_the_end_of_the_course(app, paid_course):
    from booking.clinic.appointments import move_appointment

    day = next_weekday(1)
    appointment = book_appointment(
        session_type=paid_course.session_type,
        starts_at=local(day, 10),
        practitioner=colette(),
        course=paid_course,
    )
    paid_course.expires_at = local(day + timedelta(days=1), 23, 59)
    db.session.commit()
    with pytest.raises(DomainError, match="after your course ends"):
        move_appointment(appointment, starts_at=local(day + timedelta(days=7), 10))
    moved = move_appointment(appointment, starts_at=local(day + timedelta(days=1), 10))
    assert moved.starts_at == local(day + timedelta(days=1), 10)
    assert get(Course).credits_remaining == 9


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (183, "6 months"),
        (365, "12 months"),
        (31, "1 month"),
        (100, "100 days"),
        (1, "1 day"),
    ],
)
def test_a_course_length_reads_the_same_way_everywhere(days, words):
    from booking.presentation import format_validity

    assert format_validity(days) == words


def test_every_page_gives_the_course_length_in_the_same_words(client, demo):
    from booking.models import CourseProduct

    product = db.session.scalars(sa.select(CourseProduct)).first()
    pages = ["/treatments-and-prices", "/courses", f"/courses/{product.id}/request"]
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        assert "6 months" in html, path
        assert "183 days" not in html, path
