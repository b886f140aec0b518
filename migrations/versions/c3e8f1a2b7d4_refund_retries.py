"""A refused automatic deposit refund is asked again by the worker, then left for staff

`online_checkouts.cancellation_refund_key`: the idempotency key of the refund's first
ask, reused by each retry; `refund_attempts`: asks refused or not made; `refund_retry_at`:
when the worker asks next (booking.clinic.payments.refund_retries).

Revision ID: c3e8f1a2b7d4
Revises: a7d4e2f9c1b3
Create Date: 2026-12-07 11:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = "c3e8f1a2b7d4"
down_revision = "a7d4e2f9c1b3"
branch_labels = None
depends_on = None


def upgrade():
    # In place: online_checkouts is referred to by other tables' rows.
    op.add_column(
        "online_checkouts", sa.Column("cancellation_refund_key", sa.String(80), nullable=True)
    )
    op.add_column(
        "online_checkouts",
        sa.Column("refund_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "online_checkouts",
        sa.Column("refund_retry_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        op.f("ix_online_checkouts_refund_retry_at"), "online_checkouts", ["refund_retry_at"]
    )


def downgrade():
    op.drop_index(op.f("ix_online_checkouts_refund_retry_at"), table_name="online_checkouts")
    with op.batch_alter_table("online_checkouts") as batch_op:
        batch_op.drop_column("refund_retry_at")
        batch_op.drop_column("refund_attempts")
        batch_op.drop_column("cancellation_refund_key")
