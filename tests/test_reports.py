"""The owner's dashboard: every figure against a small clinic counted by hand.

The range is Monday 19 October to Sunday 1 November 2026: the clocks go back in its first
week (Sunday 25 October, 02:00 BST -> 01:00 GMT), so a week counted in UTC would put the
first Monday's small hours in the week before and split the Sunday night wrongly.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import courses, reports, time_off, working_hours
from booking.clinic.settings import clinic_settings
from booking.clinic.working_time import working_minutes
from booking.extensions import db
from booking.models import (
    AuditEvent,
    Course,
    CourseProduct,
    Practitioner,
    SessionType,
    WorkingHours,
)

LONDON = ZoneInfo("Europe/London")
FIRST, LAST = date(2026, 10, 19), date(2026, 11, 1)
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def _practitioner(slug: str, hours: dict[int, list[tuple[time, time]]]) -> Practitioner:
    practitioner = Practitioner(
        slug=slug,
        name=slug.replace("-", " ").title(),
        working_hours=[
            WorkingHours(weekday=day, starts_at=start, ends_at=end)
            for day, intervals in hours.items()
            for start, end in intervals
        ],
    )
    db.session.add(practitioner)
    db.session.commit()
    return practitioner


NINE_TO_FIVE = {day: [(time(9), time(17))] for day in range(5)}


@pytest.fixture
def clinic(app, make_staff, make_patient, make_appointment):
    """Two practitioners, a session type, and the appointments the tests count."""
    admin = make_staff("admin")
    ada = _practitioner("ada-moss", NINE_TO_FIVE)
    other = _practitioner("bo-other", NINE_TO_FIVE)
    session = SessionType(slug="treatment", name="Treatment", duration_minutes=60, price_pence=6500)
    db.session.add(session)
    db.session.commit()

    # Ada's hours change on Monday 26 October to mornings only; the audit log says when.
    working_hours.set_working_hours(
        ada, {day: [(time(9), time(13))] for day in range(5)}, staff_user=admin
    )
    db.session.execute(
        sa.update(AuditEvent)
        .where(AuditEvent.action == "working_hours.changed")
        .values(occurred_at=local(date(2026, 10, 26), 8))
    )
    db.session.commit()

    # Time off on Wednesday 21 October: 12:00-14:00 and 13:00-15:00 overlap (3 hours in all),
    # and the clinic closed all Friday 30 October.
    time_off.add_time_off(
        ada, local(date(2026, 10, 21), 12), local(date(2026, 10, 21), 14), staff_user=admin
    )
    time_off.add_time_off(
        ada, local(date(2026, 10, 21), 13), local(date(2026, 10, 21), 15), staff_user=admin
    )
    time_off.close_clinic(
        local(date(2026, 10, 30), 0), local(date(2026, 10, 31), 0), staff_user=admin
    )

    old = make_patient("Old Patient")
    first = make_patient("First Timer")
    cancelled_only = make_patient("Cancelled Only")
    third = make_patient("Third Patient")
    fourth = make_patient("Fourth Patient")

    def book(at, patient, *, status="attended", minutes=60, source="staff", **fields):
        return make_appointment(
            at,
            practitioner=ada,
            session=session,
            patient=patient,
            status=status,
            minutes=minutes,
            source=source,
            **fields,
        )

    book(local(date(2026, 10, 10), 10), old)  # before the range: Old Patient returns
    book(local(date(2026, 10, 1), 10), third, status="cancelled")  # not a visit: Third is new
    book(local(date(2026, 10, 19), 10), old)  # 1 attended
    book(local(date(2026, 10, 20), 10), first, status="no_show", source="online")  # 2
    book(  # 3 cancelled 22 hours before: late
        local(date(2026, 10, 22), 10),
        cancelled_only,
        status="cancelled",
        cancelled_at=local(date(2026, 10, 21), 12),
        cancelled_by="patient",
        cancel_requested_by="patient",
    )
    book(  # 4 cancelled three days before by staff, for the patient: with notice
        local(date(2026, 10, 23), 10),
        cancelled_only,
        status="cancelled",
        cancelled_at=local(date(2026, 10, 20), 10),
        cancelled_by="clinic",
        cancel_requested_by="patient",
    )
    book(local(date(2026, 10, 26), 10), first, source="online")  # 5
    book(local(date(2026, 10, 27), 10), third, status="booked", source="course_plan")  # 6
    book(local(date(2026, 10, 25), 23, 30), fourth, minutes=30)  # 7 Sunday night, GMT
    book(local(date(2026, 10, 19), 0, 30), fourth, minutes=30)  # 8 Monday 00:30 BST
    book(local(date(2026, 11, 2), 10), fourth)  # after the range
    make_appointment(local(date(2026, 10, 20), 11), practitioner=other, session=session)
    return {"ada": ada, "other": other, "admin": admin, "session": session}


def _dashboard(**kwargs):
    return reports.dashboard(FIRST, LAST, settings=clinic_settings(), now=NOW, **kwargs)


def test_appointments_fall_in_their_local_week_across_the_clock_change(clinic):
    figures = _dashboard(practitioner_id=clinic["ada"].id)
    assert [(week.starts_on, week.held, week.cancelled) for week in figures.weeks] == [
        (date(2026, 10, 19), 4, 2),
        (date(2026, 10, 26), 2, 0),
    ]


def test_utilisation_uses_the_hours_in_force_each_day_less_time_off(clinic):
    figures = _dashboard()
    ada = next(row for row in figures.utilisation if row.practitioner_id == clinic["ada"].id)
    # First week 5 x 8 h less 3 h off; second week 5 x 4 h less Friday's closure.
    assert ada.working_minutes == (5 * 480 - 180) + (5 * 240 - 240)
    # Held: 60 + 60 (no-show) + 60 + 60 (not marked yet) + 30 + 30; cancelled ones free time.
    assert ada.booked_minutes == 300
    assert ada.percent == pytest.approx(100 * 300 / 3180)
    other = next(row for row in figures.utilisation if row.practitioner_id == clinic["other"].id)
    assert (other.booked_minutes, other.working_minutes) == (60, 10 * 480 - 480)


def test_no_show_and_late_cancellation_rates(clinic):
    attendance = _dashboard(practitioner_id=clinic["ada"].id).attendance
    assert attendance.appointments == 8
    assert (attendance.attended, attendance.no_shows, attendance.not_yet_marked) == (4, 1, 1)
    assert (attendance.cancelled, attendance.late_cancellations) == (2, 1)
    assert attendance.no_show_rate == pytest.approx(20.0)
    assert attendance.late_cancellation_rate == pytest.approx(12.5)


def test_the_notice_period_decides_what_is_late(clinic):
    settings = clinic_settings()
    settings.cancellation_notice_hours = 96
    db.session.commit()
    attendance = _dashboard(practitioner_id=clinic["ada"].id).attendance
    assert attendance.late_cancellations == 2


def test_only_late_cancellations_the_patient_asked_for_count_as_late(
    clinic, make_patient, make_appointment
):
    """Staff cancel for the clinic (a practitioner off sick) or for a patient who phoned:
    only the patient's request is their late cancellation; the clinic's own, and one from
    before staff said who asked, are counted apart."""
    before = _dashboard(practitioner_id=clinic["ada"].id).attendance
    patient = make_patient("Phoned In")
    for day, asked in ((28, "clinic"), (29, "patient"), (27, None)):
        make_appointment(
            local(date(2026, 10, day), 12),
            practitioner=clinic["ada"],
            session=clinic["session"],
            patient=patient,
            status="cancelled",
            source="staff",
            cancelled_at=local(date(2026, 10, day), 8),  # four hours before: late
            cancelled_by="clinic",
            cancel_requested_by=asked,
        )
    after = _dashboard(practitioner_id=clinic["ada"].id).attendance
    assert after.cancelled == before.cancelled + 3
    assert after.late_cancellations == before.late_cancellations + 1
    assert after.late_not_by_patient == before.late_not_by_patient + 2
    assert after.late_cancellation_rate == pytest.approx(100.0 * 2 / 11)


def test_new_and_returning_patients(clinic):
    patients = _dashboard(practitioner_id=clinic["ada"].id).patients
    # Old Patient came before; First Timer, Third (whose earlier visit was cancelled) and
    # Fourth are new; Cancelled Only had no visit in the range.
    assert (patients.new, patients.returning) == (3, 1)


def test_online_against_phone_bookings(clinic):
    sources = _dashboard(practitioner_id=clinic["ada"].id).sources
    assert sources == {"online": 2, "staff": 5, "course_plan": 1}


def test_a_practitioner_sees_only_their_own_figures(clinic):
    own = _dashboard(practitioner_id=clinic["other"].id)
    assert [row.practitioner_id for row in own.utilisation] == [clinic["other"].id]
    assert own.attendance.appointments == 1
    assert own.courses is None
    whole = _dashboard()
    assert whole.attendance.appointments == 9
    assert whole.courses is not None


def test_course_sales_and_credits_still_owed(clinic, make_patient):
    admin = clinic["admin"]
    product = CourseProduct(
        name="Ten", session_type=clinic["session"], sessions_count=10, price_pence=95000
    )
    odd = CourseProduct(
        name="Odd", session_type=clinic["session"], sessions_count=10, price_pence=33335
    )
    db.session.add_all([product, odd])
    db.session.commit()

    def sell(chosen, paid_at):
        course = courses.request_course(chosen, make_patient(), now=paid_at)
        return courses.activate_course(course, "card", admin, now=paid_at)

    in_range = sell(product, local(date(2026, 10, 20), 11))
    before = sell(odd, local(date(2026, 9, 1), 11))
    expired = sell(product, local(date(2026, 9, 2), 11))
    courses.request_course(product, make_patient(), now=local(date(2026, 10, 21), 9))  # unpaid
    db.session.execute(
        sa.update(Course).where(Course.id == in_range.id).values(credits_remaining=3)
    )
    db.session.execute(sa.update(Course).where(Course.id == before.id).values(credits_remaining=1))
    db.session.execute(
        sa.update(Course).where(Course.id == expired.id).values(expires_at=NOW - timedelta(days=1))
    )
    db.session.commit()
    figures = _dashboard().courses
    assert figures is not None
    assert (figures.sold, figures.sold_pence) == (1, 95000)
    # 3 x £95 = £285, and 1 x £33.335 rounded to £33.34; the expired course owes nothing.
    assert (figures.courses_with_credit, figures.credits_owed) == (2, 4)
    assert figures.owed_pence == 28500 + 3334


def test_working_minutes_on_the_nights_the_clocks_change(app):
    night = _practitioner("night-owl", {6: [(time(0), time(3))]})  # Sundays 00:00-03:00
    zone = clinic_settings().zone
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert working_minutes([night.id], spring, spring, zone) == {night.id: 120}
    assert working_minutes([night.id], autumn, autumn, zone) == {night.id: 240}


def test_a_range_back_to_front_or_too_long_is_refused_with_a_message(app):
    from booking.clinic import DomainError

    with pytest.raises(DomainError, match="must not be before"):
        reports.dashboard(LAST, FIRST, settings=clinic_settings(), now=NOW)
    with pytest.raises(DomainError, match="at most"):
        reports.dashboard(FIRST, FIRST + timedelta(days=500), settings=clinic_settings(), now=NOW)


def test_the_dashboard_page_shows_figures_charts_and_tables(clinic, admin_client):
    page = admin_client.get(f"/diary/reports?first_day={FIRST}&last_day={LAST}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.count("<svg") == 4  # weeks, utilisation, sources, takings
    assert "Appointments per week" in text and "<caption>Utilisation per practitioner" in text
    assert "20.0%" in text  # the no-show rate
    assert "11.1%" in text  # one late cancellation among the clinic's nine appointments


def test_a_practitioner_opens_their_own_figures_and_a_receptionist_cannot(
    app, clinic, make_staff, sign_in
):
    client = app.test_client()
    sign_in(client, make_staff("practitioner", practitioner=clinic["other"]))
    page = client.get(f"/diary/reports?first_day={FIRST}&last_day={LAST}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Your figures" in text and "Ada Moss" not in text and "Credits still owed" not in text
    desk = app.test_client()
    sign_in(desk, make_staff("receptionist"))
    assert desk.get("/diary/reports").status_code == 403


def test_a_bad_range_in_the_address_gives_a_message_not_an_error(clinic, admin_client):
    page = admin_client.get("/diary/reports?first_day=2026-13-45&last_day=soon")
    assert page.status_code == 422
    assert "Please correct" in page.get_data(as_text=True)
    page = admin_client.get(f"/diary/reports?first_day={LAST}&last_day={FIRST}")
    assert page.status_code == 422
    assert "must not be before" in page.get_data(as_text=True)
    page = admin_client.get("/diary/reports?first_day=2026-10-19")
    assert page.status_code == 422 and "Enter the last day." in page.get_data(as_text=True)
    # Another parameter alone asks for no range: the default one, not an error.
    page = admin_client.get("/diary/reports?from=newsletter")
    assert page.status_code == 200 and "Please correct" not in page.get_data(as_text=True)


def test_takings_by_method_are_payments_less_refunds_in_the_range(clinic, make_appointment):
    from booking.clinic.payments import ledger
    from booking.clinic.transaction import unit_of_work
    from booking.models import LedgerEntryKind

    admin = clinic["admin"]

    def visit(day: date, hour: int):
        return make_appointment(
            local(day, hour),
            practitioner=clinic["other"],
            session=clinic["session"],
            price_pence=6500,
        )

    first, second, third = (
        visit(date(2026, 10, 20), 14),
        visit(date(2026, 10, 21), 14),
        visit(date(2026, 10, 22), 14),
    )
    ledger.record_payment(first, 6500, "card", admin, now=local(date(2026, 10, 20), 15))
    ledger.record_payment(second, 6500, "cash", admin, now=local(date(2026, 10, 21), 15))
    ledger.record_refund(second, 1500, "cash", admin, now=local(date(2026, 10, 22), 9))
    ledger.record_payment(third, 2000, "card", admin, now=local(date(2026, 11, 2), 9))  # after
    with unit_of_work():
        ledger.add_entry(
            third,
            LedgerEntryKind.FEE,
            3000,
            method=None,
            staff_user=admin,
            reference=None,
            provider_reference=None,
            now=local(date(2026, 10, 23), 9),
            fee_kind="no_show",
        )
    money = _dashboard().money
    assert money is not None
    by_method = {row.method: (row.payments_pence, row.refunds_pence) for row in money.takings}
    assert by_method == {
        "card": (6500, 0),
        "cash": (6500, -1500),
        "bank_transfer": (0, 0),
        "online": (0, 0),
    }
    assert money.net_pence == 11500
    assert money.fees_charged_pence == 3000
    assert _dashboard(practitioner_id=clinic["other"].id).money is None


def test_the_figures_are_aggregates_whose_statements_do_not_grow_with_the_data(
    clinic, make_appointment
):
    from tests.queries import counting_queries

    with counting_queries() as few:
        small = _dashboard()
    for day in range(10):
        make_appointment(
            local(date(2026, 10, 19) + timedelta(days=day), 16),
            practitioner=clinic["other"],
            session=clinic["session"],
        )
    with counting_queries() as more:
        larger = _dashboard()
    assert larger.attendance.appointments == small.attendance.appointments + 10
    # The same statements over appointments whatever their number (a session reloading
    # objects expired by the commits above may add plain reads of other rows).
    assert len(more.matching("from appointments")) == len(few.matching("from appointments")) <= 3
    # No statement reads appointments row by row: every one over them aggregates.
    for statement in more.matching("from appointments"):
        assert (
            "count(" in statement.lower()
            or "sum(" in statement.lower()
            or ("distinct" in statement.lower())
        ), statement


def test_outcome_change_across_the_courses_that_finished_in_the_range(
    clinic, make_patient, make_appointment
):
    import json

    from booking.models import OutcomeRecord

    admin = clinic["admin"]
    product = CourseProduct(
        name="Three", session_type=clinic["session"], sessions_count=3, price_pence=15000
    )
    db.session.add(product)
    db.session.commit()

    def course_with_scores(first_day, last_day, first_scores, last_scores, practitioner):
        patient = make_patient()
        course = courses.activate_course(
            courses.request_course(product, patient, now=local(first_day, 8)),
            "card",
            admin,
            now=local(first_day, 8),
        )
        for day, checkpoint, (pain, activity) in (
            (first_day, "first", first_scores),
            (last_day, "last", last_scores),
        ):
            visit = make_appointment(
                local(day, 15),
                practitioner=practitioner,
                session=clinic["session"],
                patient=patient,
                course_id=course.id,
            )
            db.session.add(
                OutcomeRecord(
                    course_id=course.id,
                    patient_id=patient.id,
                    appointment_id=visit.id,
                    checkpoint=checkpoint,
                    method="desk",
                    answers=json.dumps(
                        {"pain": pain, "activities": [{"name": "Walking", "score": activity}]}
                    ),
                )
            )
        db.session.commit()

    ada, other = clinic["ada"], clinic["other"]
    course_with_scores(date(2026, 9, 1), date(2026, 10, 20), (8, 2), (3, 7), ada)  # -5, +5
    course_with_scores(date(2026, 9, 2), date(2026, 10, 28), (6, 4), (5, 5), other)  # -1, +1
    course_with_scores(date(2026, 9, 3), date(2026, 11, 20), (9, 1), (1, 9), ada)  # after
    outcomes = _dashboard().outcomes
    assert outcomes.courses == 2
    assert (outcomes.pain_first, outcomes.pain_last) == (7.0, 4.0)
    assert outcomes.pain_change == -3.0
    assert outcomes.pain_improved == 1  # only the first fell by two points or more
    assert outcomes.activity_change == 3.0
    own = _dashboard(practitioner_id=other.id).outcomes
    assert (own.courses, own.pain_first, own.pain_last) == (1, 6.0, 5.0)


def test_credits_owed_add_up_to_the_penny_over_many_courses(clinic, make_patient):
    """Each course's value is rounded to a whole penny in whole-number arithmetic: a true
    division would leave half a penny on every course, and 108 courses showed 54p too many."""
    admin = clinic["admin"]
    product = CourseProduct(
        name="Ten", session_type=clinic["session"], sessions_count=10, price_pence=95000
    )
    thirds = CourseProduct(
        name="Three", session_type=clinic["session"], sessions_count=3, price_pence=10000
    )
    db.session.add_all([product, thirds])
    db.session.commit()
    sold = []
    for chosen, credits in [(product, 3)] * 5 + [(thirds, 1), (thirds, 2), (thirds, 2)]:
        course = courses.activate_course(
            courses.request_course(chosen, make_patient(), now=local(date(2026, 9, 1), 9)),
            "card",
            admin,
            now=local(date(2026, 9, 1), 9),
        )
        sold.append((course.id, credits))
    for course_id, credits in sold:
        db.session.execute(
            sa.update(Course).where(Course.id == course_id).values(credits_remaining=credits)
        )
    db.session.commit()
    figures = _dashboard().courses
    assert figures is not None
    # Five courses owe 3 x £95 exactly; a third of £100 is £33.33, two thirds £66.67.
    assert figures.credits_owed == 5 * 3 + 1 + 2 + 2
    assert figures.owed_pence == 5 * 28500 + 3333 + 6667 + 6667


def test_every_chart_is_a_named_image_with_a_summary_and_a_table_of_its_figures(
    clinic, admin_client
):
    import re

    text = admin_client.get(f"/diary/reports?first_day={FIRST}&last_day={LAST}").get_data(
        as_text=True
    )
    sections = re.findall(r"<figure>(.*?)</figure>\s*<table[^>]*>(.*?)</table>", text, re.S)
    assert len(sections) == text.count("<svg") == 4
    for figure, table in sections:
        assert re.search(r'<svg [^>]*role="img" aria-label="[^"]+"', figure)
        assert re.search(r"<figcaption>\s*\S", figure)
        assert re.search(r"<caption>\s*\S", table) and '<th scope="col">' in table
    weeks = sections[0][1]
    rows = re.findall(r"<tr><th scope=\"row\">([^<]+)</th><td>(\d+)</td><td>(\d+)</td></tr>", weeks)
    # The whole clinic: Ada's 4 held and 2 cancelled and the other practitioner's 1 visit
    # in the first week; Ada's 2 in the second.
    assert rows == [("19 Oct 2026", "5", "2"), ("26 Oct 2026", "2", "0")]
    assert "7 appointments held over 2 weeks" in sections[0][0]


def test_holds_and_holds_released_unpaid_count_nowhere(clinic, make_patient, make_appointment):
    """A time held for a deposit, or released when the deposit never came, was never a
    booking: not an appointment, not a cancellation (late or not), not a new patient."""
    from booking.clinic.held_appointments import RELEASED_BECAUSE
    from booking.models import HoldReason

    before = _dashboard()
    stranger = make_patient("Never Paid")
    for day, status, extra in (
        (
            date(2026, 10, 21),
            "held",
            {"hold_reason": "deposit", "held_until": local(date(2026, 10, 20), 18)},
        ),
        (
            date(2026, 10, 28),
            "cancelled",
            {
                "cancelled_at": local(date(2026, 10, 28), 8),  # two hours before: "late"
                "cancelled_by": "clinic",
                "cancellation_reason": RELEASED_BECAUSE[HoldReason.DEPOSIT],
            },
        ),
    ):
        make_appointment(
            local(day, 10),
            practitioner=clinic["ada"],
            session=clinic["session"],
            patient=stranger,
            status=status,
            source="online",
            **extra,
        )
    after = _dashboard()
    assert after.attendance == before.attendance
    assert after.sources == before.sources and after.weeks == before.weeks
    assert after.patients == before.patients
    assert [row.booked_minutes for row in after.utilisation] == [
        row.booked_minutes for row in before.utilisation
    ]


def test_the_spring_clock_change_week_keeps_its_appointments_and_hours(app, make_appointment):
    """Week of Monday 23 March 2026: the clocks go forward at 01:00 on Sunday the 29th, so
    the week is 167 hours. Monday 30 March 00:30 BST is Sunday 23:30 UTC: the next week's.
    A Sunday shift of 00:00-03:00 is two hours that night."""
    owl = _practitioner("spring-owl", {6: [(time(0), time(3))], 0: [(time(9), time(17))]})
    session = SessionType(slug="short", name="Short", duration_minutes=30, price_pence=3000)
    db.session.add(session)
    db.session.commit()
    for day, hour, minute in ((date(2026, 3, 29), 0, 30), (date(2026, 3, 29), 2, 30)):
        make_appointment(local(day, hour, minute), practitioner=owl, session=session, minutes=30)
    make_appointment(local(date(2026, 3, 30), 0, 30), practitioner=owl, session=session, minutes=30)
    figures = reports.dashboard(
        date(2026, 3, 23), date(2026, 4, 5), settings=clinic_settings(), now=NOW
    )
    assert [(week.starts_on, week.held) for week in figures.weeks] == [
        (date(2026, 3, 23), 2),
        (date(2026, 4, 5) - timedelta(days=6), 1),
    ]
    [row] = [row for row in figures.utilisation if row.practitioner_id == owl.id]
    # Mondays 23 and 30 March 8 h each; Sundays 29 March (2 h, the skipped hour) and 5 April.
    assert row.working_minutes == 480 + 480 + 120 + 180
    assert row.booked_minutes == 90
