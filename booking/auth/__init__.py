"""Staff sign-in and roles."""

from flask import Blueprint

from booking.extensions import login_manager

blueprint = Blueprint("auth", __name__, url_prefix="/staff")

login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.session_protection = "strong"


from booking.auth import session_cookie  # noqa: E402

# Who is signed in is decided by the server-side session the cookie's token names, never
# by the user id Flask-Login keeps beside it (nor by a remember-me cookie).
login_manager.user_loader(session_cookie.load_user)

from booking.auth import second_factor_views, views  # noqa: E402,F401
