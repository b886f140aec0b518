"""Appointments: the patient said a doctor has already assessed a warning sign they have

Revision ID: 9dfd7ea5ea7f
Revises: 31624933c0e0
Create Date: 2026-12-07 06:50:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '9dfd7ea5ea7f'
down_revision = '31624933c0e0'
branch_labels = None
depends_on = None


def upgrade():
    # Not batch mode, here and below: SQLite adds a column in place, where rebuilding the
    # table would be refused while other tables' foreign keys point at it.
    op.add_column(
        "appointments",
        sa.Column(
            "warning_sign_assessed", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )


def downgrade():
    # Not batch mode: SQLite (3.35+) drops a column in place, where rebuilding the table
    # would be refused while other tables' foreign keys point at it.
    op.drop_column("appointments", "warning_sign_assessed")
