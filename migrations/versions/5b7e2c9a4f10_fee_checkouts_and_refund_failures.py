"""Fees paid online (a hosted page per fee) and refunds the provider could not make

Two new tables, nothing changed in place.

Revision ID: 5b7e2c9a4f10
Revises: f3a8c1d2e4b5
Create Date: 2026-12-07 08:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "5b7e2c9a4f10"
down_revision = "f3a8c1d2e4b5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fee_checkouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("fee_entry_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider_session_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_url", sa.String(length=2000), nullable=True),
        sa.Column("payment_intent", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('creating', 'open', 'paid', 'expired')",
            name=op.f("ck_fee_checkouts_status_known"),
        ),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_fee_checkouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["fee_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_fee_checkouts_fee_entry_id_ledger_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_checkouts")),
        sa.UniqueConstraint("uid", name=op.f("uq_fee_checkouts_uid")),
        sa.UniqueConstraint(
            "provider_session_id", name=op.f("uq_fee_checkouts_provider_session_id")
        ),
    )
    op.create_index(
        op.f("ix_fee_checkouts_fee_entry_id"), "fee_checkouts", ["fee_entry_id"], unique=False
    )
    op.create_index(
        op.f("ix_fee_checkouts_payment_intent"), "fee_checkouts", ["payment_intent"], unique=False
    )
    op.create_table(
        "refund_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("failure_reason", sa.String(length=60), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("refund_entry_id", sa.Integer(), nullable=True),
        sa.Column("reversal_entry_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_refund_failures_amount_positive")),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_refund_failures_patient_id_patients"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["refund_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_refund_failures_refund_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["reversal_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_refund_failures_reversal_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_failures")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_refund_failures_refund_id")),
    )
    op.create_index(
        op.f("ix_refund_failures_patient_id"), "refund_failures", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_refund_failures_reported_at"), "refund_failures", ["reported_at"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_refund_failures_reported_at"), table_name="refund_failures")
    op.drop_index(op.f("ix_refund_failures_patient_id"), table_name="refund_failures")
    op.drop_table("refund_failures")
    op.drop_index(op.f("ix_fee_checkouts_payment_intent"), table_name="fee_checkouts")
    op.drop_index(op.f("ix_fee_checkouts_fee_entry_id"), table_name="fee_checkouts")
    op.drop_table("fee_checkouts")
