"""Fees for missed appointments, end to end: the setting, what the patient reads before
booking and in the confirmation, and staff confirming, then waiving, a fee."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.clinic.payments import fees, ledger
from booking.clinic.settings import forget_clinic_settings
from booking.extensions import db
from booking.models import Appointment, AuditEvent, ClinicSettings, OutboxMessage
from tests.forms import csrf_token
from tests.test_admin import post_settings
from tests.test_booking import details_url, next_weekday, start_at, submit_details


def set_fees(no_show: int = 0, late: int = 0) -> None:
    db.session.execute(
        sa.update(ClinicSettings).values(
            no_show_fee_pence=no_show, late_cancellation_fee_pence=late
        )
    )
    db.session.commit()
    forget_clinic_settings()


def test_an_administrator_sets_the_fees_in_pounds(admin_client, demo):
    response = post_settings(
        admin_client, no_show_fee_pence="£30", late_cancellation_fee_pence="17.50"
    )
    assert response.status_code == 302
    db.session.expire_all()
    settings = db.session.get(ClinicSettings, 1)
    assert (settings.no_show_fee_pence, settings.late_cancellation_fee_pence) == (3000, 1750)
    page = admin_client.get("/diary/settings").get_data(as_text=True)
    assert 'value="30.00"' in page and 'value="17.50"' in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [("abc", "is not an amount we can read"), ("-5", "cannot be negative"), ("1e9", "read")],
)
def test_a_fee_that_is_not_an_amount_is_refused(admin_client, demo, typed, message):
    response = post_settings(admin_client, no_show_fee_pence=typed)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ClinicSettings, 1).no_show_fee_pence == 0


def test_with_fees_off_the_patient_reads_nothing_about_them(client, demo):
    day = next_weekday(1)
    page = client.get(details_url(start_at(day, 9))).get_data(as_text=True)
    assert "fee-policy" not in page


def test_with_fees_on_the_patient_reads_them_before_booking_and_in_the_confirmation(client, demo):
    set_fees(no_show=3000, late=2000)
    day = next_weekday(2)
    url = details_url(start_at(day, 10))
    page = client.get(url).get_data(as_text=True)
    assert 'id="fee-policy"' in page
    assert "we charge a no-show fee of £30.00" in page
    assert "less than 24 hours before your appointment, we charge a late cancellation fee" in page
    assert submit_details(client, url).status_code == 302
    confirmation = db.session.scalars(
        sa.select(OutboxMessage).filter_by(recipient="priya.shah@example.org")
    ).first()
    assert "we charge a no-show fee of £30.00" in confirmation.text_body
    assert "late cancellation fee of £20.00" in confirmation.html_body


def _appointment_page(client, appointment) -> str:
    return client.get(f"/diary/appointments/{appointment.id}").get_data(as_text=True)


def test_staff_mark_a_no_show_and_confirm_the_fee(receptionist_client, demo, make_appointment):
    set_fees(no_show=3000)
    missed = make_appointment(datetime.now(UTC) - timedelta(days=1), price_pence=6500)
    page = _appointment_page(receptionist_client, missed)
    assert "Mark no-show and charge the £30.00 fee" in page
    response = receptionist_client.post(
        f"/diary/appointments/{missed.id}/attendance",
        data={"csrf_token": csrf_token(page), "attendance-status": "no_show", "charge_fee": "yes"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "A no-show fee of £30.00 was added to the patient&#39;s balance." in html
    assert ledger.amount_due(db.session.get(Appointment, missed.id)) == 9500
    assert "fee.charged" in db.session.scalars(sa.select(AuditEvent.action)).all()


def test_a_no_show_without_the_fee_button_charges_nothing(
    receptionist_client, demo, make_appointment
):
    set_fees(no_show=3000)
    missed = make_appointment(datetime.now(UTC) - timedelta(days=1), price_pence=6500)
    page = _appointment_page(receptionist_client, missed)
    receptionist_client.post(
        f"/diary/appointments/{missed.id}/attendance",
        data={"csrf_token": csrf_token(page), "attendance-status": "no_show"},
    )
    assert fees.fees_on(missed) == []


def test_a_late_cancellation_fee_is_offered_only_when_late(
    receptionist_client, demo, make_appointment
):
    set_fees(late=2000)
    soon = make_appointment(datetime.now(UTC) + timedelta(hours=3), price_pence=6500)
    later = make_appointment(datetime.now(UTC) + timedelta(days=6), price_pence=6500)
    assert "Charge the late cancellation fee of £20.00" not in _appointment_page(
        receptionist_client, later
    )
    page = _appointment_page(receptionist_client, soon)
    assert "Charge the late cancellation fee of £20.00" in page
    response = receptionist_client.post(
        f"/diary/appointments/{soon.id}/cancel",
        data={
            "csrf_token": csrf_token(page),
            "cancel-reason": "Called an hour ago",
            "cancel-requested_by": "patient",
            "cancel-sequence": "0",
            "cancel-charge_fee": "y",
        },
        follow_redirects=True,
    )
    assert "late cancellation fee of £20.00 was added" in response.get_data(as_text=True)
    soon = db.session.get(Appointment, soon.id)
    assert soon.status == "cancelled"
    assert ledger.amount_due(soon) == 2000
    assert ledger.balance(soon.patient).owed_pence == 2000
    # The patient's cancellation email tells the truth about the fee, never "Nothing to pay".
    (email,) = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.appointment_id == soon.id, OutboxMessage.kind == "cancelled"
        )
    ).all()
    assert "Late cancellation fee: £20" in email.text_body
    assert "Nothing to pay" not in email.text_body


def test_the_fee_is_refused_for_a_cancellation_the_clinic_asked_for(
    receptionist_client, demo, make_appointment
):
    set_fees(late=2000)
    soon = make_appointment(datetime.now(UTC) + timedelta(hours=3), price_pence=6500)
    page = _appointment_page(receptionist_client, soon)
    response = receptionist_client.post(
        f"/diary/appointments/{soon.id}/cancel",
        data={
            "csrf_token": csrf_token(page),
            "cancel-reason": "Colette is off sick",
            "cancel-sequence": "0",
            "cancel-requested_by": "clinic",
            "cancel-charge_fee": "y",
        },
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "The late cancellation fee is only for a cancellation the patient asked for." in html
    assert 'value="Colette is off sick"' in html  # the form as filled, to correct
    assert 'checked id="cancel-requested_by-1"' in html  # "The clinic" still chosen
    db.session.expire_all()
    assert db.session.get(Appointment, soon.id).status == "booked"
    assert fees.fees_on(soon) == []  # the price is still due, and no fee on top
