"""Sending a patient to the provider's hosted page: shared by the course and booking pages."""

from flask import flash, redirect, url_for

from booking.clinic import DomainError
from booking.clinic.payments import online
from booking.clinic.tokens import course_token, manage_token
from booking.models import Appointment, Course

# Stripe's documented placeholder: it puts the session's id here on the way back.
SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def pay_for_course(course: Course):
    """Send the patient to the hosted page for `course`; back to its page if that fails."""
    token = course_token(course)
    success = url_for(".course_paid", token=token, _external=True)
    try:
        address = online.start_course_checkout(
            course,
            success_url=f"{success}?session_id={SESSION_PLACEHOLDER}",
            cancel_url=url_for(".course_payment_cancelled", token=token, _external=True),
        )
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(".course", token=token))
    # 303: the browser follows with a GET to the hosted page.
    return redirect(address, code=303)


def pay_deposit(appointment: Appointment):
    """Send the patient to the hosted page for their held appointment's deposit.

    If the page cannot be started (the provider unreachable, say), they land on the
    deposit page, which says so, how long the time is still held, and offers another go.
    """
    token = manage_token(appointment)
    success = url_for(".deposit_paid", token=token, _external=True)
    try:
        address = online.start_deposit_checkout(
            appointment,
            success_url=f"{success}?session_id={SESSION_PLACEHOLDER}",
            cancel_url=url_for(".deposit_cancelled", token=token, _external=True),
        )
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(".deposit", token=token))
    return redirect(address, code=303)
