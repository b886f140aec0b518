"""The signed-in staff member, for the diary's views to hand to the domain.

One small module the view modules share, so that none imports another's helpers.
"""

from flask_login import current_user

from booking.models import StaffUser


def signed_in_staff() -> StaffUser:
    """The account behind this request (the real object, not Flask-Login's proxy)."""
    return current_user._get_current_object()
