"""The money ledger: payments, part-payments, refunds, balances, fees; both backends."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError
from booking.clinic.appointments import cancel_appointment, record_attendance
from booking.clinic.money import format_money, format_money_exact, parse_amount_pence
from booking.clinic.payments import fees, ledger
from booking.extensions import db
from booking.models import (
    AppointmentStatus,
    AuditEvent,
    CancelledBy,
    ClinicSettings,
    CourseStatus,
    FeeKind,
    LedgerEntry,
    PaymentMethod,
)

LONDON = ZoneInfo("Europe/London")
# A fixed past day: payments are recorded after the visit.
VISIT_DAY = date(2026, 3, 10)


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


@pytest.fixture
def visit(demo, make_appointment):
    """A massage in the past, priced £65.00, attended."""
    return make_appointment(
        at_local(VISIT_DAY, 10), price_pence=6500, status=AppointmentStatus.ATTENDED.value
    )


@pytest.fixture
def reception(make_staff):
    return make_staff("receptionist")


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def set_fees(*, no_show: int = 0, late: int = 0) -> None:
    from booking.clinic.settings import clinic_settings, forget_clinic_settings

    clinic_settings()
    db.session.execute(
        sa.update(ClinicSettings).values(
            no_show_fee_pence=no_show, late_cancellation_fee_pence=late
        )
    )
    db.session.commit()
    forget_clinic_settings()


# Money in and out ------------------------------------------------------------------------


def test_a_full_card_payment_leaves_nothing_to_pay(visit, reception):
    assert ledger.amount_due(visit) == 6500
    assert ledger.amount_owed(visit) == 6500
    result = ledger.record_payment(visit, 6500, PaymentMethod.CARD, reception)
    assert result.recorded and result.owed_pence == 0
    assert ledger.amount_paid(visit) == 6500
    assert ledger.amount_owed(visit) == 0
    entry = db.session.get(LedgerEntry, result.entry.id)
    assert (entry.kind, entry.method, entry.amount_pence) == ("payment", "card", 6500)
    assert entry.recorded_by_id == reception.id
    assert entry.recorded_by_name == reception.name
    assert entry.patient_id == visit.patient_id
    assert ledger.describe_payment(result) == (
        f"£65.00 paid by card, recorded by {reception.name}. Nothing left to pay."
    )
    assert "payment.recorded" in audit_actions()


def test_part_payments_add_up_and_cannot_go_past_what_is_owed(visit, reception):
    first = ledger.record_payment(visit, 2000, "cash", reception, reference="till 4")
    assert first.owed_pence == 4500
    assert ledger.describe_payment(first).endswith("£45.00 still to pay.")
    assert first.entry.reference == "till 4"
    with pytest.raises(ledger.NothingOwed, match="Only £45.00 is still owed"):
        ledger.record_payment(visit, 4501, "card", reception)
    second = ledger.record_payment(visit, 4500, PaymentMethod.BANK_TRANSFER, reception)
    assert second.owed_pence == 0
    with pytest.raises(ledger.NothingOwed, match="Nothing is owed"):
        ledger.record_payment(visit, 1, "card", reception)
    assert ledger.amount_paid(visit) == 6500
    assert db.session.scalar(sa.select(sa.func.count(LedgerEntry.id))) == 2


@pytest.mark.parametrize("amount", [0, -500])
def test_a_payment_of_nothing_or_less_is_refused(visit, reception, amount):
    with pytest.raises(DomainError, match="more than £0.00"):
        ledger.record_payment(visit, amount, "card", reception)


def test_an_unknown_method_is_refused_with_a_message(visit, reception):
    with pytest.raises(DomainError, match="Choose how the money was paid"):
        ledger.record_payment(visit, 100, "cheque", reception)


def test_refunds_are_negative_and_never_more_than_was_paid(visit, reception):
    ledger.record_payment(visit, 6500, "card", reception)
    with pytest.raises(DomainError, match="Only £65.00 has been paid"):
        ledger.record_refund(visit, 6501, "card", reception)
    refund = ledger.record_refund(visit, 1500, "card", reception, reference="goodwill")
    assert refund.amount_pence == -1500 and refund.kind == "refund"
    assert ledger.amount_paid(visit) == 5000
    assert ledger.amount_owed(visit) == 1500
    with pytest.raises(DomainError, match="Only £50.00 has been paid"):
        ledger.record_refund(visit, 5001, "cash", reception)
    ledger.record_refund(visit, 5000, "cash", reception)
    assert ledger.amount_paid(visit) == 0
    with pytest.raises(DomainError, match="Only £0.00 has been paid"):
        ledger.record_refund(visit, 1, "cash", reception)
    assert (
        ledger.describe_refund(refund) == f"£15.00 refunded by card, recorded by {reception.name}."
    )
    assert audit_actions().count("payment.refunded") == 2


def test_the_database_refuses_a_positive_refund_or_a_fee_with_a_method(visit):
    for kind, amount, method, fee_kind in (
        ("refund", 500, "card", None),
        ("payment", -500, "card", None),
        ("fee", 500, "card", "no_show"),
        ("payment", 500, None, None),
    ):
        db.session.add(
            LedgerEntry(
                kind=kind,
                patient_id=visit.patient_id,
                appointment_id=visit.id,
                amount_pence=amount,
                method=method,
                fee_kind=fee_kind,
                recorded_by_name="x",
                waive_reason="",
            )
        )
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_an_online_payment_recorded_twice_changes_nothing_the_second_time(visit):
    first = ledger.record_payment(visit, 6500, "online", None, provider_reference="pi_123")
    again = ledger.record_payment(visit, 6500, "online", None, provider_reference="pi_123")
    assert first.recorded and not again.recorded
    assert again.entry.id == first.entry.id
    assert first.entry.recorded_by_name == "Online"
    assert ledger.amount_paid(visit) == 6500
    assert db.session.scalar(sa.select(sa.func.count(LedgerEntry.id))) == 1
    assert audit_actions().count("payment.recorded") == 1
    assert ledger.describe_payment(again).startswith("Already recorded: £65.00 paid by online")


def test_a_provider_reference_is_unique_in_the_database(visit):
    ledger.record_payment(visit, 100, "online", None, provider_reference="pi_dup")
    db.session.add(
        LedgerEntry(
            kind="payment",
            patient_id=visit.patient_id,
            appointment_id=visit.id,
            amount_pence=100,
            method="online",
            provider_reference="pi_dup",
            recorded_by_name="Online",
            waive_reason="",
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_provider_reference_used_for_another_appointment_is_refused(
    visit, make_appointment, reception
):
    other = make_appointment(at_local(VISIT_DAY, 14), price_pence=4000)
    ledger.record_payment(visit, 6500, "online", None, provider_reference="pi_1")
    with pytest.raises(DomainError, match="already recorded against something else"):
        ledger.record_payment(other, 4000, "online", None, provider_reference="pi_1")


def test_an_online_payment_is_kept_even_when_the_desk_was_paid_first(visit, reception):
    ledger.record_payment(visit, 6500, "card", reception)
    result = ledger.record_payment(visit, 6500, "online", None, provider_reference="pi_late")
    assert result.recorded and result.owed_pence == -6500
    assert "in credit" in ledger.describe_payment(result)
    refund = ledger.record_refund(visit, 6500, "online", None, provider_reference="re_1")
    assert ledger.record_refund(visit, 6500, "online", None, provider_reference="re_1") == refund
    assert ledger.amount_owed(visit) == 0


def test_a_cancelled_appointment_owes_nothing(demo, make_appointment):
    cancelled = make_appointment(
        at_local(VISIT_DAY, 11), price_pence=6500, status=AppointmentStatus.CANCELLED.value
    )
    assert ledger.amount_due(cancelled) == 0
    with pytest.raises(ledger.NothingOwed):
        ledger.record_payment(cancelled, 6500, "card", None)


def test_a_course_session_owes_nothing_the_course_pays(demo, make_course, make_appointment):
    course = make_course(paid=False)
    session = make_appointment(
        at_local(VISIT_DAY, 12), patient=course.patient, price_pence=6500, course_id=course.id
    )
    assert ledger.amount_due(session) == 0
    assert ledger.amount_due(course) == course.price_pence > 0


def test_paying_a_course_in_full_activates_it_once(demo, make_course, reception):
    course = make_course(paid=False)
    price = course.price_pence
    part = ledger.record_payment(course, 10000, "card", reception)
    assert part.owed_pence == price - 10000
    assert db.session.get(type(course), course.id).status == CourseStatus.AWAITING_PAYMENT
    ledger.record_payment(course, price - 10000, "card", reception, reference="slip 9")
    course = db.session.get(type(course), course.id)
    assert course.status == CourseStatus.ACTIVE
    assert course.credits_remaining == course.sessions_total
    assert course.payment_reference == "slip 9"


def test_an_online_course_payment_delivered_twice_activates_once(demo, make_course):
    course = make_course(paid=False)
    for _ in range(2):
        ledger.record_payment(course, course.price_pence, "online", None, provider_reference="cs_1")
    course = db.session.get(type(course), course.id)
    assert course.status == CourseStatus.ACTIVE
    assert course.credits_remaining == course.sessions_total
    assert ledger.amount_paid(course) == course.price_pence
    assert audit_actions().count("payment.recorded") == 1


def test_balance_is_due_minus_paid_over_visits_courses_and_fees(
    demo, make_patient, make_appointment, make_course, reception
):
    patient = make_patient()
    one = make_appointment(at_local(VISIT_DAY, 9), patient=patient, price_pence=6500)
    make_appointment(at_local(VISIT_DAY, 15), patient=patient, price_pence=4000)
    make_appointment(
        at_local(VISIT_DAY, 17),
        patient=patient,
        price_pence=9999,
        status=AppointmentStatus.CANCELLED.value,
    )
    course = make_course(paid=False, patient=patient)
    ledger.record_payment(one, 6500, "card", reception)
    ledger.record_payment(course, 5000, "cash", reception)
    set_fees(no_show=2500)
    no_show = make_appointment(
        at_local(VISIT_DAY, 13), patient=patient, price_pence=3000, status="no_show"
    )
    fees.charge_fee(no_show, FeeKind.NO_SHOW, staff_user=reception)
    result = ledger.balance(patient)
    assert result.due_pence == 6500 + 4000 + course.price_pence + 3000 + 2500
    assert result.paid_pence == 11500
    assert result.owed_pence == 4000 + course.price_pence - 5000 + 3000 + 2500
    assert [entry.kind for entry in ledger.history(patient)] == ["fee", "payment", "payment"]


# Fees -------------------------------------------------------------------------------------


def test_fees_are_off_by_default(demo, visit, reception):
    assert fees.policy_sentences() == []
    with pytest.raises(DomainError, match="charges no no-show fee"):
        fees.charge_fee(visit, FeeKind.NO_SHOW, staff_user=reception)


def test_the_policy_reads_plainly_when_fees_are_on(demo):
    set_fees(no_show=3000, late=2000)
    assert fees.policy_sentences() == [
        "If you cancel less than 24 hours before your appointment, we charge a late "
        "cancellation fee of £20.00.",
        "If you miss your appointment without telling us, we charge a no-show fee of £30.00.",
    ]


def test_a_confirmed_no_show_fee_is_owed_and_can_be_waived(demo, make_appointment, reception):
    set_fees(no_show=3000)
    missed = make_appointment(at_local(VISIT_DAY, 10), price_pence=6500)
    record_attendance(missed, AppointmentStatus.NO_SHOW, staff_user=reception, charge_fee=True)
    assert ledger.amount_due(missed) == 6500 + 3000
    (fee,) = fees.fees_on(missed)
    assert (fee.kind, fee.fee_kind, fee.amount_pence) == ("fee", "no_show", 3000)
    with pytest.raises(DomainError, match="already charged"):
        fees.charge_fee(missed, FeeKind.NO_SHOW, staff_user=reception)
    fees.waive_fee(fee, staff_user=reception, reason="Hospital visit")
    fee = db.session.get(LedgerEntry, fee.id)
    assert fee.is_waived and fee.waive_reason == "Hospital visit"
    assert fee.waived_by_id == reception.id
    assert ledger.amount_due(missed) == 6500
    with pytest.raises(DomainError, match="already been waived"):
        fees.waive_fee(fee, staff_user=reception)
    assert {"fee.charged", "fee.waived"} <= set(audit_actions())


def test_a_no_show_without_confirmation_charges_nothing(demo, make_appointment, reception):
    set_fees(no_show=3000)
    missed = make_appointment(at_local(VISIT_DAY, 10), price_pence=6500)
    record_attendance(missed, AppointmentStatus.NO_SHOW, staff_user=reception)
    assert fees.fees_on(missed) == []


def test_undoing_a_no_show_waives_its_fee(demo, make_appointment, reception):
    set_fees(no_show=3000)
    missed = make_appointment(at_local(VISIT_DAY, 10), price_pence=6500)
    record_attendance(missed, AppointmentStatus.NO_SHOW, staff_user=reception, charge_fee=True)
    record_attendance(missed, AppointmentStatus.ATTENDED, staff_user=reception)
    (fee,) = fees.fees_on(missed)
    assert fee.is_waived and fee.waive_reason == "No-show undone"
    assert ledger.amount_due(missed) == 6500


def test_a_late_cancellation_fee_is_charged_only_when_late(demo, make_appointment, reception):
    set_fees(late=2000)
    now = datetime.now(UTC)
    soon = make_appointment(now + timedelta(hours=3), price_pence=6500)
    later = make_appointment(now + timedelta(days=5), price_pence=6500)
    cancel_appointment(
        soon, staff_user=reception, charge_fee=True, now=now, requested_by=CancelledBy.PATIENT
    )
    cancel_appointment(
        later, staff_user=reception, charge_fee=True, now=now, requested_by=CancelledBy.PATIENT
    )
    assert ledger.amount_due(soon) == 2000  # the visit is off, the fee stands
    assert ledger.amount_due(later) == 0
    assert [fee.fee_kind for fee in fees.fees_on(soon)] == ["late_cancellation"]
    assert fees.fees_on(later) == []


def test_no_late_cancellation_fee_for_a_cancellation_the_clinic_asked_for(
    demo, make_appointment, reception
):
    set_fees(late=2000)
    now = datetime.now(UTC)
    soon = make_appointment(now + timedelta(hours=3), price_pence=6500)
    for asked in (CancelledBy.CLINIC, None):
        with pytest.raises(DomainError, match="only for a cancellation the patient asked for"):
            cancel_appointment(
                soon, staff_user=reception, charge_fee=True, now=now, requested_by=asked
            )
    db.session.expire_all()
    assert db.session.get(type(soon), soon.id).status == AppointmentStatus.BOOKED
    assert fees.fees_on(soon) == []
    cancel_appointment(soon, staff_user=reception, now=now, requested_by=CancelledBy.CLINIC)
    assert ledger.amount_due(soon) == 0 and fees.fees_on(soon) == []


# Typing amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "pence"),
    [("65", 6500), ("65.5", 6550), ("£65.50", 6550), ("1,250", 125000), (" £ 0.99 ", 99)],
)
def test_amounts_are_read_as_people_type_them(typed, pence):
    assert parse_amount_pence(typed) == pence


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "is not an amount we can read"),
        ("-5", "cannot be negative"),
        ("£1e9", "is not an amount we can read"),
        ("65.505", "is not an amount we can read"),
        ("", "is not an amount we can read"),
        ("100001", "more than £10,000"),
    ],
)
def test_bad_amounts_get_a_message(typed, message):
    with pytest.raises(DomainError, match=message):
        parse_amount_pence(typed)


def test_money_reads_the_same_everywhere():
    assert format_money(6500) == "£65"
    assert format_money_exact(6500) == "£65.00"
    assert format_money(6550) == "£65.50"
    assert format_money_exact(-550) == "-£5.50"
    assert format_money_exact(125000) == "£1,250.00"


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        ("NW6 2LS", "NW6 2LS"),
        (" m1  1ae ", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("GIR 0AA", "GIR 0AA"),
        ("", ""),
    ],
)
def test_real_uk_postcodes_are_accepted_and_written_the_usual_way(typed, written):
    from booking.clinic.postal import normalise_postcode

    assert normalise_postcode(typed) == written


@pytest.mark.parametrize("typed", ["12345", "SW1A", "QQ1 1AA", "NW6 2LSX", "W1A 0AX!", "abc"])
def test_other_postcodes_are_refused_with_a_message(typed):
    from booking.clinic.postal import normalise_postcode

    with pytest.raises(DomainError, match="not a UK postcode we recognise"):
        normalise_postcode(typed)


def test_a_date_of_birth_is_neither_in_the_future_nor_absurdly_old():
    from booking.clinic.postal import check_date_of_birth

    today = date(2026, 12, 7)
    assert check_date_of_birth(date(1980, 3, 25), today=today) == date(1980, 3, 25)
    assert check_date_of_birth(None, today=today) is None
    with pytest.raises(DomainError, match="future"):
        check_date_of_birth(date(2026, 12, 8), today=today)
    with pytest.raises(DomainError, match="more than 120 years"):
        check_date_of_birth(date(1900, 1, 1), today=today)


# Races --------------------------------------------------------------------------------------


def test_two_desks_taking_the_same_payment_at_once_record_it_once(app, visit, make_staff):
    from tests.at_once import race

    desks = [make_staff("receptionist").id, make_staff("receptionist").id]
    visit_id = visit.id
    db.session.remove()

    def attempt(number: int) -> str:
        from booking.models import Appointment, StaffUser

        appointment = db.session.get(Appointment, visit_id)
        ledger.record_payment(appointment, 6500, "card", db.session.get(StaffUser, desks[number]))
        return "paid"

    outcomes = race(app, 2, attempt)
    assert sorted(outcomes) == [
        "Nothing is owed for this appointment, so no payment was recorded.",
        "paid",
    ]
    assert db.session.scalar(sa.select(sa.func.count(LedgerEntry.id))) == 1


def test_one_online_payment_delivered_twice_at_once_is_recorded_once(app, visit):
    from tests.at_once import race

    visit_id = visit.id
    db.session.remove()

    def attempt(number: int) -> str:
        from booking.models import Appointment

        result = ledger.record_payment(
            db.session.get(Appointment, visit_id),
            6500,
            "online",
            None,
            provider_reference="pi_race",
        )
        return "recorded" if result.recorded else "already"

    outcomes = race(app, 2, attempt)
    assert sorted(outcomes) == ["already", "recorded"]
    assert db.session.scalar(sa.select(sa.func.count(LedgerEntry.id))) == 1
