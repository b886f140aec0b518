"""How staff passwords are hashed: the one place that reads the hashing cost.

Production hashes at full strength (werkzeug's scrypt, N=2**15, r=8, p=1). The test
settings choose a far cheaper cost so that a suite creating hundreds of accounts does not
spend most of its time hashing. The setting is never read from the environment, so no
deployed site can lower it by accident.
"""

from functools import cache

from flask import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash

FULL_STRENGTH = "scrypt:32768:8:1"


def hash_method() -> str:
    """The werkzeug method for new hashes: the app's PASSWORD_HASH_METHOD, else full strength."""
    if has_app_context():
        return current_app.config.get("PASSWORD_HASH_METHOD", FULL_STRENGTH)
    return FULL_STRENGTH


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=hash_method())


def password_matches(password_hash: str, password: str) -> bool:
    """Whether the password matches, at whatever cost the hash was made with."""
    return check_password_hash(password_hash, password)


def check_against_no_account(password: str) -> None:
    """Spend what checking a real password costs, when no account matched.

    So a wrong email costs as long as a wrong password, and the response time does not
    reveal which staff emails exist.
    """
    password_matches(_dummy_hash(hash_method()), password)


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("no account has this password", method=method)
