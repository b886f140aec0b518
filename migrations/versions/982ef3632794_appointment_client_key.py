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
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_appointments_client_key"), ["client_key"], unique=False)


def downgrade():
    with op.batch_alter_table("appointments") as batch:
        batch.drop_index(batch.f("ix_appointments_client_key"))
        batch.drop_column("client_key")
