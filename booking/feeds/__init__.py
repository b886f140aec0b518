"""Feeds blueprint: practitioners' private iCal subscriptions and .ics downloads."""

from flask import Blueprint

blueprint = Blueprint("feeds", __name__)

from booking.feeds import own_calendar, staff, subscription  # noqa: E402,F401
