"""The migrated database holds every CHECK the models declare, with the same values.

compare_metadata (tests/test_foundation.py) does not compare CHECK constraints, so a
migration that forgot a new status (HELD, a hold reason, a refund's state) would leave
the database refusing a value the code writes, or taking one it should refuse. These
read the constraints back from the database the real migrations built, on SQLite and on
PostgreSQL (whose text differs: 'held'::character varying inside an ARRAY; the quoted
values are the same).
"""

import enum
import inspect as python_inspect
import re

import pytest
import sqlalchemy as sa

import booking.models
from booking.database import UTCDateTime, utcnow
from booking.extensions import db
from booking.models import Role

QUOTED = re.compile(r"'([^']*)'")
Checks = dict[tuple[str, str], set[str]]


def declared() -> Checks:
    """(table, constraint name) -> the quoted values of each CHECK the models declare."""
    found = {}
    for table in db.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, sa.CheckConstraint):
                key = (table.name, str(constraint.name))
                found[key] = set(QUOTED.findall(str(constraint.sqltext)))
    return found


def in_the_database() -> Checks:
    inspector = sa.inspect(db.engine)
    found = {}
    for table in inspector.get_table_names():
        for check in inspector.get_check_constraints(table):
            found[(table, check["name"])] = set(QUOTED.findall(check["sqltext"]))
    return found


def differences(models: Checks, database: Checks) -> list[str]:
    problems = []
    for key, values in models.items():
        table, name = key
        if key not in database:
            problems.append(f"{table}.{name} is not in the database")
        elif database[key] != values:
            missing, extra = sorted(values - database[key]), sorted(database[key] - values)
            problems.append(f"{table}.{name}: the database lacks {missing}, adds {extra}")
    return problems


def test_every_check_the_models_declare_is_in_the_migrated_database_with_its_values(app):
    models = declared()
    assert ("appointments", "ck_appointments_status_known") in models  # the walk found them
    assert "held" in models[("appointments", "ck_appointments_status_known")]
    assert differences(models, in_the_database()) == []


def test_the_comparison_can_fail():
    models = {("appointments", "ck_status"): {"booked", "held"}, ("t", "ck_gone"): {"a"}}
    database = {("appointments", "ck_status"): {"booked", "old"}}
    assert differences(models, database) == [
        "appointments.ck_status: the database lacks ['held'], adds ['old']",
        "t.ck_gone is not in the database",
    ]


def stored_enums() -> list[type[enum.StrEnum]]:
    """Every StrEnum the models package offers: each is a status or choice a table stores."""
    return [
        member
        for _, member in python_inspect.getmembers(booking.models, python_inspect.isclass)
        if issubclass(member, enum.StrEnum) and member is not enum.StrEnum
    ]


def test_every_stored_enum_has_a_check_listing_exactly_its_values(app):
    enums = stored_enums()
    assert {booking.models.AppointmentStatus, booking.models.HoldReason} <= set(enums)
    checked = list(declared().values())
    unchecked = [e.__name__ for e in enums if {m.value for m in e} not in checked]
    assert unchecked == []


def test_a_staff_sessions_role_is_checked_like_the_accounts(app, make_staff):
    """The session copies the account's role; the database refuses any other word."""
    account = make_staff()
    insert = sa.text(
        "insert into staff_sessions (staff_user_id, token_hash, stage, created_at,"
        " last_seen_at, user_agent, account_version, role, method)"
        " values (:user, :token, 'signed_in', :now, :now, '', 1, :role, 'password')"
    ).bindparams(sa.bindparam("now", type_=UTCDateTime))
    for number, role in enumerate([*Role, "owner"]):
        row = {"user": account.id, "token": f"{number:064d}", "now": utcnow(), "role": role}
        if role == "owner":
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.execute(insert, row)
        else:
            with db.engine.begin() as connection:
                connection.execute(insert, row)


# The last stored words that were unchecked: each column, a row to change, its enum.
def _outbox_row(_account):
    from booking.models import OutboxMessage

    return OutboxMessage(kind="test", recipient="x@example.org", subject="", text_body="")


def _session_row(account):
    from booking.models import StaffSession

    return StaffSession(
        staff_user_id=account.id,
        token_hash="0" * 64,
        stage="signed_in",
        account_version=1,
        role=account.role,
    )


def _imported_row(_account):
    from booking.models import ImportedRecord

    return ImportedRecord(source="generic", kind="patient", external_id="P1", record_id=1)


@pytest.mark.parametrize(
    ("make_row", "column", "values", "nullable"),
    [
        (_outbox_row, "channel", booking.models.MessageChannel, False),
        (_session_row, "end_reason", booking.models.SessionEndReason, True),
        (_session_row, "method", booking.models.SignInMethod, False),
        (_imported_row, "source", booking.models.ImportSource, False),
        (_imported_row, "kind", booking.models.ImportedKind, False),
    ],
)
def test_the_database_refuses_a_word_its_enum_does_not_know(
    app, make_staff, make_row, column, values, nullable
):
    row = make_row(make_staff())
    db.session.add(row)
    db.session.commit()
    table = type(row).__table__
    update = sa.update(table).where(table.c.id == row.id)
    allowed = [member.value for member in values] + ([None] if nullable else [])
    for value in allowed:
        with db.engine.begin() as connection:
            connection.execute(update.values({column: value}))
    for wrong in ("pigeon", allowed[0].upper() if allowed[0] else "X", ""):
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
            connection.execute(update.values({column: wrong}))
