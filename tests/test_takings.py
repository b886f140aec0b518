"""End of day: takings by method and practitioner over local days, and the cash-up."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError
from booking.clinic.payments import ledger
from booking.clinic.payments import takings as end_of_day
from booking.extensions import db
from booking.models import AppointmentStatus, AuditEvent, CashUp
from tests.forms import csrf_token

# The clocks go back on Sunday 25 October 2026: 01:00-02:00 happens twice and the local
# day lasts 25 hours, from 23:00 UTC on the 24th to 00:00 UTC on the 26th.
CLOCKS_BACK = date(2026, 10, 25)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def reception(make_staff):
    return make_staff("receptionist")


@pytest.fixture
def day_of_takings(demo, make_appointment, make_course, reception):
    """Payments around the clock change, for two practitioners and a course."""
    colette = make_appointment(
        utc(2026, 10, 23, 10), price_pence=20000, status=AppointmentStatus.ATTENDED.value
    )
    other = make_appointment(
        utc(2026, 10, 23, 11),
        practitioner="sam-okafor",
        price_pence=10000,
        status=AppointmentStatus.ATTENDED.value,
    )
    course = make_course(paid=False)
    pay = ledger.record_payment
    pay(colette, 1000, "card", reception, now=utc(2026, 10, 24, 22, 59))  # 23:59 BST on the 24th
    pay(colette, 2000, "card", reception, now=utc(2026, 10, 24, 23, 0))  # 00:00 BST on the 25th
    pay(colette, 3000, "cash", reception, now=utc(2026, 10, 25, 0, 30))  # 01:30 BST
    pay(colette, 4000, "cash", reception, now=utc(2026, 10, 25, 1, 30))  # 01:30 GMT, again
    pay(other, 5000, "bank_transfer", reception, now=utc(2026, 10, 25, 23, 59))  # 23:59 GMT
    pay(other, 5000, "card", reception, now=utc(2026, 10, 26, 0, 0))  # the 26th
    pay(course, 7000, "cash", reception, now=utc(2026, 10, 25, 12))
    ledger.record_refund(colette, 500, "cash", reception, now=utc(2026, 10, 25, 15))
    return colette, other, course


def test_takings_count_the_whole_25_hour_day_and_nothing_else(day_of_takings):
    colette, other, _ = day_of_takings
    figures = end_of_day.takings(CLOCKS_BACK)
    by_method = {line.label: line for line in figures.by_method}
    assert by_method["card"].net_pence == 2000
    assert by_method["cash"].payments_pence == 3000 + 4000 + 7000
    assert by_method["cash"].refunds_pence == -500
    assert by_method["cash"].net_pence == 13500
    assert by_method["bank transfer"].net_pence == 5000
    assert by_method["online payment"].net_pence == 0
    assert figures.total.net_pence == 2000 + 13500 + 5000
    by_practitioner = {line.label: line.net_pence for line in figures.by_practitioner}
    assert by_practitioner == {
        colette.practitioner.name: 2000 + 3000 + 4000 - 500,
        other.practitioner.name: 5000,
        "Courses": 7000,
    }
    assert [entry.amount_pence for entry in figures.refunds] == [-500]


def test_a_range_adds_its_days(day_of_takings):
    figures = end_of_day.takings(date(2026, 10, 24), date(2026, 10, 26))
    assert figures.total.net_pence == 1000 + 2000 + 3000 + 4000 + 5000 + 5000 + 7000 - 500


def test_a_cash_up_is_kept_and_a_recount_is_history(day_of_takings, reception, make_staff):
    assert end_of_day.cash_recorded(CLOCKS_BACK) == 3000 + 4000 + 7000 - 500
    first = end_of_day.record_cash_up(
        CLOCKS_BACK, 13000, staff_user=reception, now=utc(2026, 10, 25, 18)
    )
    assert (first.recorded_pence, first.difference_pence) == (13500, -500)
    manager = make_staff("admin")
    again = end_of_day.record_cash_up(
        CLOCKS_BACK,
        13500,
        staff_user=manager,
        note="found £5 under the till",
        now=utc(2026, 10, 25, 19),
    )
    counts = end_of_day.cash_ups(CLOCKS_BACK)
    assert [count.id for count in counts] == [again.id, first.id]
    assert [count.difference_pence for count in counts] == [0, -500]
    assert [count.counted_by_name for count in counts] == [manager.name, reception.name]
    assert db.session.scalar(sa.select(sa.func.count(CashUp.id))) == 2
    audited = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "cash_up.recorded").order_by(AuditEvent.id)
    ).all()
    assert [event.details["difference_pence"] for event in audited] == [-500, 0]


def test_a_cash_up_for_a_day_to_come_is_refused(demo, reception):
    with pytest.raises(DomainError, match="has not happened yet"):
        end_of_day.record_cash_up(
            date(2026, 10, 26), 100, staff_user=reception, now=utc(2026, 10, 25, 18)
        )


def test_the_takings_page_shows_methods_practitioners_and_refunds(
    receptionist_client, day_of_takings
):
    colette, _, _ = day_of_takings
    response = receptionist_client.get("/diary/takings?first_day=2026-10-25&last_day=2026-10-25")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    method_table = html[html.index('id="takings-by-method"') :]
    assert "£135.00" in method_table[: method_table.index("</table>")]
    assert colette.practitioner.name in html and "Courses" in html
    refunds = html[html.index('id="takings-refunds"') :]
    assert "-£5.00" in refunds[: refunds.index("</table>")]


def test_the_cash_up_form_keeps_counts_and_refuses_bad_amounts(receptionist_client, day_of_takings):
    url = "/diary/takings?first_day=2026-10-25&last_day=2026-10-25"
    for typed, message in [
        ("abc", "is not an amount we can read"),
        ("-5", "cannot be negative"),
        ("£1e9", "is not an amount we can read"),
        ("65.505", "is not an amount we can read"),
        ("", "Enter the cash counted"),
    ]:
        token = csrf_token(receptionist_client.get(url).get_data(as_text=True))
        response = receptionist_client.post(
            "/diary/takings/cash-up",
            data={"csrf_token": token, "day": "2026-10-25", "counted": typed, "note": "kept"},
        )
        assert response.status_code == 422, typed
        html = response.get_data(as_text=True)
        assert message in html and 'value="kept"' in html
    token = csrf_token(receptionist_client.get(url).get_data(as_text=True))
    response = receptionist_client.post(
        "/diary/takings/cash-up",
        data={"csrf_token": token, "day": "2026-10-25", "counted": "130"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "£130.00 counted by" in html and "£5.00 less than the cash recorded" in html
    assert db.session.scalar(sa.select(sa.func.count(CashUp.id))) == 1


def test_takings_are_for_the_front_desk_only(practitioner_client):
    assert practitioner_client.get("/diary/takings").status_code == 403


@pytest.mark.parametrize(
    "query", ["first_day=abc&last_day=2026-10-25", "first_day=2026-10-26&last_day=2026-10-25"]
)
def test_a_bad_range_is_a_message(receptionist_client, demo, query):
    response = receptionist_client.get(f"/diary/takings?{query}")
    assert response.status_code == 422
