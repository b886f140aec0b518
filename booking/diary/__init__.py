"""Diary blueprint: the receptionist's and practitioners' screens (sign-in required)."""

from flask import Blueprint

blueprint = Blueprint("diary", __name__, url_prefix="/diary")
