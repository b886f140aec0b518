"""A patient's date of birth and postal address, as receipts for insurers print them.

Both optional; each checked on its own, with a message that says what to fix.
"""

import re
from datetime import date

from booking.clinic.errors import DomainError

OLDEST_AGE_YEARS = 120
ADDRESS_MAX = 300

# The UK's postcode formats (A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA, and
# GIR 0AA), with the letters each position may hold; the space before the last three
# characters is optional when typed and always there when stored.
_POSTCODE = re.compile(
    r"(?:GIR0AA|"
    r"(?:[A-PR-UWYZ][0-9][0-9]?"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r"[0-9][ABD-HJLNP-UW-Z]{2})"
)


def normalise_postcode(text: str | None) -> str:
    """A UK postcode as typed ("sw1a1aa", " SW1A  1AA ") in its written form ("SW1A 1AA").

    "" for nothing typed; DomainError for anything that is not a UK postcode.
    """
    typed = (text or "").strip()
    if not typed:
        return ""
    compact = "".join(typed.split()).upper()
    if not _POSTCODE.fullmatch(compact):
        raise DomainError(
            f"“{typed[:20]}” is not a UK postcode we recognise. "
            "Write it like SW1A 1AA or NW6 2LS, or leave it empty."
        )
    return f"{compact[:-3]} {compact[-3:]}"


def clean_address(text: str | None) -> str:
    """The address lines, each trimmed, empty lines dropped; at most 300 characters."""
    lines = [" ".join(line.split()) for line in (text or "").splitlines()]
    address = "\n".join(line for line in lines if line)
    if len(address) > ADDRESS_MAX:
        raise DomainError(f"Please keep the address to {ADDRESS_MAX} characters or fewer.")
    return address


def check_date_of_birth(born: date | None, *, today: date) -> date | None:
    """The date of birth if it can be one: not in the future, not over 120 years ago."""
    if born is None:
        return None
    if born > today:
        raise DomainError("A date of birth cannot be in the future. Please check the year.")
    if today.year - born.year > OLDEST_AGE_YEARS:
        raise DomainError(
            f"That date of birth is more than {OLDEST_AGE_YEARS} years ago. Please check the year."
        )
    return born
