"""Outbox: a channel per message, claims held by a named worker, scheduled jobs

Messages name the channel that delivers them ("email" for every existing row). A claim
names the worker holding it, so a live worker can renew a short lease while it sends
and a dead worker's claims lapse within a minute. The worker runs scheduled jobs
(reminders) itself; one row per job says when it is next due.

Revision ID: b7c1d2e3f4a5
Revises: b7d41c2e9a30
Create Date: 2026-12-01 20:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = "b7c1d2e3f4a5"
down_revision = "b7d41c2e9a30"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=20), nullable=False, server_default="email")
        )
        batch.add_column(sa.Column("claimed_by", sa.String(length=40), nullable=True))
    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_jobs")),
    )


def downgrade():
    op.drop_table("scheduled_jobs")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("channel")
