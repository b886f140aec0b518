"""Limits on what people may type or put in an address, shared by every blueprint.

Anything outside them gets a message or a 404, never a server error: a date past
9999 fails Python's date arithmetic, and a number past 2**63 fails the database's.
"""

import unicodedata
from urllib.parse import urlsplit

from flask import request
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter
from wtforms import Field, TextAreaField
from wtforms.validators import ValidationError

from booking.clinic.email_addresses import EMAIL_LIKE, deliverable_email
from booking.clinic.errors import DomainError
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


# What people type ----------------------------------------------------------------------
#
# PostgreSQL refuses a NUL byte in text (a server error) and SQLite stores it silently; the
# other C0 and C1 control characters are never part of a name, an address or a note, and
# some (a carriage return in a subject line, an escape in a terminal) do harm further on.
# So every form refuses them on the field they were typed in, and anything that reaches
# the site outside a form (query arguments, parts of the address) gets a styled 400.

MULTI_LINE_ALLOWED = frozenset("\n\r\t")
CONTROL_CHARACTER = (
    "This contains a hidden control character that we cannot store. "
    "Please delete it and type the text again."
)


def control_characters(text: str, *, multi_line: bool = False) -> bool:
    """True when `text` holds a C0 or C1 control character (or DEL).

    Multi-line text may keep newlines and tabs; single-line text keeps none.
    """
    allowed = MULTI_LINE_ALLOWED if multi_line else frozenset()
    return any(
        unicodedata.category(character) == "Cc" and character not in allowed for character in text
    )


def without_control_characters(text: str, *, multi_line: bool = False) -> str:
    allowed = MULTI_LINE_ALLOWED if multi_line else frozenset()
    return "".join(
        character
        for character in text
        if unicodedata.category(character) != "Cc" or character in allowed
    )


class Form(FlaskForm):
    """The base of every form on the site: no control characters in anything typed.

    The check runs on what the browser sent (`raw_data`), so it covers every kind of
    field, numbers and choices included. A field that fails shows the message and keeps
    what was typed, less the control characters (a NUL cannot be shown in a page).
    """

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if _refuse_control_characters(field):
                valid = False
        return valid


def typed_cleanly(field: Field) -> bool:
    """For a field read before (or without) validating the form, such as a search box:
    False, with the message on the field, when it holds a control character."""
    return not _refuse_control_characters(field)


def _refuse_control_characters(field: Field) -> bool:
    multi_line = isinstance(field, TextAreaField)
    # What the browser sent, kept aside the first time: raw_data is cleaned for showing
    # the page again, and a second check (search first, then validate) must still see it.
    if not hasattr(field, "_as_typed"):
        field._as_typed = [value for value in field.raw_data or () if isinstance(value, str)]
    typed = field._as_typed
    if not any(control_characters(value, multi_line=multi_line) for value in typed):
        return False
    field.raw_data = [without_control_characters(value, multi_line=multi_line) for value in typed]
    if isinstance(field.data, str):
        field.data = without_control_characters(field.data, multi_line=multi_line)
    field.errors = [*field.errors, CONTROL_CHARACTER]
    return True


class ControlCharacterInAddress(BadRequest):
    description = (
        "The address contains a hidden control character. Please check the link, "
        "or start again from the home page."
    )


def refuse_control_characters_in_address() -> None:
    """A before_request check: query arguments and the address's own parts."""
    values = [text for key, value in request.args.items(multi=True) for text in (key, value)]
    values += [value for value in (request.view_args or {}).values() if isinstance(value, str)]
    if any(control_characters(value) for value in values):
        raise ControlCharacterInAddress()


# Names -----------------------------------------------------------------------------------

# Letters (category L) that draw nothing: Hangul fillers and the like.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u17b4\u17b5")
# Embeddings, overrides and isolates turn the text after them around: "Ruth\u202eliB"
# shows as another name. Left-to-right and right-to-left marks (U+200E, U+200F) stay.
DIRECTION_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
NO_VISIBLE_LETTER = "Enter a name with letters we can see."
DIRECTION_CONTROL = (
    "This name contains a hidden character that reverses the text. "
    "Please delete it and type the name again."
)


def name_problem(text: str | None) -> str | None:
    """Why `text` cannot be a name (of a person, a clinic, a session), or None.

    A name needs at least one letter or digit that draws something: one made only of
    spaces of any kind, zero-width or other format characters looks empty on every
    page and list. Direction overrides disguise a name as another.
    """
    text = text or ""
    if any(character in DIRECTION_CONTROLS for character in text):
        return DIRECTION_CONTROL
    # Only spaces (of any kind: str.strip knows them all) is an empty answer, which
    # the field's own "required" rule words best.
    if text.strip() and not any(
        unicodedata.category(character)[0] in "LN" and character not in BLANK_LETTERS
        for character in text
    ):
        return NO_VISIBLE_LETTER
    return None


class VisibleName:
    """A WTForms validator: see `name_problem`. An empty answer (or only spaces) is left
    to DataRequired or the domain's own rule."""

    def __call__(self, form, field) -> None:
        problem = name_problem(field.data if isinstance(field.data, str) else None)
        if problem:
            raise ValidationError(problem)


# Email addresses ---------------------------------------------------------------------------


class DeliverableEmail:
    """A WTForms validator: an address our mail path can deliver to (the rule is the
    domain's: booking.clinic.email_addresses). An empty answer is left to DataRequired
    or Optional; a good one is stored as the rule gives it back."""

    def __init__(self, message: str = EMAIL_LIKE):
        self.message = message

    def __call__(self, form, field) -> None:
        text = (field.data or "").strip() if isinstance(field.data, str) else ""
        if not text:
            return
        try:
            field.data = deliverable_email(text, message=self.message)
        except DomainError as error:
            raise ValidationError(error.message) from None
