"""CHECKs for the last stored words the database took unchecked

outbox_messages.channel (email, sms, letter), staff_sessions.end_reason and .method,
imported_records.source and .kind: each is now one of its enum's values
(booking/models/enums.py), as every other status is.

A row the code never wrote (a typo by hand, say) stops the upgrade with its table and
column named, rather than being changed. staff_sessions and imported_records are
referenced by no other table, so SQLite's batch rebuild is safe for them. outbox_messages
is (its attachments), so on SQLite its CHECK is added to the table's stored definition,
the procedure SQLite documents for changing constraints (as migration f3a8c1d2e4b5 does
for appointments), after checking that every row passes it.

Revision ID: d9f4b6a1c2e8
Revises: c3e8f1a2b7d4
Create Date: 2026-12-07 11:45:00

"""

from alembic import op
import sqlalchemy as sa


revision = "d9f4b6a1c2e8"
down_revision = "c3e8f1a2b7d4"
branch_labels = None
depends_on = None

CHANNEL = "channel in ('email', 'sms', 'letter')"
CHANNEL_CHECK = f", CONSTRAINT ck_outbox_messages_channel_known CHECK ({CHANNEL})"
END_REASON = (
    "end_reason is null or end_reason in ('signed_out', 'second_factor_failed', "
    "'tablet_handed_over', 'ended_by_staff', 'ended_by_admin', 'password_changed', "
    "'password_reset', 'second_factor_reset', 'account_deactivated', 'role_changed', "
    "'idle', 'lifetime')"
)
METHOD = (
    "method in ('password', 'password+totp', 'password+recovery_code', "
    "'password+passkey', 'passkey')"
)
SOURCE = "source in ('cliniko', 'jane', 'generic')"
KIND = "kind in ('patient', 'appointment')"


def _refuse_rows_outside(table: str, column: str, condition: str) -> None:
    count = (
        op.get_bind()
        .execute(sa.text(f"SELECT count(*) FROM {table} WHERE NOT ({condition})"))  # noqa: S608
        .scalar()
    )
    if count:
        raise RuntimeError(
            f"{count} row(s) of {table} have a {column} the application never writes; "
            f"correct them, then upgrade again"
        )


def _sqlite_outbox_sql(connection) -> str:
    return connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox_messages'"
    ).scalar()


def _sqlite_rewrite_outbox(connection, sql: str) -> None:
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    connection.exec_driver_sql("PRAGMA writable_schema = ON")
    connection.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'outbox_messages'",
        (sql,),
    )
    connection.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    for table, column, condition in (
        ("outbox_messages", "channel", CHANNEL),
        ("staff_sessions", "end_reason", END_REASON),
        ("staff_sessions", "method", METHOD),
        ("imported_records", "source", SOURCE),
        ("imported_records", "kind", KIND),
    ):
        _refuse_rows_outside(table, column, condition)
    with op.batch_alter_table("staff_sessions") as batch:
        batch.create_check_constraint(op.f("ck_staff_sessions_end_reason_known"), END_REASON)
        batch.create_check_constraint(op.f("ck_staff_sessions_method_known"), METHOD)
    with op.batch_alter_table("imported_records") as batch:
        batch.create_check_constraint(op.f("ck_imported_records_source_known"), SOURCE)
        batch.create_check_constraint(op.f("ck_imported_records_kind_known"), KIND)
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        sql = _sqlite_outbox_sql(connection).rstrip()
        if not sql.endswith(")") or "ck_outbox_messages_channel_known" in sql:
            raise RuntimeError("outbox_messages is not as the previous migration left it")
        _sqlite_rewrite_outbox(connection, sql[:-1].rstrip() + CHANNEL_CHECK + "\n)")
    else:
        op.create_check_constraint(
            op.f("ck_outbox_messages_channel_known"), "outbox_messages", CHANNEL
        )


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        sql = _sqlite_outbox_sql(connection)
        _sqlite_rewrite_outbox(connection, sql.replace(CHANNEL_CHECK, "", 1))
    else:
        op.drop_constraint(
            op.f("ck_outbox_messages_channel_known"), "outbox_messages", type_="check"
        )
    with op.batch_alter_table("imported_records") as batch:
        batch.drop_constraint(op.f("ck_imported_records_kind_known"), type_="check")
        batch.drop_constraint(op.f("ck_imported_records_source_known"), type_="check")
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_constraint(op.f("ck_staff_sessions_method_known"), type_="check")
        batch.drop_constraint(op.f("ck_staff_sessions_end_reason_known"), type_="check")
