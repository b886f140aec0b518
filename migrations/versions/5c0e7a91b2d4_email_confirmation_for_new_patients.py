"""A clinic setting: new patients confirm their email before an online booking is kept

Off by default, so online bookings are kept at once, as before. `patients.email_confirmed_at`
records when a patient opened a link emailed to their address; nullable, added in place.

Revision ID: 5c0e7a91b2d4
Revises: 5b7e2c9a4f10
Create Date: 2026-12-07 08:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = "5c0e7a91b2d4"
down_revision = "5b7e2c9a4f10"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("clinic_settings") as batch_op:
        batch_op.add_column(
            sa.Column(
                "email_confirmation_for_new_patients",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    # In place (no table rebuild): patients is referred to by other tables' rows.
    op.add_column("patients", sa.Column("email_confirmed_at", sa.DateTime(timezone=True)))


def downgrade():
    op.drop_column("patients", "email_confirmed_at")
    with op.batch_alter_table("clinic_settings") as batch_op:
        batch_op.drop_column("email_confirmation_for_new_patients")
