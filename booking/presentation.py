"""How the clinic's values read to a person: money, durations and local times."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask

from booking.clinic import held_appointments
from booking.clinic.local_wording import (
    format_local_date,
    format_local_datetime,
    format_local_time,
)
from booking.clinic.localtime import to_local, within_reach
from booking.clinic.money import format_money, format_money_exact
from booking.clinic.payments import deposits, fees, ledger
from booking.clinic.payments.fee_labels import FEE_LABELS
from booking.clinic.payments.fees import policy_sentences
from booking.models import AppointmentStatus, HoldReason

# How a start time travels in a URL (booking steps, the diary's empty slots): UTC, minutes.
START_FORMAT = "%Y%m%dT%H%MZ"


def format_start(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime(START_FORMAT)


def parse_start(value: str | None) -> datetime | None:
    """A start time from a URL, or None if it is not one we could have written."""
    try:
        instant = datetime.strptime(value or "", START_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return instant if within_reach(instant) else None


def format_duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} hour" + ("s" if hours > 1 else "")
    return f"{rest} min"


def count_of(number: int, singular: str, plural: str | None = None) -> str:
    """'1 appointment', '3 appointments': never 'appointment(s)'."""
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


# A booking kept by its deposit, before and after it was paid (until the visit is over).
DEPOSIT_KEPT = (AppointmentStatus.HELD, AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


def format_price_note(appointment) -> str:
    """What the patient pays for this appointment, true to its state at this moment."""
    if appointment.course_id is not None:
        return "One session of your course"
    if appointment.status == AppointmentStatus.CANCELLED:
        if held_appointments.was_released(appointment):
            return "Nothing to pay: nothing was booked"
        charged = [fee for fee in fees.fees_on(appointment) if not fee.is_waived]
        if charged:
            return "; ".join(
                f"{FEE_LABELS.get(fee.fee_kind or '', 'Fee')}: {format_money(fee.amount_pence)}"
                for fee in charged
            )
        return "Nothing to pay: this appointment is cancelled"
    if appointment.hold_reason == HoldReason.DEPOSIT and appointment.status in DEPOSIT_KEPT:
        return _deposit_price_note(appointment)
    if appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED):
        return f"{format_money(appointment.price_pence)}, to pay at the clinic on the day"
    return format_money(appointment.price_pence)


def _deposit_price_note(appointment) -> str:
    """The price of a booking kept by a deposit: what was paid online, what is left."""
    paid = ledger.amount_paid(appointment)
    if paid > 0:
        return deposits.price_words(appointment, paid)
    if appointment.status != AppointmentStatus.HELD:
        # Booked by its deposit, which has since been refunded (a cancellation undone).
        return (
            f"{format_money(appointment.price_pence)}, to pay at the clinic on the day "
            "(your deposit was refunded)"
        )
    deposit = deposits.deposit_of(appointment)
    return (
        f"{format_money(appointment.price_pence)}: a {format_money(deposit)} deposit now, "
        "the rest at the clinic on the day"
    )


AVERAGE_MONTH_DAYS = 365.25 / 12


def format_validity(days: int) -> str:
    """How long a course lasts, the same words everywhere: '6 months'.

    The rule counts days; people think in months, so a length close to a whole number of
    months is given in months alone ("183 days" beside it read as a machine's figure,
    issue 17; the course page gives the exact last day), and any other in days.
    """
    months = round(days / AVERAGE_MONTH_DAYS)
    if months >= 1 and abs(months * AVERAGE_MONTH_DAYS - days) <= 3:
        unit = "month" if months == 1 else "months"
        return f"{months} {unit}"
    return f"{days} day" + ("" if days == 1 else "s")


def _zone() -> ZoneInfo:
    from booking.clinic.settings import clinic_settings

    return clinic_settings().zone


def format_local_short(instant: datetime) -> str:
    """e.g. Tue 8 Dec 10:00, short enough for a browser tab"""
    local = to_local(instant, _zone())
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def register_filters(app: Flask) -> None:
    app.add_template_filter(format_money, "money")
    app.add_template_filter(format_money_exact, "money_exact")
    # The no-show and late-cancellation fees in the patient's words ([] when none are set).
    app.add_template_global(policy_sentences, "missed_appointment_fees")
    app.add_template_filter(format_duration, "duration")
    app.add_template_filter(format_validity, "validity")
    app.add_template_filter(format_price_note, "price_note")
    app.add_template_filter(format_local_time, "local_time")
    app.add_template_filter(format_local_date, "local_date")
    app.add_template_filter(format_local_datetime, "local_datetime")
    app.add_template_filter(format_local_short, "local_short")
    # "Held: awaiting deposit until 14:32" for a held appointment, "" otherwise.
    app.add_template_filter(held_appointments.describe, "hold_note")
    app.add_template_test(held_appointments.was_released, "released_hold")

    @app.template_global()
    def online_changes_for(appointment, margin_minutes: int = 0):
        """Whether (and until when) the patient may change it online, a margin from now.

        Emails are written when queued and read later: they ask with a margin, so they
        never offer an online change that will have closed by the time they are read.
        """
        from datetime import timedelta

        from booking.clinic.change_policy import online_changes
        from booking.clinic.settings import clinic_settings
        from booking.database import utcnow

        now = utcnow() + timedelta(minutes=margin_minutes)
        return online_changes(appointment, now=now, settings=clinic_settings())

    @app.template_global()
    def google_calendar_url(appointment) -> str:
        from booking.clinic.calendar import google_calendar_url as build

        return build(appointment)
