"""Clinic setting: how many minutes a patient has to undo an online cancellation

Revision ID: 6023c759caea
Revises: d21445a11b42
Create Date: 2026-12-07 06:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '6023c759caea'
down_revision = 'd21445a11b42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(
            sa.Column(
                "cancellation_undo_minutes", sa.Integer(), nullable=False, server_default="10"
            )
        )
        batch.create_check_constraint(
            op.f("ck_clinic_settings_undo_minutes_range"),
            "cancellation_undo_minutes between 0 and 60",
        )


def downgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_constraint(op.f("ck_clinic_settings_undo_minutes_range"), type_="check")
        batch.drop_column("cancellation_undo_minutes")
