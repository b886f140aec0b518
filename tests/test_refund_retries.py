"""A deposit refund Stripe refused (or that could not be asked) is asked again by the
worker with backoff and the same idempotency key, then left for staff after the last try.

Against the local Stripe stand-in (a real HTTP server), which keeps each key's answer
and refuses the calls it is told to, as Stripe refuses them.
"""

from datetime import timedelta

import sqlalchemy as sa

from booking.clinic.appointments import cancel_appointment
from booking.clinic.jobs import run_due_jobs
from booking.clinic.payments.refund_retries import RETRY_AFTER, retry_refused_refunds
from booking.clinic.payments.refunds_to_make import refund_to_make
from booking.clinic.transaction import unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import Appointment, AuditEvent, OnlineCheckout
from tests.fixtures_deposits import DEPOSIT, fresh
from tests.test_deposit_policy import (
    booked_and_paid,
    cancel_online,
    reception_notices,
    refund_calls,
    refunds_in_ledger,
)


def the_checkout() -> OnlineCheckout:
    (checkout,) = fresh(OnlineCheckout)
    return checkout


def actions(name: str) -> list[AuditEvent]:
    return fresh(AuditEvent, AuditEvent.action == name)


def keys(standin) -> list[str]:
    return [call.headers.get("idempotency-key") for call in refund_calls(standin)]


def refused_once(client, slot, standin) -> Appointment:
    appointment = booked_and_paid(client, slot, standin)
    _, send = cancel_online(client, appointment)
    standin.fail_next(402, "Your card's issuer declined the refund.")
    assert send().status_code == 302
    return fresh(Appointment, Appointment.id == appointment.id)[0]


def test_a_refused_refund_is_made_by_the_worker_with_the_same_key(
    client, with_deposit, slot, stripe_standin
):
    before = utcnow()
    appointment = refused_once(client, slot, stripe_standin)
    checkout = the_checkout()
    assert checkout.refund_attempts == 1
    assert before + RETRY_AFTER[0] <= checkout.refund_retry_at <= utcnow() + RETRY_AFTER[0]
    [refused] = actions("deposit.refund_refused")
    assert refused.details["attempt"] == 1 and "declined" in refused.details["reason"]
    due = checkout.refund_retry_at

    # Not before its time.
    assert retry_refused_refunds(due - timedelta(seconds=1)) == 0
    assert len(refund_calls(stripe_standin)) == 1

    # The worker's pass at its time: the job is registered and asks again, once.
    assert "refund-retries" in run_due_jobs(due + timedelta(seconds=1))
    first, second = keys(stripe_standin)
    assert first == second and first.startswith(f"refund-{checkout.uid}-cancelled-")
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    assert refund_to_make(appointment) == 0
    [retried] = actions("deposit.refund_retried")
    assert retried.details["attempt"] == 2 and retried.details["amount_pence"] == DEPOSIT
    assert reception_notices(appointment) == []
    checkout = the_checkout()
    assert checkout.refund_retry_at is None and checkout.cancellation_refund_pence is None

    # Later turns ask nothing more.
    assert retry_refused_refunds(due + timedelta(days=1)) == 0
    assert len(refund_calls(stripe_standin)) == 2


def test_after_the_last_try_the_refund_is_left_for_staff_and_reception_told_once(
    client, with_deposit, slot, stripe_standin, receptionist_client
):
    appointment = refused_once(client, slot, stripe_standin)
    for number in range(2, len(RETRY_AFTER) + 2):
        due = the_checkout().refund_retry_at
        assert due is not None, number
        # Stripe unreachable twice (the adapter asks once more when unsure), or refusing.
        if number % 2:
            stripe_standin.fail_next(402, "Refused again.")
        else:
            stripe_standin.fail_next(503, "Stripe is unwell.")
            stripe_standin.fail_next(503, "Stripe is unwell.")
        assert retry_refused_refunds(due) == 0
        checkout = the_checkout()
        assert checkout.refund_attempts == number
        if number <= len(RETRY_AFTER):
            assert checkout.refund_retry_at == due + RETRY_AFTER[number - 1]
    checkout = the_checkout()
    assert checkout.refund_retry_at is None
    assert len(set(keys(stripe_standin))) == 1  # every ask with the first key
    assert refund_to_make(appointment) == DEPOSIT and refunds_in_ledger(appointment) == []
    attempts = [e.details["attempt"] for e in actions("deposit.refund_refused")]
    assert attempts == list(range(1, len(RETRY_AFTER) + 2))
    [left] = actions("deposit.refund_left_for_staff")
    assert left.details["attempts"] == len(RETRY_AFTER) + 1
    [notice] = reception_notices(appointment)
    assert "Stripe did not make the refund" in notice.text_body and "£20" in notice.text_body
    assert f"we asked {len(RETRY_AFTER) + 1} times" in notice.text_body

    # Nothing more is asked; the diary says it is staff's to make.
    calls = len(refund_calls(stripe_standin))
    assert retry_refused_refunds(utcnow() + timedelta(days=2)) == 0
    assert len(refund_calls(stripe_standin)) == calls
    diary = receptionist_client.get(f"/diary/appointments/{appointment.id}")
    html = " ".join(diary.get_data(as_text=True).split())
    assert "to refund: £20" in html and "make it from the payment page" in html
    assert "asked again by itself" not in html


def test_a_refund_that_was_never_asked_is_asked_by_the_worker(
    client, with_deposit, slot, stripe_standin, make_staff
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    staff = make_staff("receptionist")
    # Cancelled inside a larger unit of work: no call to Stripe is made inside it.
    with unit_of_work():
        cancel_appointment(
            db.session.get(Appointment, appointment.id), reason="Clinic closed", staff_user=staff
        )
    assert refund_calls(stripe_standin) == []
    assert refund_to_make(appointment) == DEPOSIT
    due = the_checkout().refund_retry_at
    assert due is not None and the_checkout().refund_attempts == 0

    assert retry_refused_refunds(due) == 1
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
    assert len(refund_calls(stripe_standin)) == 1
    assert actions("deposit.refund_refused") == []


def test_a_refund_staff_made_meanwhile_is_not_asked_again(
    client, with_deposit, slot, stripe_standin
):
    from booking.clinic.payments import online
    from booking.models import StaffUser

    appointment = refused_once(client, slot, stripe_standin)
    due = the_checkout().refund_retry_at
    staff = db.session.scalar(sa.select(StaffUser).limit(1))
    online.refund_online_payment(the_checkout(), DEPOSIT, staff_user=staff, request_key="desk-1")
    calls = len(refund_calls(stripe_standin))
    assert retry_refused_refunds(due + timedelta(seconds=1)) == 0
    assert len(refund_calls(stripe_standin)) == calls
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
