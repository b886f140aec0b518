"""Appointments may be "held": the time is kept while a deposit or an email confirmation is awaited

A held appointment occupies its slot as a booked one does. The exclusion constraint that
keeps a practitioner's live appointments apart already counts every status but cancelled,
so a held appointment keeps its time on PostgreSQL with no change to it. New columns:
`held_until` (UTC) and `hold_reason`; the CHECK on status gains "held", and two new
CHECKs say a hold names a known reason and always has both.

On SQLite the CHECKs are changed in the table's stored definition (the procedure SQLite
documents for changing constraints) rather than by rebuilding the table: dropping
`appointments` to rebuild it is refused while other tables' rows refer to it, so an
existing clinic's database could not be upgraded. The new CHECKs only loosen the status
list and speak of columns that are null on every existing row, so no row can violate them.

Revision ID: f3a8c1d2e4b5
Revises: 038628428177
Create Date: 2026-12-07 08:10:00

"""
import sqlalchemy as sa
from alembic import op


revision = "f3a8c1d2e4b5"
down_revision = "038628428177"
branch_labels = None
depends_on = None

STATUSES = "'booked', 'arrived', 'attended', 'no_show', 'cancelled'"
WITH_HELD = "'booked', 'held', 'arrived', 'attended', 'no_show', 'cancelled'"
REASONS = "hold_reason is null or hold_reason in ('deposit', 'email_confirmation')"
SAYS_WHY = "status <> 'held' or (held_until is not null and hold_reason is not null)"
NEW_CHECKS = (
    f", CONSTRAINT ck_appointments_hold_reason_known CHECK ({REASONS})"
    f", CONSTRAINT ck_appointments_held_says_why_and_until CHECK ({SAYS_WHY})"
)


def _sqlite_table_sql(connection):
    return connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'appointments'"
    ).scalar()


def _sqlite_rewrite(connection, sql):
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    connection.exec_driver_sql("PRAGMA writable_schema = ON")
    connection.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'appointments'",
        (sql,),
    )
    connection.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    # Added in place (not batch mode): see the module's docstring.
    op.add_column("appointments", sa.Column("held_until", sa.DateTime(timezone=True)))
    op.add_column("appointments", sa.Column("hold_reason", sa.String(length=30)))
    op.create_index(
        op.f("ix_appointments_held_until"), "appointments", ["held_until"], unique=False
    )
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        sql = _sqlite_table_sql(connection)
        if STATUSES not in sql or not sql.rstrip().endswith(")"):
            raise RuntimeError("appointments is not as the previous migration left it")
        sql = sql.replace(STATUSES, WITH_HELD, 1)
        sql = sql.rstrip()[:-1].rstrip() + NEW_CHECKS + "\n)"
        _sqlite_rewrite(connection, sql)
        return
    op.drop_constraint(op.f("ck_appointments_status_known"), "appointments", type_="check")
    op.create_check_constraint(
        op.f("ck_appointments_status_known"), "appointments", f"status in ({WITH_HELD})"
    )
    op.create_check_constraint(op.f("ck_appointments_hold_reason_known"), "appointments", REASONS)
    op.create_check_constraint(
        op.f("ck_appointments_held_says_why_and_until"), "appointments", SAYS_WHY
    )


def downgrade():
    # A hold nobody settled frees its time: it becomes a cancelled appointment.
    op.execute(
        "UPDATE appointments SET status = 'cancelled', cancelled_by = 'clinic', "
        "cancelled_at = held_until, cancellation_reason = 'Hold released (downgrade)' "
        "WHERE status = 'held'"
    )
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        sql = _sqlite_table_sql(connection)
        sql = sql.replace(WITH_HELD, STATUSES, 1).replace(NEW_CHECKS, "", 1)
        _sqlite_rewrite(connection, sql)
    else:
        op.drop_constraint(
            op.f("ck_appointments_held_says_why_and_until"), "appointments", type_="check"
        )
        op.drop_constraint(op.f("ck_appointments_hold_reason_known"), "appointments", type_="check")
        op.drop_constraint(op.f("ck_appointments_status_known"), "appointments", type_="check")
        op.create_check_constraint(
            op.f("ck_appointments_status_known"), "appointments", f"status in ({STATUSES})"
        )
    op.drop_index(op.f("ix_appointments_held_until"), table_name="appointments")
    op.drop_column("appointments", "hold_reason")
    op.drop_column("appointments", "held_until")
