"""A refund failure's status is one the provider documents (failed or canceled), checked

Revision ID: b41e7f3a9c25
Revises: a7d2c9e41f60
Create Date: 2026-12-07 08:50:00

"""
from alembic import op

revision = "b41e7f3a9c25"
down_revision = "a7d2c9e41f60"
branch_labels = None
depends_on = None


def upgrade():
    # refund_failures is referenced by no other table, so SQLite's rebuild is safe.
    with op.batch_alter_table("refund_failures") as batch:
        batch.create_check_constraint(
            op.f("ck_refund_failures_status_known"), "status in ('failed', 'canceled')"
        )


def downgrade():
    with op.batch_alter_table("refund_failures") as batch:
        batch.drop_constraint(op.f("ck_refund_failures_status_known"), type_="check")
