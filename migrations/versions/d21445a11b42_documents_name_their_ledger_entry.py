"""Documents name their ledger entry: a receipt its payment, a credit note its refund

One document per entry (unique), so asking twice for a payment's receipt gives the
same receipt and never a second number.

Revision ID: d21445a11b42
Revises: a41f7c2d9e06
Create Date: 2026-12-07 05:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "d21445a11b42"
down_revision = "a41f7c2d9e06"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("ledger_entry_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_documents_ledger_entry_id_ledger_entries"),
            "ledger_entries",
            ["ledger_entry_id"],
            ["id"],
        )
        batch.create_unique_constraint(op.f("uq_documents_ledger_entry_id"), ["ledger_entry_id"])


def downgrade():
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("uq_documents_ledger_entry_id"), type_="unique")
        batch.drop_constraint(
            op.f("fk_documents_ledger_entry_id_ledger_entries"), type_="foreignkey"
        )
        batch.drop_column("ledger_entry_id")
