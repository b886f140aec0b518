"""Deposits: a session type may ask for one online; a checkout pays for a course or an appointment

- session_types.deposit_pence (0: no deposit), added in place.
- online_checkouts: course_id may be empty, appointment_id names the appointment whose
  deposit a page takes (exactly one of the two, a CHECK), and refund_due_at marks a
  payment whose appointment could no longer be kept, for staff to refund. No table
  refers to online_checkouts, so SQLite's batch mode may rebuild it.

Revision ID: a7d2c9e41f60
Revises: 5c0e7a91b2d4
Create Date: 2026-12-07 08:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = "a7d2c9e41f60"
down_revision = "5c0e7a91b2d4"
branch_labels = None
depends_on = None


def upgrade():
    # In place: session_types is referred to by other tables (see e1886b806158).
    op.add_column(
        "session_types",
        sa.Column("deposit_pence", sa.Integer(), nullable=False, server_default="0"),
    )
    with op.batch_alter_table("online_checkouts") as batch_op:
        batch_op.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("refund_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("course_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_online_checkouts_appointment_id_appointments"),
            "appointments",
            ["appointment_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            batch_op.f("ix_online_checkouts_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_online_checkouts_pays_for_one_thing"),
            "(course_id is null) <> (appointment_id is null)",
        )


def downgrade():
    # A deposit's page has no course to belong to: the ledger keeps its money.
    op.execute("DELETE FROM online_checkouts WHERE appointment_id IS NOT NULL")
    with op.batch_alter_table("online_checkouts") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_online_checkouts_pays_for_one_thing"), type_="check"
        )
        batch_op.drop_index(batch_op.f("ix_online_checkouts_appointment_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_online_checkouts_appointment_id_appointments"), type_="foreignkey"
        )
        batch_op.alter_column("course_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("refund_due_at")
        batch_op.drop_column("appointment_id")
    op.drop_column("session_types", "deposit_pence")
