"""The password rule for staff accounts, in one place: the CLI, the admin pages and
Change password all ask `check_new_password`.

Length does most of the work (NIST SP 800-63B: at least 12 characters here, no rules
about symbols); the rest refuses what guessers try first. The list of common passwords
is the 20,000 that Django ships (django/contrib/auth/common-passwords.txt.gz, BSD
licence, compiled by Royce Williams from breached password lists), kept beside this file.
"""

import gzip
import re
from functools import cache
from pathlib import Path

from booking.clinic.errors import DomainError

MINIMUM_PASSWORD_LENGTH = 12
MAXIMUM_PASSWORD_LENGTH = 200
COMMON_PASSWORDS = Path(__file__).with_name("data") / "common-passwords.txt.gz"


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def _is_repetition(text: str) -> bool:
    # "aaaaaaaaaaaa", "abcabcabcabc", "121212121212": one short piece said over and over.
    return re.fullmatch(r"(.{1,4})\1+", text) is not None


def password_problem(password: str, *, personal: tuple[str, ...] = ()) -> str | None:
    """Why `password` will not do, in words for the person choosing it; None if it will."""
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        return (
            f"The password must be at least {MINIMUM_PASSWORD_LENGTH} characters "
            f"(this one has {len(password)}). A few ordinary words in a row are easy to "
            "remember and hard to guess."
        )
    if len(password) > MAXIMUM_PASSWORD_LENGTH:
        return f"The password can be at most {MAXIMUM_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if _is_repetition(lowered):
        return "That password is one short piece repeated, which is among the first guesses."
    if lowered in common_passwords():
        return (
            "That password is on a list of common passwords that have leaked from other "
            "sites, so it is among the first guesses. Choose another."
        )
    # "password12", "sunshine2026!": a common password with digits or symbols added.
    stem = re.sub(r"[\d\W_]+$", "", lowered)
    if stem != lowered and (stem in common_passwords() or _is_repetition(stem)):
        return (
            "That password is a common password with a few characters added, which "
            "guessers try early. Choose something less predictable."
        )
    for word in personal:
        word = (word or "").strip().lower()
        if len(word) >= 4 and word in lowered:
            return "The password must not contain your name or email address."
    return None


def check_new_password(password: str, *, personal: tuple[str, ...] = ()) -> str:
    """The password if it follows the rule, else a DomainError saying why not."""
    problem = password_problem(password, personal=personal)
    if problem:
        raise DomainError(problem)
    return password
