"""Staff sign-in and roles."""

from flask import Blueprint

from booking.extensions import db, login_manager
from booking.models import StaffUser

blueprint = Blueprint("auth", __name__, url_prefix="/staff")

login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    # The id carries the account's session version: a password change ends old sessions.
    staff_id, _, version = user_id.partition(":")
    if not staff_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(StaffUser, int(staff_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


from booking.auth import views  # noqa: E402,F401
