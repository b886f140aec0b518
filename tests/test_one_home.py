"""One home per rule: who may book a session online is decided in clinic/offerings.py.

The booking itself, the list of sessions, a practitioner's page and the times page each
used to spell "active and bookable online" out for themselves (one in SQL, three in
Python); a new condition added to one would have left the others offering what the
booking then refuses.
"""

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking.clinic import offerings
from booking.extensions import db
from booking.models import Practitioner, SessionType
from tests import source_tree

ROOT = Path(__file__).resolve().parent.parent
# Where the flag may be read: the rule, the table, and the admin pages that set it.
READ_IN = {
    "booking/clinic/offerings.py",
    "booking/models/clinic.py",
    "booking/clinic/clinic_admin.py",
    "booking/diary/admin.py",
}


def _reads_of_the_flag(source: str) -> list[int]:
    return sorted(
        {
            node.lineno
            for node in source_tree.walk(source)
            if isinstance(node, ast.Attribute) and node.attr == "bookable_online"
        }
    )


def test_only_offerings_decides_what_is_bookable_online():
    offences = []
    for path in source_tree.python_files():
        name = str(path.relative_to(ROOT))
        if name not in READ_IN:
            offences += [f"{name}:{line}" for line in _reads_of_the_flag(path.read_text())]
    assert offences == []
    assert _reads_of_the_flag("ok = t.active and t.bookable_online") == [1]


@pytest.mark.parametrize(("active", "online", "bookable"), [(1, 1, 1), (1, 0, 0), (0, 1, 0)])
def test_a_session_type_is_bookable_online_in_python_and_in_sql_alike(
    client, demo, active, online, bookable
):
    session_type = db.session.scalar(sa.select(SessionType).filter_by(slug="massage"))
    session_type.active, session_type.bookable_online = bool(active), bool(online)
    db.session.commit()
    assert offerings.bookable_online(session_type) is bool(bookable)
    assert (session_type in offerings.session_types_bookable_online()) is bool(bookable)
    colette = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
    offered = session_type in colette.session_types
    assert (session_type in offerings.bookable_online_with(colette)) is (offered and bool(bookable))
    listed = 'href="/book/massage"' in client.get("/book").get_data(as_text=True)
    assert listed is bool(bookable)
    assert (client.get("/book/massage").status_code == 200) is bool(bookable)
