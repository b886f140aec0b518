"""Public blueprint: information pages, booking, manage-my-booking, testimonials."""

from flask import Blueprint

blueprint = Blueprint("public", __name__)

from booking.public import (  # noqa: E402,F401
    booking,
    confirm_email,
    courses,
    deposits,
    fees,
    manage,
    my_bookings,
    outcomes,
    pages,
    payments,
    records,
    replies,
    tablet,
    waiting_list,
)
