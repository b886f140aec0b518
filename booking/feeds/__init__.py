"""Feeds blueprint: practitioners' private iCal subscriptions and .ics downloads."""

from flask import Blueprint

blueprint = Blueprint("feeds", __name__)
