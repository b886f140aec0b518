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
    with op.batch_alter_table("session_types") as batch:
        batch.add_column(
            sa.Column("recommended", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("session_types") as batch:
        batch.drop_column("recommended")
