"""Secrets the clinic holds for others (a practitioner's calendar address and password),
encrypted at rest with keys from the environment.

CALENDAR_CREDENTIALS_KEYS is a comma-separated list of Fernet keys: the first encrypts,
all of them decrypt, so a key is rotated by putting a new one first and re-saving.
Without it (development and tests only) a key is derived from SECRET_KEY; production
refuses to store a secret rather than fall back.
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from booking.clinic.errors import DomainError


def _box() -> MultiFernet:
    configured = current_app.config.get("CALENDAR_CREDENTIALS_KEYS", "")
    keys = [key.strip() for key in configured.split(",") if key.strip()]
    if not keys:
        if current_app.config.get("CALENDAR_CREDENTIALS_REQUIRED"):
            raise DomainError(
                "Connecting calendars needs CALENDAR_CREDENTIALS_KEYS set on the server."
            )
        digest = hashlib.sha256(
            f"calendar-credentials:{current_app.config['SECRET_KEY']}".encode()
        ).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def seal(values: dict[str, str]) -> str:
    """Encrypt a small dictionary of strings."""
    return _box().encrypt(json.dumps(values).encode()).decode()


def unseal(token: str) -> dict[str, str]:
    """Decrypt what `seal` wrote; a DomainError if no configured key opens it."""
    try:
        values: dict[str, str] = json.loads(_box().decrypt(token.encode()))
        return values
    except InvalidToken as error:
        raise DomainError(
            "The saved calendar details cannot be read with the configured keys: "
            "connect the calendar again."
        ) from error
