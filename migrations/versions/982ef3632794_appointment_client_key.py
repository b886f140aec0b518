"""Appointments booked online keep a keyed hash of the client address, to cap unverified holds

Revision ID: 982ef3632794
Revises: dc336f7d0082
Create Date: 2026-12-07 06:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '982ef3632794'
down_revision = 'dc336f7d0082'
branch_labels = None
depends_on = None


def upgrade():
    # Not batch mode, here and below: SQLite adds a column in place, where rebuilding the
    # table would be refused while other tables' foreign keys point at it.
    op.add_column("appointments", sa.Column("client_key", sa.String(length=64), nullable=True))
    op.create_index(
        op.f("ix_appointments_client_key"), "appointments", ["client_key"], unique=False
    )


def downgrade():
    # Not batch mode: SQLite (3.35+) drops a column in place, where rebuilding the table
    # would be refused while other tables' foreign keys point at it.
    op.drop_index(op.f("ix_appointments_client_key"), table_name="appointments")
    op.drop_column("appointments", "client_key")
