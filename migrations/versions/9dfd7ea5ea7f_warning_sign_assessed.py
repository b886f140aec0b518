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
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(
            sa.Column(
                "warning_sign_assessed",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade():
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("warning_sign_assessed")
