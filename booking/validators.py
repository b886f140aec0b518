"""Limits on what people may type or put in an address, shared by every blueprint.

Anything outside them gets a message or a 404, never a server error: a date past
9999 fails Python's date arithmetic, and a number past 2**63 fails the database's.
"""

from urllib.parse import urlsplit

from werkzeug.routing import IntegerConverter
from wtforms.validators import ValidationError

from booking.clinic.localtime import OUT_OF_REACH, within_reach

# Ids and counts fit a 32-bit signed integer on every backend.
LARGEST_NUMBER = 2**31 - 1


class DayInReach:
    """A WTForms validator: the date is between EARLIEST_DAY and LATEST_DAY."""

    def __call__(self, form, field) -> None:
        if field.data is not None and not within_reach(field.data):
            raise ValidationError(OUT_OF_REACH)


class BoundedInteger(IntegerConverter):
    """Flask's <int:...> with an upper bound, so /courses/99999999999999999999 is a 404."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's own name
        kwargs.setdefault("max", LARGEST_NUMBER)
        super().__init__(map, *args, **kwargs)


def whole_number(value: str | None) -> int | None:
    """A non-negative whole number as typed in ASCII digits, within LARGEST_NUMBER; else None.

    str.isdigit() is true for "²" and other digits int() will not read.
    """
    text = (value or "").strip()
    if not text or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number <= LARGEST_NUMBER else None


def site_path(value: str | None, *, under: str = "/") -> str | None:
    """`value` if it is a path on this site starting with `under`; otherwise None.

    For "come back here" links (?next=, back=): never another host, so the link cannot
    send someone to a look-alike site, and never a control character (a newline in a
    Location header is refused, and would split the response if it were not).
    """
    if not value or not value.startswith(under) or value.startswith("//") or "\\" in value:
        return None
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # "/[" reads as a broken IPv6 address
        return None
    if parts.scheme or parts.netloc or "//" in parts.path:
        return None
    return value
