"""Second factors for staff: an authenticator app (TOTP), passkeys, one-use recovery codes,
and the clinic's rule on who must use one.

The TOTP secret is stored encrypted (Fernet, key TOTP_ENCRYPTION_KEY from the
environment, else derived from SECRET_KEY) and shown only while it is being set up.
Recovery codes are shown once and stored as SHA-256 hashes: 80 random bits each, so a
copy of the table does not give them away.
"""

import base64
import hashlib
import secrets
from datetime import datetime

import pyotp
from cryptography.fernet import Fernet
from flask import current_app
from sqlalchemy import delete, func, select

from booking.clinic import access_log, audit, staff_sessions
from booking.clinic.errors import DomainError
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock, unit_of_work
from booking.extensions import db
from booking.models import (
    ClinicSettings,
    Passkey,
    RecoveryCode,
    Role,
    SessionEndReason,
    SessionStage,
    StaffUser,
    TotpFactor,
)

RECOVERY_CODE_COUNT = 10
TOTP_STEP_SECONDS = 30
ISSUER = "Clinic staff sign-in"


# The clinic's rule ---------------------------------------------------------------------------


def required_roles(settings: ClinicSettings) -> set[str]:
    return {role for role in (settings.second_factor_roles or "").split(",") if role}


def must_use_second_factor(account: StaffUser) -> bool:
    return account.role in required_roles(clinic_settings())


def has_second_factor(account: StaffUser) -> bool:
    totp = db.session.scalar(
        select(func.count())
        .select_from(TotpFactor)
        .where(TotpFactor.staff_user_id == account.id, TotpFactor.confirmed_at.is_not(None))
    )
    passkeys = db.session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.staff_user_id == account.id)
    )
    return bool(totp or passkeys)


def stage_after_password(account: StaffUser) -> SessionStage:
    """Where a right password leads: a second factor if the account has one, enrolment if
    the clinic requires one it lacks, otherwise straight in."""
    if has_second_factor(account):
        return SessionStage.SECOND_FACTOR
    if must_use_second_factor(account):
        return SessionStage.ENROL
    return SessionStage.SIGNED_IN


def save_sign_in_policy(
    *,
    roles: list[str],
    idle_minutes: int,
    lifetime_hours: int,
    passkey_only: bool,
    staff_user: StaffUser,
) -> None:
    """Store the sign-in settings (audited): who needs a second factor, session times."""
    roles = sorted({Role(role).value for role in roles})
    if not 5 <= idle_minutes <= 720:
        raise DomainError("The idle timeout must be between 5 and 720 minutes.")
    if not 1 <= lifetime_hours <= 168:
        raise DomainError("The longest session must be between 1 and 168 hours.")
    if idle_minutes > lifetime_hours * 60:
        raise DomainError("The idle timeout cannot be longer than the longest session.")
    clinic_settings()
    with unit_of_work():
        from booking.models import ClinicSettings as Row

        settings = lock(Row, 1)
        assert settings is not None
        before = {
            "second_factor_roles": settings.second_factor_roles,
            "staff_idle_timeout_minutes": settings.staff_idle_timeout_minutes,
            "staff_session_lifetime_hours": settings.staff_session_lifetime_hours,
            "passkey_only_sign_in": settings.passkey_only_sign_in,
        }
        after = {
            "second_factor_roles": ",".join(roles),
            "staff_idle_timeout_minutes": idle_minutes,
            "staff_session_lifetime_hours": lifetime_hours,
            "passkey_only_sign_in": bool(passkey_only),
        }
        changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
        for key, value in after.items():
            setattr(settings, key, value)
        if changes:
            audit.record(staff_user, "clinic.sign_in_policy_changed", settings, changes=changes)


# TOTP -----------------------------------------------------------------------------------------


def _fernet() -> Fernet:
    key = current_app.config.get("TOTP_ENCRYPTION_KEY")
    if not key:
        secret_key = str(current_app.config["SECRET_KEY"])
        digest = hashlib.sha256(("totp:" + secret_key).encode("utf-8")).digest()
        key = base64.urlsafe_b64encode(digest)
    return Fernet(key)


def _secret_of(factor: TotpFactor) -> str:
    return _fernet().decrypt(factor.secret_encrypted.encode("ascii")).decode("ascii")


def totp_factor(account: StaffUser) -> TotpFactor | None:
    return db.session.scalar(select(TotpFactor).where(TotpFactor.staff_user_id == account.id))


def begin_totp(account: StaffUser, *, now: datetime) -> str:
    """A new secret to set up (replacing one not yet confirmed); returned only here."""
    factor = totp_factor(account)
    if factor is not None and factor.confirmed_at is not None:
        raise DomainError(
            "You already have an authenticator app set up. Remove it first to set up another."
        )
    secret = pyotp.random_base32()
    with unit_of_work() as session:
        if factor is not None:
            session.delete(lock(TotpFactor, factor.id))
            session.flush()
        session.add(
            TotpFactor(
                staff_user_id=account.id,
                secret_encrypted=_fernet().encrypt(secret.encode("ascii")).decode("ascii"),
                created_at=now,
            )
        )
    return secret


def pending_totp_secret(account: StaffUser) -> str | None:
    """The secret being set up (not confirmed yet), to show again; None once confirmed."""
    factor = totp_factor(account)
    if factor is None or factor.confirmed_at is not None:
        return None
    return _secret_of(factor)


def provisioning_uri(account: StaffUser, secret: str) -> str:
    name = clinic_settings().name
    return pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=name or ISSUER)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // TOTP_STEP_SECONDS
    # One step either side: the phone's clock may be half a minute out.
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * TOTP_STEP_SECONDS), code):
            return candidate
    return None


def confirm_totp(account: StaffUser, code: str, *, now: datetime) -> list[str]:
    """Finish setting up the app with a code from it; new recovery codes if there were none."""
    factor = totp_factor(account)
    if factor is None or factor.confirmed_at is not None:
        raise DomainError("Start setting up the authenticator app again.")
    step = _matching_step(_secret_of(factor), code, now)
    if step is None:
        access_log.record(account, "staff.second_factor_failed", account=account, method="totp")
        raise DomainError(
            "That code does not match. Check the phone's clock is right and type the "
            "6 digits the app shows now."
        )
    with unit_of_work():
        row = lock(TotpFactor, factor.id)
        assert row is not None
        row.confirmed_at = now
        row.last_used_step = step
        access_log.record(
            account, "staff.second_factor_enrolled", account=account, method="totp", now=now
        )
        codes = _recovery_codes_if_none(account, now=now)
    return codes


def verify_totp(account: StaffUser, code: str, *, now: datetime) -> bool:
    """Whether the code is the app's current one, not used before (logged either way)."""
    factor = totp_factor(account)
    if factor is None or factor.confirmed_at is None:
        return False
    step = _matching_step(_secret_of(factor), code, now)
    with unit_of_work():
        row = lock(TotpFactor, factor.id)
        assert row is not None
        if step is None or (row.last_used_step is not None and step <= row.last_used_step):
            access_log.record(
                account, "staff.second_factor_failed", account=account, method="totp", now=now
            )
            return False
        row.last_used_step = step
        access_log.record(
            account, "staff.second_factor_used", account=account, method="totp", now=now
        )
    return True


def remove_totp(account: StaffUser, *, by: StaffUser, now: datetime) -> None:
    """Remove the authenticator app, unless the clinic requires a factor and it is the last."""
    passkeys = db.session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.staff_user_id == account.id)
    )
    if must_use_second_factor(account) and not passkeys:
        raise DomainError(
            "The clinic requires a second factor for your account, so set up another one "
            "(a passkey) before removing the authenticator app."
        )
    with unit_of_work() as session:
        session.execute(delete(TotpFactor).where(TotpFactor.staff_user_id == account.id))
        access_log.record(by, "staff.second_factor_removed", account=account, method="totp")


# Recovery codes ---------------------------------------------------------------------------------


def _normal_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _code_hash(code: str) -> str:
    return hashlib.sha256(_normal_code(code).encode("ascii")).hexdigest()


def _new_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()  # 16 characters
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def unused_recovery_codes(account: StaffUser) -> int:
    count = db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.staff_user_id == account.id, RecoveryCode.used_at.is_(None))
    )
    return count or 0


def _recovery_codes_if_none(account: StaffUser, *, now: datetime) -> list[str]:
    if unused_recovery_codes(account):
        return []
    return new_recovery_codes(account, now=now)


def new_recovery_codes(account: StaffUser, *, now: datetime) -> list[str]:
    """A fresh set of codes (the old ones stop working); shown to the person only now."""
    codes = [_new_code() for _ in range(RECOVERY_CODE_COUNT)]
    with unit_of_work() as session:
        session.execute(delete(RecoveryCode).where(RecoveryCode.staff_user_id == account.id))
        for code in codes:
            session.add(RecoveryCode(staff_user_id=account.id, code_hash=_code_hash(code)))
        access_log.record(account, "staff.recovery_codes_issued", account=account, now=now)
    return codes


def use_recovery_code(account: StaffUser, code: str, *, now: datetime) -> bool:
    """Spend one recovery code; False (logged) if it is not one of the account's unused ones."""
    with unit_of_work() as session:
        row = session.scalar(
            select(RecoveryCode)
            .where(
                RecoveryCode.staff_user_id == account.id,
                RecoveryCode.code_hash == _code_hash(code),
                RecoveryCode.used_at.is_(None),
            )
            .with_for_update()
        )
        if row is None:
            access_log.record(
                account, "staff.second_factor_failed", account=account, method="recovery_code"
            )
            return False
        row.used_at = now
        access_log.record(
            account,
            "staff.recovery_code_used",
            account=account,
            left=unused_recovery_codes(account),
            now=now,
        )
    return True


def reset_second_factors(account: StaffUser, *, by: StaffUser, now: datetime) -> None:
    """An administrator clears a lost phone: every factor and code goes, sessions end.

    The person signs in with their password and, where the clinic requires it, sets up
    a second factor again at once.
    """
    if by.id == account.id:
        raise DomainError("Ask another administrator to reset your own second factor.")
    with unit_of_work() as session:
        for model in (TotpFactor, Passkey, RecoveryCode):
            session.execute(delete(model).where(model.staff_user_id == account.id))
        audit.record(by, "staff.second_factor_reset", account, email=account.email)
        staff_sessions.end_all(account, reason=SessionEndReason.SECOND_FACTOR_RESET, by=by, now=now)
