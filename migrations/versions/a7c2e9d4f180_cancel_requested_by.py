"""appointments.cancel_requested_by: who asked for a cancellation, the patient or the clinic

`cancelled_by` says who did it (the patient online, or staff); a receptionist cancelling
for a patient who phoned recorded "clinic", so the owner's dashboard counted the clinic's
own late cancellations (a practitioner off sick) as the patients'. The new column says
who asked: "patient" or "clinic" (a CHECK, as for cancelled_by), NULL when not known.

Existing rows: a cancellation the patient made online was asked for by the patient; a
cancellation staff made may have been either, so it stays NULL (unknown).

On SQLite the CHECK is added to the table's stored definition, as migration f3a8c1d2e4b5
does (rebuilding `appointments` is refused while other tables refer to it); the column is
null or 'patient' on every row, so no row can violate it.

Revision ID: a7c2e9d4f180
Revises: d9f4b6a1c2e8
Create Date: 2026-12-07 12:15:00

"""

import sqlalchemy as sa
from alembic import op


revision = "a7c2e9d4f180"
down_revision = "d9f4b6a1c2e8"
branch_labels = None
depends_on = None

KNOWN = "cancel_requested_by is null or cancel_requested_by in ('patient', 'clinic')"
NEW_CHECK = f", CONSTRAINT ck_appointments_cancel_requested_by_known CHECK ({KNOWN})"


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
    op.add_column("appointments", sa.Column("cancel_requested_by", sa.String(length=20)))
    op.execute(
        "UPDATE appointments SET cancel_requested_by = 'patient' WHERE cancelled_by = 'patient'"
    )
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        sql = _sqlite_table_sql(connection)
        if not sql.rstrip().endswith(")"):
            raise RuntimeError("appointments is not as the previous migration left it")
        _sqlite_rewrite(connection, sql.rstrip()[:-1].rstrip() + NEW_CHECK + "\n)")
        return
    op.create_check_constraint(
        op.f("ck_appointments_cancel_requested_by_known"), "appointments", KNOWN
    )


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        # SQLite refuses to drop a column a CHECK names: take the CHECK out first.
        _sqlite_rewrite(connection, _sqlite_table_sql(connection).replace(NEW_CHECK, "", 1))
    else:
        op.drop_constraint(
            op.f("ck_appointments_cancel_requested_by_known"), "appointments", type_="check"
        )
    op.drop_column("appointments", "cancel_requested_by")
