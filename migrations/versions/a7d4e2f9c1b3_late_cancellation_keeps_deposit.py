"""A clinic setting: a late cancellation keeps a paid deposit towards the late fee

On by default. A deposit paid online is refunded through the provider when the booking
is cancelled, except a late cancellation charged the clinic's late cancellation fee,
which keeps as much of the deposit as the fee (booking.clinic.payments.deposit_policy).
`online_checkouts.cancellation_refund_pence`: a refund decided and not yet made, for staff.

Revision ID: a7d4e2f9c1b3
Revises: e5d9a2c7b813
Create Date: 2026-12-07 09:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = "a7d4e2f9c1b3"
down_revision = "e5d9a2c7b813"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("clinic_settings") as batch_op:
        batch_op.add_column(
            sa.Column(
                "late_cancellation_keeps_deposit",
                sa.Boolean(),
                nullable=False,
                server_default=sa.true(),
            )
        )
    # In place: nullable, and online_checkouts is referred to by other tables' rows.
    op.add_column(
        "online_checkouts", sa.Column("cancellation_refund_pence", sa.Integer(), nullable=True)
    )


def downgrade():
    with op.batch_alter_table("online_checkouts") as batch_op:
        batch_op.drop_column("cancellation_refund_pence")
    with op.batch_alter_table("clinic_settings") as batch_op:
        batch_op.drop_column("late_cancellation_keeps_deposit")
