"""Taking money at the desk through the diary's pages: one click, other amounts, refunds."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic.payments import fees, ledger
from booking.extensions import db
from booking.models import AppointmentStatus, ClinicSettings, FeeKind, LedgerEntry
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")


def today_at(hour: int) -> datetime:
    """Today in London at `hour`, or yesterday's if that is still ahead (the grid's button
    shows for appointments up to the end of today, so either is payable)."""
    now = datetime.now(LONDON)
    moment = datetime.combine(now.date(), time(hour), LONDON)
    return moment.astimezone(UTC)


@pytest.fixture
def visit(demo, make_appointment):
    return make_appointment(
        today_at(9) - timedelta(days=1), price_pence=6500, status=AppointmentStatus.ATTENDED.value
    )


def entries() -> list[LedgerEntry]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(LedgerEntry).order_by(LedgerEntry.id)))


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def one_click(client, url: str, appointment_id: int) -> dict:
    """The fields of the one-click form for `appointment_id` on the page at `url`."""
    html = page(client, url)
    action = f"/diary/appointments/{appointment_id}/pay-by-card"
    form = html[html.index(f'action="{action}"') :]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    return {"action": action, **fields}


def test_one_click_on_the_appointment_page_takes_what_is_owed(receptionist_client, visit):
    fields = one_click(receptionist_client, f"/diary/appointments/{visit.id}", visit.id)
    assert fields["amount_pence"] == "6500"
    response = receptionist_client.post(fields.pop("action"), data=fields, follow_redirects=True)
    html = response.get_data(as_text=True)
    name = receptionist_client.user.name
    assert f"£65.00 paid by card, recorded by {name}. Nothing left to pay." in html
    (entry,) = entries()
    assert (entry.amount_pence, entry.method, entry.recorded_by_id) == (
        6500,
        "card",
        receptionist_client.user.id,
    )
    assert "Take £65.00 by card" not in html


def test_a_second_click_takes_nothing_more(receptionist_client, visit):
    fields = one_click(receptionist_client, f"/diary/appointments/{visit.id}", visit.id)
    action = fields.pop("action")
    receptionist_client.post(action, data=fields)
    again = receptionist_client.post(action, data=fields, follow_redirects=True)
    assert "Nothing was recorded" in again.get_data(as_text=True)
    assert len(entries()) == 1


def test_one_click_from_the_day_grid_comes_back_to_the_grid(receptionist_client, visit):
    day = visit.starts_at.astimezone(LONDON).date().isoformat()
    fields = one_click(receptionist_client, f"/diary/day/{day}", visit.id)
    assert fields["back"] == f"/diary/day/{day}"
    response = receptionist_client.post(fields.pop("action"), data=fields)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/diary/day/{day}")
    html = page(receptionist_client, f"/diary/day/{day}")
    assert "Nothing left to pay." in html
    assert ledger.amount_owed(visit) == 0


def test_the_grid_offers_no_payment_for_future_days(receptionist_client, demo, make_appointment):
    later = make_appointment(today_at(10) + timedelta(days=3), price_pence=6500)
    day = later.starts_at.astimezone(LONDON).date().isoformat()
    assert f"/diary/appointments/{later.id}/pay-by-card" not in page(
        receptionist_client, f"/diary/day/{day}"
    )


def test_one_click_without_the_csrf_token_is_refused(receptionist_client, visit):
    response = receptionist_client.post(
        f"/diary/appointments/{visit.id}/pay-by-card", data={"amount_pence": "6500"}
    )
    assert response.status_code in (302, 400)
    assert entries() == []


def _post_form(client, url: str, prefix: str, **values):
    """Fill the payment (prefix "payment") or refund ("refund") form of the page at `url`."""
    token = csrf_token(page(client, url))
    data = {"csrf_token": token, **{f"{prefix}-{key}": value for key, value in values.items()}}
    action = url if prefix == "payment" else url.removesuffix("/payments") + "/refunds"
    return client.post(action, data=data)


def test_a_part_payment_in_cash_then_the_rest(receptionist_client, visit):
    url = f"/diary/appointments/{visit.id}/payments"
    response = _post_form(receptionist_client, url, "payment", amount="20", method="cash")
    assert response.status_code == 302
    html = page(receptionist_client, response.headers["Location"])
    assert "£20.00 paid by cash" in html and "£45.00 still to pay." in html
    response = _post_form(
        receptionist_client,
        url,
        "payment",
        amount="£45.00",
        method="bank_transfer",
        reference="BT-9",
    )
    html = page(receptionist_client, response.headers["Location"])
    assert "£45.00 paid by bank transfer" in html and "Nothing left to pay." in html
    assert [(e.amount_pence, e.method, e.reference) for e in entries()] == [
        (2000, "cash", None),
        (4500, "bank_transfer", "BT-9"),
    ]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "is not an amount we can read"),
        ("-5", "An amount cannot be negative"),
        ("£1e9", "is not an amount we can read"),
        ("65.505", "is not an amount we can read"),
        ("0", "more than £0.00"),
        ("70", "Only £65.00 is still owed"),
        ("", "Enter the amount"),
    ],
)
def test_bad_amounts_get_a_message_and_keep_the_form(receptionist_client, visit, typed, message):
    url = f"/diary/appointments/{visit.id}/payments"
    response = _post_form(
        receptionist_client, url, "payment", amount=typed, method="card", reference="kept"
    )
    assert response.status_code in (409, 422)
    html = response.get_data(as_text=True)
    assert message in html
    assert 'value="kept"' in html
    assert entries() == []


def test_an_unknown_method_is_a_message_not_an_error(receptionist_client, visit):
    url = f"/diary/appointments/{visit.id}/payments"
    response = _post_form(receptionist_client, url, "payment", amount="10", method="cheque")
    assert response.status_code == 422
    assert entries() == []


def test_a_refund_never_more_than_was_paid(receptionist_client, visit):
    ledger.record_payment(visit, 6500, "card", receptionist_client.user)
    url = f"/diary/appointments/{visit.id}/payments"
    too_much = _post_form(receptionist_client, url, "refund", amount="70", method="card")
    assert too_much.status_code == 409
    assert "Only £65.00 has been paid" in too_much.get_data(as_text=True)
    response = _post_form(receptionist_client, url, "refund", amount="15", method="card")
    html = page(receptionist_client, response.headers["Location"])
    assert "£15.00 refunded by card" in html and "£15.00 still to pay." in html
    assert [e.amount_pence for e in entries()] == [6500, -1500]


def test_a_practitioner_takes_payment_for_their_own_visit_but_gives_no_refund(
    practitioner_client, demo, make_appointment
):
    own = make_appointment(
        today_at(9) - timedelta(days=1),
        practitioner=practitioner_client.user.practitioner,
        price_pence=4000,
    )
    fields = one_click(practitioner_client, f"/diary/appointments/{own.id}", own.id)
    practitioner_client.post(fields.pop("action"), data=fields)
    assert [e.amount_pence for e in entries()] == [4000]
    token = csrf_token(page(practitioner_client, f"/diary/appointments/{own.id}/payments"))
    refused = practitioner_client.post(
        f"/diary/appointments/{own.id}/refunds",
        data={"csrf_token": token, "refund-amount": "10", "refund-method": "card"},
    )
    assert refused.status_code == 403


def test_a_practitioner_cannot_take_payment_for_someone_elses_visit(
    practitioner_client, demo, make_appointment
):
    other = next(
        p
        for p in db.session.scalars(sa.select(type(practitioner_client.user.practitioner)))
        if p.id != practitioner_client.user.practitioner_id
    )
    theirs = make_appointment(today_at(9) - timedelta(days=1), practitioner=other, price_pence=10)
    token = csrf_token(page(practitioner_client, "/staff/account"))
    response = practitioner_client.post(
        f"/diary/appointments/{theirs.id}/pay-by-card",
        data={"csrf_token": token, "amount_pence": "10"},
    )
    assert response.status_code == 403
    assert entries() == []


def test_a_course_is_paid_from_its_page_and_activates(receptionist_client, demo, make_course):
    course = make_course(paid=False)
    url = f"/diary/courses/{course.id}/payments"
    amount = f"{course.price_pence / 100:.2f}"
    response = _post_form(receptionist_client, url, "payment", amount=amount, method="card")
    assert response.status_code == 302
    html = page(receptionist_client, response.headers["Location"])
    assert "Nothing left to pay." in html
    db.session.expire_all()
    assert db.session.get(type(course), course.id).status == "active"


def test_staff_waive_a_fee_from_the_payments_page(receptionist_client, visit):
    from booking.clinic.settings import forget_clinic_settings

    db.session.execute(sa.update(ClinicSettings).values(no_show_fee_pence=3000))
    db.session.commit()
    forget_clinic_settings()
    fee = fees.charge_fee(visit, FeeKind.NO_SHOW, staff_user=receptionist_client.user)
    url = f"/diary/appointments/{visit.id}/payments"
    html = page(receptionist_client, url)
    assert "No-show fee" in html and "Waive fee" in html
    response = receptionist_client.post(
        f"/diary/fees/{fee.id}/waive",
        data={"csrf_token": csrf_token(html), "waive-reason": "First time"},
        follow_redirects=True,
    )
    assert "No-show fee of £30.00 waived." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(LedgerEntry, fee.id).waive_reason == "First time"


def test_the_patient_page_shows_the_balance_and_the_history(receptionist_client, visit):
    ledger.record_payment(visit, 2000, "cash", receptionist_client.user, reference="till 2")
    html = page(receptionist_client, f"/diary/patients/{visit.patient_id}")
    payments = html[html.index('id="payments"') :]
    payments = payments[: payments.index("</section>")]
    assert "£45.00 owed" in payments
    assert "Payment by cash, till 2" in payments
    assert "£20.00" in payments and receptionist_client.user.name in payments


def test_date_of_birth_and_address_are_checked_and_kept(receptionist_client, visit):
    url = f"/diary/patients/{visit.patient_id}"
    patient = visit.patient

    def save(**values):
        data = {
            "csrf_token": csrf_token(page(receptionist_client, url)),
            "name": patient.name,
            "email": patient.email or "",
            "phone": patient.phone or "",
            "staff_notes": "",
            "date_of_birth": "",
            "address": "",
            "postcode": "",
            **values,
        }
        return receptionist_client.post(url, data=data)

    for values, message in [
        ({"date_of_birth": "31/02/1980"}, "is not a date we can read"),
        ({"date_of_birth": "abc"}, "is not a date we can read"),
        ({"date_of_birth": "01/01/2999"}, "cannot be in the future"),
        ({"date_of_birth": "01/01/1850"}, "more than 120 years ago"),
        ({"postcode": "12345"}, "is not a UK postcode we recognise"),
        ({"postcode": "QQ1 1AA"}, "is not a UK postcode we recognise"),
        ({"address": "x" * 301}, "300 characters or fewer"),
    ]:
        response = save(**values)
        assert response.status_code == 422, values
        assert message in response.get_data(as_text=True), values
    response = save(date_of_birth="25/03/1980", address="1 High Road\nLondon", postcode="nw62ls")
    assert response.status_code == 302
    db.session.expire_all()
    patient = db.session.get(type(patient), patient.id)
    assert str(patient.date_of_birth) == "1980-03-25"
    assert (patient.address, patient.postcode) == ("1 High Road\nLondon", "NW6 2LS")
    html = page(receptionist_client, url)
    assert "25 March 1980" in html and "NW6 2LS" in html


@pytest.mark.parametrize(
    ("body", "number", "message"),
    [
        ("", "PH123456", "Say which professional body"),
        ("HCPC", "", "Enter the registration number with HCPC"),
        ("HCPC", "PH 12<3>", "A registration number has letters and digits"),
        ("HCPC", "-PH123", "A registration number has letters and digits"),
        ("x" * 121, "PH1", "Up to 120 characters"),
    ],
)
def test_registration_details_are_checked(admin_client, demo, body, number, message):
    from booking.models import Practitioner
    from tests.test_team import get, post_form, practitioner_form

    sam = get(Practitioner, slug="sam-okafor")
    form = practitioner_form(sam, professional_body=body, registration_number=number)
    response = post_form(admin_client, f"/diary/practitioners/{sam.id}", form)
    assert response.status_code in (409, 422)
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Practitioner, sam.id).registration_number == ""


def test_registration_details_are_saved_and_audited(admin_client, demo):
    from booking.models import AuditEvent, Practitioner
    from tests.test_team import get, post_form, practitioner_form

    sam = get(Practitioner, slug="sam-okafor")
    form = practitioner_form(sam, professional_body=" HCPC ", registration_number="ph 123456")
    response = post_form(admin_client, f"/diary/practitioners/{sam.id}", form)
    assert response.status_code == 302
    db.session.expire_all()
    sam = db.session.get(Practitioner, sam.id)
    assert (sam.professional_body, sam.registration_number) == ("HCPC", "PH 123456")
    page = admin_client.get(f"/diary/practitioners/{sam.id}").get_data(as_text=True)
    assert 'value="PH 123456"' in page
    changed = get(AuditEvent, action="practitioner.changed")
    assert changed.details["changes"]["registration_number"] == ["", "PH 123456"]


def test_a_part_payment_from_the_appointment_page_itself(receptionist_client, visit):
    html = page(receptionist_client, f"/diary/appointments/{visit.id}")
    assert 'name="payment-amount"' in html and 'value="65.00"' in html
    response = receptionist_client.post(
        f"/diary/appointments/{visit.id}/payments",
        data={
            "csrf_token": csrf_token(html),
            "payment-amount": "25",
            "payment-method": "cash",
            "payment-reference": "",
        },
        follow_redirects=True,
    )
    assert "£25.00 paid by cash" in response.get_data(as_text=True)
    assert "£40.00 still to pay." in response.get_data(as_text=True)
