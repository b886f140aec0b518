"""Clinical content encrypted at rest: a column type that seals text with Fernet.

CLINICAL_RECORD_KEYS is a comma-separated list of Fernet keys. The first key encrypts;
every key decrypts, so a key is rotated by putting a new one first and running
`flask records rotate-key` (or simply re-saving), then removing the old key once
nothing is sealed with it. Without keys (development and tests only) one key is
derived from SECRET_KEY; production refuses to seal or open a record without them. A database dump
alone holds only ciphertext: without the keys the clinical record cannot be read.

A value the configured keys cannot open reads as `UNREADABLE` rather than failing the
query: the booking's own note is sealed on every appointment, so a missing or wrong key
would otherwise stop the whole diary, the booking pages and the worker, not only the
clinical record. Writing `UNREADABLE` back is refused, so the sealed value is never lost
to it; what needs the content itself calls `opened`, which refuses with ClinicalKeyMissing.
"""

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

# What a sealed value reads as when no configured key opens it (never written back).
UNREADABLE = "[Sealed text: the CLINICAL_RECORD_KEYS on this server cannot open it]"


class ClinicalKeyMissing(RuntimeError):
    """No key opens a sealed value: the record cannot be read on this server."""


def opened(value: str) -> str:
    """`value`, refusing (ClinicalKeyMissing) if it is a sealed value no key opened."""
    if value == UNREADABLE:
        raise ClinicalKeyMissing(
            "A clinical record cannot be opened with the configured CLINICAL_RECORD_KEYS."
        )
    return value


def configured_keys() -> list[str]:
    configured = current_app.config.get("CLINICAL_RECORD_KEYS", "")
    return [key.strip() for key in configured.split(",") if key.strip()]


def clinical_box() -> MultiFernet:
    """The keys that seal and open clinical content on this server."""
    keys = configured_keys()
    if not keys:
        if current_app.config.get("CLINICAL_RECORD_KEYS_REQUIRED"):
            raise ClinicalKeyMissing("CLINICAL_RECORD_KEYS is not set on this server.")
        digest = hashlib.sha256(
            f"clinical-record:{current_app.config['SECRET_KEY']}".encode()
        ).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def seal_text(value: str) -> str:
    return clinical_box().encrypt(value.encode()).decode("ascii")


def open_text(token: str) -> str:
    try:
        return clinical_box().decrypt(token.encode("ascii")).decode()
    except InvalidToken as error:
        raise ClinicalKeyMissing(
            "A clinical record cannot be opened with the configured CLINICAL_RECORD_KEYS."
        ) from error


def reseal_text(token: str) -> str:
    """The same text sealed with the first (newest) key: key rotation."""
    return clinical_box().rotate(token.encode("ascii")).decode("ascii")


class EncryptedText(TypeDecorator):
    """Text sealed with the clinic's record keys before it reaches the database.

    Python code reads and writes plain `str`; the column holds a Fernet token. The
    database can therefore not search or sort by its content: keep anything that must
    be queried (dates, flags, versions) in ordinary columns beside it.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        if value == UNREADABLE:
            raise ClinicalKeyMissing(
                "A sealed value this server cannot open would be overwritten: refused."
            )
        return seal_text(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        try:
            return open_text(value)
        except ClinicalKeyMissing:
            # Logged without the value; the page shows UNREADABLE in its place.
            log.error("a sealed value opens with none of the configured CLINICAL_RECORD_KEYS")
            return UNREADABLE
