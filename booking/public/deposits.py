"""The deposit pages of online booking: pay it, come back from the hosted page, or try again.

A booking that needs a deposit is held (booking.clinic.payments.deposits) while the
patient pays on the provider's page. These pages only read how it stands and say so:
booked only once the webhook has recorded the payment. None exist without online
payment configured (404).
"""

from flask import abort, redirect, render_template, request, url_for

from booking.clinic.payments import deposits, online
from booking.clinic.payments.configured import online_provider
from booking.database import utcnow
from booking.extensions import limiter
from booking.models import AppointmentStatus, HoldReason
from booking.public import blueprint
from booking.public.checkout import pay_deposit
from booking.public.forms import ConfirmForm
from booking.public.links import appointment_from_token_or_404


def _deposit_appointment_or_404(token: str):
    appointment = appointment_from_token_or_404(token)
    if online_provider() is None or appointment.hold_reason != HoldReason.DEPOSIT:
        abort(404)
    return appointment


def _page(appointment, token: str, *, came_back: bool = False, status: int = 200):
    now = utcnow()
    still_held = (
        appointment.is_held and appointment.held_until is not None and appointment.held_until > now
    )
    return render_template(
        "public/deposit.html",
        appointment=appointment,
        token=token,
        form=ConfirmForm(),
        deposit=deposits.deposit_of(appointment),
        still_held=still_held,
        came_back=came_back,
    ), status


@blueprint.get("/book/deposit/<token>")
def deposit(token: str):
    """How the held booking stands: pay the deposit, or it is booked, or the time was let go."""
    appointment = _deposit_appointment_or_404(token)
    if appointment.status not in (AppointmentStatus.HELD, AppointmentStatus.CANCELLED):
        return redirect(url_for(".booking_confirmed", token=token))
    return _page(appointment, token)


@blueprint.post("/book/deposit/<token>/pay")
@limiter.limit("20 per hour")
def deposit_pay(token: str):
    appointment = _deposit_appointment_or_404(token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return pay_deposit(appointment)


@blueprint.get("/book/deposit/<token>/cancelled")
def deposit_cancelled(token: str):
    """Back from the hosted page without paying: the time stays held until it runs out."""
    appointment = _deposit_appointment_or_404(token)
    return _page(appointment, token, came_back=True)


@blueprint.get("/book/deposit/<token>/paid")
def deposit_paid(token: str):
    """Back from the hosted page having paid: booked only once the webhook has said so."""
    appointment = _deposit_appointment_or_404(token)
    state = online.checkout_state(appointment, request.args.get("session_id"))
    booked = appointment.status not in (AppointmentStatus.HELD, AppointmentStatus.CANCELLED)
    return render_template(
        "public/deposit_paid.html",
        appointment=appointment,
        token=token,
        confirmed=state is not None and state.confirmed and booked,
        refund_due=state is not None and state.refund_due,
        known=state is not None,
    )
