"""Staff sessions kept on the server: begun at sign-in, ended by sign-out, by time, or by
a change to the account.

The browser holds a random token (inside Flask's signed cookie); the table holds only its
SHA-256. A session opens pages while it is live: not ended, used within the clinic's idle
timeout, younger than the clinic's lifetime, and its account still active with the same
password and role it had when the session began. One predicate, `is_live`, says so for the
sign-in check and for the list staff see.
"""

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from booking.clinic import access_log
from booking.clinic.errors import DomainError
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock, unit_of_work
from booking.extensions import db
from booking.models import ClinicSettings, SessionEndReason, SessionStage, StaffSession, StaffUser

# last_seen_at is written at most this often: the idle timeout is counted in minutes.
TOUCH_EVERY = timedelta(seconds=30)
USER_AGENT_LENGTH = 300


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def idle_timeout(settings: ClinicSettings) -> timedelta:
    return timedelta(minutes=settings.staff_idle_timeout_minutes or 30)


def lifetime(settings: ClinicSettings) -> timedelta:
    return timedelta(hours=settings.staff_session_lifetime_hours or 12)


def why_not_live(staff_session: StaffSession, *, now: datetime) -> str | None:
    """Why the session no longer opens anything ("idle", "lifetime", ...), or None if live."""
    if staff_session.ended_at is not None:
        return staff_session.end_reason or "ended"
    settings = clinic_settings()
    account = staff_session.staff_user
    if not account.active:
        return SessionEndReason.ACCOUNT_DEACTIVATED
    if account.session_version != staff_session.account_version:
        return SessionEndReason.PASSWORD_CHANGED
    if account.role != staff_session.role:
        return SessionEndReason.ROLE_CHANGED
    if now - staff_session.last_seen_at >= idle_timeout(settings):
        return SessionEndReason.IDLE
    if now - staff_session.created_at >= lifetime(settings):
        return SessionEndReason.LIFETIME
    return None


def is_live(staff_session: StaffSession, *, now: datetime) -> bool:
    return why_not_live(staff_session, now=now) is None


def start(
    account: StaffUser, *, stage: SessionStage, user_agent: str, method: str, now: datetime
) -> tuple[StaffSession, str]:
    """A new session for the account; returns it and the token for the cookie (only here)."""
    token = secrets.token_urlsafe(32)
    with unit_of_work() as session:
        staff_session = StaffSession(
            staff_user_id=account.id,
            token_hash=token_hash(token),
            stage=stage.value,
            created_at=now,
            last_seen_at=now,
            user_agent=(user_agent or "")[:USER_AGENT_LENGTH],
            account_version=account.session_version,
            role=account.role,
            method=method,
        )
        session.add(staff_session)
        session.flush()
        if stage == SessionStage.SIGNED_IN:
            access_log.record(account, "staff.signed_in", account=account, method=method, now=now)
    return staff_session, token


def find(token: str | None, *, now: datetime) -> StaffSession | None:
    """The live session this token belongs to, or None. An expired one is marked ended."""
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    staff_session = db.session.scalar(
        select(StaffSession).where(StaffSession.token_hash == token_hash(token))
    )
    if staff_session is None:
        return None
    reason = why_not_live(staff_session, now=now)
    if reason is None:
        return staff_session
    if staff_session.ended_at is None:
        end(staff_session, reason=reason, by=None, now=now)
    return None


def touch(staff_session: StaffSession, *, now: datetime) -> None:
    """Note that the session was used now (at most every TOUCH_EVERY)."""
    if now - staff_session.last_seen_at < TOUCH_EVERY:
        return
    with unit_of_work():
        row = lock(StaffSession, staff_session.id)
        if row is not None and row.ended_at is None:
            row.last_seen_at = now


def advance(staff_session: StaffSession, *, stage: SessionStage, method: str, now: datetime) -> str:
    """Move a session on (second factor given, enrolment done) under a fresh token."""
    token = secrets.token_urlsafe(32)
    with unit_of_work():
        row = lock(StaffSession, staff_session.id)
        if row is None or row.ended_at is not None:
            raise DomainError("Your sign-in has expired. Please sign in again.")
        row.token_hash = token_hash(token)
        row.stage = stage.value
        row.method = method
        row.last_seen_at = now
        if stage == SessionStage.SIGNED_IN:
            access_log.record(
                row.staff_user, "staff.signed_in", account=row.staff_user, method=method, now=now
            )
    return token


def end(staff_session: StaffSession, *, reason: str, by: StaffUser | None, now: datetime) -> None:
    """End one session: its cookie, wherever copied, opens nothing from now on."""
    with unit_of_work():
        row = lock(StaffSession, staff_session.id)
        if row is None or row.ended_at is not None:
            return
        row.ended_at = now
        row.end_reason = reason
        access_log.record(
            by,
            "staff.session_ended",
            account=row.staff_user,
            reason=reason,
            session=row.id,
            device=describe_device(row.user_agent),
            now=now,
        )


def end_all(
    account: StaffUser,
    *,
    reason: str,
    by: StaffUser | None,
    now: datetime,
    keep: StaffSession | None = None,
) -> int:
    """End every open session of the account (but `keep`); how many were ended."""
    with unit_of_work() as session:
        rows = list(
            session.scalars(
                select(StaffSession)
                .where(StaffSession.staff_user_id == account.id, StaffSession.ended_at.is_(None))
                .with_for_update()
            )
        )
        ended = 0
        for row in rows:
            if keep is not None and row.id == keep.id:
                continue
            row.ended_at = now
            row.end_reason = reason
            ended += 1
        if ended:
            access_log.record(
                by, "staff.sessions_ended", account=account, reason=reason, count=ended, now=now
            )
    return ended


def live_sessions(account: StaffUser, *, now: datetime) -> list[StaffSession]:
    """The account's sessions that still open pages, most recently used first."""
    rows = db.session.scalars(
        select(StaffSession)
        .where(
            StaffSession.staff_user_id == account.id,
            StaffSession.ended_at.is_(None),
            StaffSession.stage == SessionStage.SIGNED_IN.value,
        )
        .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
    )
    return [row for row in rows if is_live(row, now=now)]


_BROWSERS = [
    ("Edge", r"Edg(?:e|A|iOS)?/"),
    ("Opera", r"OPR/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Safari/"),
]
_SYSTEMS = [
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("Mac", r"Macintosh|Mac OS X"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux|X11"),
]


def describe_device(user_agent: str) -> str:
    """ "Chrome on Windows": enough to recognise one's own devices, no more."""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"
