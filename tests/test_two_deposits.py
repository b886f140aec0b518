"""An appointment whose deposit was paid twice online (two pages, both paid) refunds each
payment at most what it took when cancelled with notice. Stripe is the stand-in."""

import sqlalchemy as sa

from booking.clinic.appointments import cancel_appointment
from booking.clinic.payments import deposit_policy, online
from booking.clinic.payments.provider import ProviderEvent
from booking.extensions import db
from booking.models import Appointment, CancelledBy, CheckoutStatus, OnlineCheckout, StaffUser
from tests.fixtures_deposits import DEPOSIT, fresh
from tests.test_deposit_policy import booked_and_paid, refund_calls, refunds_in_ledger


def paid_again(appointment: Appointment, standin) -> None:
    """A second deposit page for the same appointment, paid too."""
    second = OnlineCheckout(
        appointment_id=appointment.id, amount_pence=DEPOSIT, status=CheckoutStatus.OPEN.value
    )
    db.session.add(second)
    db.session.commit()
    _status, session = standin._create_session(
        {
            "mode": "payment",
            "success_url": "https://clinic.example/ok",
            "cancel_url": "https://clinic.example/no",
            "line_items[0][price_data][unit_amount]": str(DEPOSIT),
            "line_items[0][price_data][currency]": "gbp",
            "line_items[0][quantity]": "1",
            "metadata[checkout]": second.uid,
        }
    )
    paid = standin.pay(session["id"])
    event = ProviderEvent(
        id="evt_paid_again", type="checkout.session.completed", created=0, data=paid
    )
    assert online.handle_event(event) == "processed"


def test_each_of_two_deposits_paid_is_refunded_at_most_what_it_took(
    client, with_deposit, slot, stripe_standin
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    paid_again(appointment, stripe_standin)
    appointment = fresh(Appointment, Appointment.id == appointment.id)[0]
    assert len(fresh(OnlineCheckout, OnlineCheckout.status == "paid")) == 2
    assert deposit_policy.paid_pence(appointment) == 2 * DEPOSIT  # not counted twice each

    cancel_appointment(
        appointment,
        reason="Cannot come",
        staff_user=db.session.scalar(sa.select(StaffUser).limit(1)),
        requested_by=CancelledBy.PATIENT,
    )
    calls = refund_calls(stripe_standin)
    assert sorted(call.form["amount"] for call in calls) == [str(DEPOSIT)] * 2
    assert sorted(refunds_in_ledger(appointment)) == [-DEPOSIT, -DEPOSIT]
