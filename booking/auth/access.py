"""Who may see what: every staff view declares the roles it allows.

Anonymous visitors are sent to sign in (Flask-Login's unauthorized handler); a signed-in
member of staff without the role gets 403; one whose clinic requires a second factor they
have not enrolled yet is taken to enrolment, and can open nothing else.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort, redirect, url_for
from flask_login import current_user

from booking.auth.session_cookie import current_staff_session
from booking.extensions import login_manager
from booking.models import Practitioner, Role, SessionStage

ALL_STAFF = (Role.ADMIN, Role.RECEPTIONIST, Role.PRACTITIONER)
FRONT_DESK = (Role.ADMIN, Role.RECEPTIONIST)


def staff_required(*roles: Role, while_enrolling: bool = False) -> Callable:
    """Allow signed-in staff with one of `roles` (all staff roles when none are given).

    `while_enrolling`: the view is part of enrolling a second factor, so an account that
    must enrol before anything else may open it.
    """
    allowed = {Role(role).value for role in (roles or ALL_STAFF)}

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            staff_session = current_staff_session()
            if staff_session is None:
                return login_manager.unauthorized()
            if staff_session.stage == SessionStage.ENROL and not while_enrolling:
                return redirect(url_for("auth.enrol"))
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        # Read by the tests that check every staff page is guarded; a function attribute,
        # which the type of a functools.wraps result does not declare.
        guarded.allowed_roles = frozenset(allowed)  # type: ignore[attr-defined]
        return guarded

    return decorate


def may_see_practitioner(practitioner: Practitioner) -> bool:
    """Front desk sees every diary; a practitioner sees only their own."""
    if current_user.role in {Role.ADMIN.value, Role.RECEPTIONIST.value}:
        return True
    return current_user.practitioner_id == practitioner.id


def require_practitioner_access(practitioner: Practitioner) -> None:
    if not may_see_practitioner(practitioner):
        abort(403)
