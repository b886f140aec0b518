"""The link between the browser's cookie and the server-side staff session.

Flask's signed session cookie carries one random token; the staff_sessions row it names
says who is signed in and whether that still holds. Flask-Login's own user id in the
cookie (and any remember-me cookie) is never enough on its own.
"""

from flask import current_app, request, session
from flask_login import login_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from booking.clinic import staff_sessions
from booking.database import utcnow
from booking.models import SessionStage, StaffSession, StaffUser

SESSION_KEY = "staff_session"
DEVICE_COOKIE = "staff_device"
DEVICE_COOKIE_DAYS = 90
_CACHE = "booking.staff_session"


def user_agent() -> str:
    return request.headers.get("User-Agent", "")


def current_staff_session() -> StaffSession | None:
    """The live session of this request, whatever its stage (cached for the request).

    Kept in the request's environ rather than on `g`: in tests one app context spans
    many requests, and one client's session must not answer for the next.
    """
    if _CACHE not in request.environ:
        request.environ[_CACHE] = staff_sessions.find(session.get(SESSION_KEY), now=utcnow())
    return request.environ[_CACHE]


def load_user(user_id: str) -> StaffUser | None:
    staff_session = current_staff_session()
    if staff_session is None or staff_session.stage == SessionStage.SECOND_FACTOR:
        return None
    account = staff_session.staff_user
    if user_id.partition(":")[0] != str(account.id):
        return None
    staff_sessions.touch(staff_session, now=utcnow())
    return account


def begin(account: StaffUser, *, stage: SessionStage, method: str) -> StaffSession:
    """A fresh session for the account: nothing from before survives into it."""
    staff_session, token = staff_sessions.start(
        account, stage=stage, user_agent=user_agent(), method=method, now=utcnow()
    )
    session.clear()
    session[SESSION_KEY] = token
    request.environ[_CACHE] = staff_session
    if stage != SessionStage.SECOND_FACTOR:
        login_user(account)
    return staff_session


def advance(staff_session: StaffSession, *, stage: SessionStage, method: str) -> None:
    """The session moves on under a new token (the old cookie opens nothing more)."""
    token = staff_sessions.advance(staff_session, stage=stage, method=method, now=utcnow())
    session[SESSION_KEY] = token
    request.environ.pop(_CACHE, None)
    login_user(staff_session.staff_user)


def end_this_session(reason: str) -> None:
    staff_session = current_staff_session()
    if staff_session is not None:
        staff_sessions.end(staff_session, reason=reason, by=staff_session.staff_user, now=utcnow())
    request.environ.pop(_CACHE, None)
    session.clear()


# A browser that has signed in to an account before: the per-account throttle lets it by.


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt="staff-known-device")


def known_device_accounts() -> list[int]:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        accounts = _device_serializer().loads(raw, max_age=DEVICE_COOKIE_DAYS * 86400)
    except BadSignature:
        return []
    return [a for a in accounts if isinstance(a, int)] if isinstance(accounts, list) else []


def is_known_device(email_account: StaffUser | None) -> bool:
    return email_account is not None and email_account.id in known_device_accounts()


def remember_device(response, account: StaffUser):
    accounts = [a for a in known_device_accounts() if a != account.id][-4:] + [account.id]
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps(accounts),
        max_age=DEVICE_COOKIE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        path="/staff/",
    )
    return response
