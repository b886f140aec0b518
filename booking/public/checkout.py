"""Sending a patient to the provider's hosted page: shared by the course and booking pages."""

from collections.abc import Callable

from flask import flash, redirect, url_for

from booking.clinic import DomainError
from booking.clinic.payments import online
from booking.clinic.tokens import course_token, manage_token
from booking.models import Appointment, Course

Target = Appointment | Course

# Stripe's documented placeholder: it puts the session's id here on the way back.
SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def pay_for_course(course: Course):
    """Send the patient to the hosted page for `course`; back to its page if that fails."""
    return _to_hosted_page(
        online.start_course_checkout,
        course,
        course_token(course),
        paid=".course_paid",
        cancelled=".course_payment_cancelled",
        back=".course",
    )


def pay_deposit(appointment: Appointment):
    """Send the patient to the hosted page for their held appointment's deposit.

    If the page cannot be started (the provider unreachable, say), they land on the
    deposit page, which says so, how long the time is still held, and offers another go.
    """
    return _to_hosted_page(
        online.start_deposit_checkout,
        appointment,
        manage_token(appointment),
        paid=".deposit_paid",
        cancelled=".deposit_cancelled",
        back=".deposit",
    )


def _to_hosted_page(
    start: Callable[..., str], target: Target, token: str, *, paid: str, cancelled: str, back: str
):
    """Start the provider's page for `target` with our way back (the `paid` and
    `cancelled` pages of its signed `token`) and send the patient there; if it cannot be
    started, say why on the `back` page."""
    success = url_for(paid, token=token, _external=True)
    try:
        address = start(
            target,
            success_url=f"{success}?session_id={SESSION_PLACEHOLDER}",
            cancel_url=url_for(cancelled, token=token, _external=True),
        )
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(back, token=token))
    # 303: the browser follows with a GET to the hosted page.
    return redirect(address, code=303)
