"""Online payment: hosted checkout pages started for courses, provider webhook events seen

Revision ID: 31624933c0e0
Revises: e83b5d0c7f21
Create Date: 2026-12-07 05:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "31624933c0e0"
down_revision = "e83b5d0c7f21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "online_checkouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
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
            name=op.f("ck_online_checkouts_status_known"),
        ),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_online_checkouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_online_checkouts_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_online_checkouts")),
        sa.UniqueConstraint("uid", name=op.f("uq_online_checkouts_uid")),
        sa.UniqueConstraint(
            "provider_session_id", name=op.f("uq_online_checkouts_provider_session_id")
        ),
    )
    op.create_index(
        op.f("ix_online_checkouts_course_id"), "online_checkouts", ["course_id"], unique=False
    )
    op.create_index(
        op.f("ix_online_checkouts_payment_intent"),
        "online_checkouts",
        ["payment_intent"],
        unique=False,
    )
    op.create_table(
        "payment_provider_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("payment_intent", sa.String(length=255), nullable=True),
        sa.Column("deferred_refunds", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome in ('processed', 'ignored', 'deferred')",
            name=op.f("ck_payment_provider_events_outcome_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_provider_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_payment_provider_events_event_id")),
    )
    op.create_index(
        op.f("ix_payment_provider_events_payment_intent"),
        "payment_provider_events",
        ["payment_intent"],
        unique=False,
    )


def downgrade():
    op.drop_index(
        op.f("ix_payment_provider_events_payment_intent"), table_name="payment_provider_events"
    )
    op.drop_table("payment_provider_events")
    op.drop_index(op.f("ix_online_checkouts_payment_intent"), table_name="online_checkouts")
    op.drop_index(op.f("ix_online_checkouts_course_id"), table_name="online_checkouts")
    op.drop_table("online_checkouts")
