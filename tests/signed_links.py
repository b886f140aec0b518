"""Reading patients' signed links back, for tests.

A signed token carries the second it was signed (itsdangerous' timestamp), so a link
built in the test a moment after the code under test built its own can differ from it
whenever the clock ticks over between the two: comparing the strings fails about one
run in six. Tests therefore find the link in what was produced and check what it opens.
"""

import re

from booking.clinic.tokens import (
    appointment_uid_from_token,
    appointment_uid_from_view_token,
    course_uid_from_token,
)

_TOKEN = r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"


def _tokens(text: str, path: str) -> list[str]:
    return re.findall(rf"{re.escape(path)}({_TOKEN})", text)


def assert_manage_link_for(text: str, appointment, *, base: str = "") -> None:
    """`text` holds a working manage-my-booking link (under `base`) for this appointment."""
    tokens = _tokens(text, f"{base}/manage/")
    assert tokens, f"no manage link under {base or 'any address'!r} in {text!r}"
    assert [appointment_uid_from_token(token) for token in tokens] == [appointment.uid] * len(
        tokens
    ), f"a manage link in {text!r} opens another appointment"


def assert_view_link_for(text: str, appointment, *, base: str = "") -> None:
    """`text` holds a working read-only link (under `base`) to this appointment."""
    tokens = _tokens(text, f"{base}/appointment/")
    assert tokens, f"no read-only appointment link under {base or 'any address'!r} in {text!r}"
    assert [appointment_uid_from_view_token(token) for token in tokens] == [appointment.uid] * len(
        tokens
    ), f"a read-only link in {text!r} opens another appointment"


def assert_no_manage_link(text: str) -> None:
    """No manage-my-booking link at all, whenever it was signed."""
    assert "/manage/" not in text, f"a manage link in {text!r}"


def assert_course_link_for(text: str, course) -> None:
    """`text` holds a working link to this patient's course page."""
    tokens = _tokens(text, "/course/")
    assert tokens, f"no course link in {text!r}"
    assert [course_uid_from_token(token) for token in tokens] == [course.uid] * len(tokens)


def appointment_opened_by(location: str | None) -> str | None:
    """The appointment a /book/confirmed/ address opens (its uid), or None for another page.

    Two redirects to the same booking's page carry tokens signed at different seconds, so
    they are compared by what they open, never as strings.
    """
    prefix = "/book/confirmed/"
    if not location or not location.startswith(prefix):
        return None
    return appointment_uid_from_token(location.removeprefix(prefix))
