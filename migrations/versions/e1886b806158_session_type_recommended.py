"""Session types: the one the clinic recommends comes first in the booking choice

Revision ID: e1886b806158
Revises: 982ef3632794
Create Date: 2026-12-07 06:25:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e1886b806158'
down_revision = '982ef3632794'
branch_labels = None
depends_on = None


def upgrade():
    # Not batch mode, here and below: SQLite adds a column in place, where rebuilding the
    # table would be refused while other tables' foreign keys point at it.
    op.add_column(
        "session_types",
        sa.Column("recommended", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade():
    # Not batch mode: SQLite (3.35+) drops a column in place, where rebuilding the table
    # would be refused while other tables' foreign keys point at it.
    op.drop_column("session_types", "recommended")
