"""Checked sources and choices: a course's source, who cancelled, a feed's privacy

The database now refuses a value the application's enums (booking/models/enums.py) do
not know for these three columns, as it already did for every status. The lists are
copied here once, as a migration must stand on its own.

Revision ID: c3e8f1a29d47
Revises: b7c1d2e3f4a5
Create Date: 2026-12-01 20:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3e8f1a29d47'
down_revision = 'b7c1d2e3f4a5'
branch_labels = None
depends_on = None

CHECKS = (
    ("courses", "source_known", "source in ('online', 'staff')"),
    (
        "appointments",
        "cancelled_by_known",
        "cancelled_by is null or cancelled_by in ('patient', 'clinic')",
    ),
    ("practitioners", "feed_privacy_known", "feed_privacy in ('full_name', 'initials', 'hidden')"),
)


def upgrade():
    for table, name, condition in CHECKS:
        # Batch mode: SQLite cannot add a constraint to a table in place.
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(op.f(f"ck_{table}_{name}"), condition)


def downgrade():
    for table, name, _ in reversed(CHECKS):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
