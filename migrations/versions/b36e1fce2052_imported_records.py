"""Imported records: what came in from another system, by its id there

An import from Cliniko, Jane or a generic CSV records each patient and appointment it
adds under the id it had in the other system, so that running the same file again adds
nothing new.

Revision ID: b36e1fce2052
Revises: 2e4e2dabe4a7
Create Date: 2026-12-07 05:35:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b36e1fce2052'
down_revision = '2e4e2dabe4a7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'imported_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('external_id', sa.String(length=120), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_records')),
        sa.UniqueConstraint('source', 'kind', 'external_id', name=op.f('uq_imported_records_source')),
    )


def downgrade():
    op.drop_table('imported_records')
