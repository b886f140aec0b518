"""Every change to a deposit's checkout locks the appointment's row before the checkout's.

A waiver, a cancellation and the refund worker lock the appointment first, then its
checkout. A refund from the diary and the provider's webhook used to lock the checkout
first and then the appointment (the ledger locks it to record the money): on
PostgreSQL, one of those meeting a waiver of the same appointment could each hold the
row the other waits for, a deadlock. The rows each path locks are watched through the
ORM (FOR UPDATE is asked on both backends; only PostgreSQL sends it), so the order is
checked on SQLite too. Stripe is the stand-in.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from booking.clinic.payments import online, online_fees
from booking.clinic.payments.provider import ProviderEvent
from booking.clinic.payments.refund_retries import retry_refused_refunds
from booking.extensions import db
from booking.models import FeeCheckout, OnlineCheckout, StaffUser
from tests.fixtures_deposits import DEPOSIT, fresh
from tests.test_deposit_policy import booked_and_paid, refunds_in_ledger
from tests.test_fees_online import cancelled_late, paid_through_the_link, reception  # noqa: F401
from tests.test_refund_retries import refused_once


@contextmanager
def rows_locked() -> Iterator[list[str]]:
    """The tables of the rows locked (FOR UPDATE) meanwhile, in the order asked."""
    locked: list[str] = []

    def watch(state: ORMExecuteState) -> None:
        statement = state.statement
        if state.is_select and getattr(statement, "_for_update_arg", None) is not None:
            mapper = state.bind_mapper
            locked.append(mapper.local_table.name if mapper is not None else "?")

    event.listen(Session, "do_orm_execute", watch)
    try:
        yield locked
    finally:
        event.remove(Session, "do_orm_execute", watch)


def appointment_first(locked: list[str]) -> bool:
    """Whether each checkout locked (a deposit's or a fee's) had its appointment locked
    before it."""
    return all(
        "appointments" in locked[:at]
        for at, table in enumerate(locked)
        if table in ("online_checkouts", "fee_checkouts")
    )


def test_a_refund_from_the_diary_locks_the_appointment_before_the_checkout(
    client, with_deposit, slot, stripe_standin
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    (checkout,) = fresh(OnlineCheckout)
    staff = db.session.scalar(sa.select(StaffUser).limit(1))

    with rows_locked() as locked:
        online.refund_online_payment(checkout, DEPOSIT, staff_user=staff, request_key="desk-1")

    assert "online_checkouts" in locked, locked
    assert appointment_first(locked), locked
    assert refunds_in_ledger(appointment) == [-DEPOSIT]


def test_a_refund_reported_by_webhook_locks_the_appointment_before_the_checkout(
    client, with_deposit, slot, stripe_standin
):
    appointment = booked_and_paid(client, slot, stripe_standin)
    (checkout,) = fresh(OnlineCheckout)
    # Made in Stripe's dashboard, then reported by charge.refunded.
    stripe_standin._create_refund(
        {"payment_intent": checkout.payment_intent, "amount": str(DEPOSIT)}
    )
    charge = stripe_standin.charge_for(checkout.payment_intent)

    with rows_locked() as locked:
        event = ProviderEvent(id="evt_refunded", type="charge.refunded", created=0, data=charge)
        assert online.handle_event(event) == "processed"

    assert "online_checkouts" in locked, locked
    assert appointment_first(locked), locked
    assert refunds_in_ledger(appointment) == [-DEPOSIT]


def test_a_refund_of_a_fee_paid_online_locks_the_appointment_before_its_checkout(
    client,
    cancelled_late,  # noqa: F811 - the fixture imported above
    reception,  # noqa: F811
    stripe_standin,
):
    fee, _link, _session = paid_through_the_link(client, cancelled_late, reception, stripe_standin)
    checkout = db.session.scalar(sa.select(FeeCheckout))

    with rows_locked() as locked:
        online_fees.refund_fee_payment(checkout, 2000, staff_user=reception, request_key="desk-1")

    assert "fee_checkouts" in locked, locked
    assert appointment_first(locked), locked
    assert fee.id is not None


def test_the_refund_workers_pass_locks_the_appointment_before_the_checkout(
    client, with_deposit, slot, stripe_standin
):
    appointment = refused_once(client, slot, stripe_standin)
    (checkout,) = fresh(OnlineCheckout)

    with rows_locked() as locked:
        assert retry_refused_refunds(checkout.refund_retry_at + timedelta(seconds=1)) == 1

    assert "online_checkouts" in locked, locked
    assert appointment_first(locked), locked
    assert refunds_in_ledger(appointment) == [-DEPOSIT]
