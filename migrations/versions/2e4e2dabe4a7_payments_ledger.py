"""Money: the payments ledger, cash-ups, missed-appointment fees, receipt details

A ledger of payments, refunds and fees against appointments and courses; the cash
counted at the end of a day (every count kept); the clinic's no-show and
late-cancellation fees (0, none, by default); a practitioner's professional body and
registration number; a patient's date of birth and postal address. The enums' values
are copied here once, as a migration must stand on its own.

Revision ID: 2e4e2dabe4a7
Revises: 184f41c94e1c
Create Date: 2026-12-07 05:20:00

"""

from alembic import op
import sqlalchemy as sa


revision = "2e4e2dabe4a7"
down_revision = "184f41c94e1c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.Column("fee_kind", sa.String(length=30), nullable=True),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_name", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("waived_by_id", sa.Integer(), nullable=True),
        sa.Column("waive_reason", sa.String(length=300), nullable=False),
        sa.CheckConstraint(
            "kind in ('payment', 'refund', 'fee')", name=op.f("ck_ledger_entries_kind_known")
        ),
        sa.CheckConstraint(
            "method is null or method in ('card', 'cash', 'bank_transfer', 'online')",
            name=op.f("ck_ledger_entries_method_known"),
        ),
        sa.CheckConstraint(
            "fee_kind is null or fee_kind in ('no_show', 'late_cancellation')",
            name=op.f("ck_ledger_entries_fee_kind_known"),
        ),
        sa.CheckConstraint(
            "(appointment_id is null and course_id is not null)"
            " or (appointment_id is not null and course_id is null)",
            name=op.f("ck_ledger_entries_one_target"),
        ),
        sa.CheckConstraint(
            "(kind = 'refund' and amount_pence < 0) or (kind <> 'refund' and amount_pence > 0)",
            name=op.f("ck_ledger_entries_amount_sign"),
        ),
        sa.CheckConstraint(
            "(kind = 'fee' and method is null and fee_kind is not null)"
            " or (kind <> 'fee' and method is not null and fee_kind is null)",
            name=op.f("ck_ledger_entries_fee_or_payment"),
        ),
        sa.CheckConstraint(
            "waived_at is null or kind = 'fee'", name=op.f("ck_ledger_entries_only_fees_waived")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_ledger_entries_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_ledger_entries_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_ledger_entries_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["staff_users.id"],
            name=op.f("fk_ledger_entries_recorded_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["waived_by_id"],
            ["staff_users.id"],
            name=op.f("fk_ledger_entries_waived_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint(
            "provider_reference", name=op.f("uq_ledger_entries_provider_reference")
        ),
    )
    with op.batch_alter_table("ledger_entries") as batch:
        batch.create_index(batch.f("ix_ledger_entries_patient_id"), ["patient_id"], unique=False)
        batch.create_index(
            batch.f("ix_ledger_entries_appointment_id"), ["appointment_id"], unique=False
        )
        batch.create_index(batch.f("ix_ledger_entries_course_id"), ["course_id"], unique=False)
        batch.create_index(batch.f("ix_ledger_entries_recorded_at"), ["recorded_at"], unique=False)

    op.create_table(
        "cash_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("counted_pence", sa.Integer(), nullable=False),
        sa.Column("recorded_pence", sa.Integer(), nullable=False),
        sa.Column("counted_by_id", sa.Integer(), nullable=True),
        sa.Column("counted_by_name", sa.String(length=120), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.CheckConstraint("counted_pence >= 0", name=op.f("ck_cash_ups_counted_not_negative")),
        sa.ForeignKeyConstraint(
            ["counted_by_id"],
            ["staff_users.id"],
            name=op.f("fk_cash_ups_counted_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_ups")),
    )
    with op.batch_alter_table("cash_ups") as batch:
        batch.create_index(batch.f("ix_cash_ups_day"), ["day"], unique=False)

    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(
            sa.Column("no_show_fee_pence", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column(
                "late_cancellation_fee_pence", sa.Integer(), nullable=False, server_default="0"
            )
        )
        batch.create_check_constraint(
            op.f("ck_clinic_settings_no_show_fee_not_negative"), "no_show_fee_pence >= 0"
        )
        batch.create_check_constraint(
            op.f("ck_clinic_settings_late_cancellation_fee_not_negative"),
            "late_cancellation_fee_pence >= 0",
        )
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(
            sa.Column("professional_body", sa.String(length=120), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column(
                "registration_number", sa.String(length=60), nullable=False, server_default=""
            )
        )
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("address", sa.String(length=300), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("postcode", sa.String(length=10), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("postcode")
        batch.drop_column("address")
        batch.drop_column("date_of_birth")
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_column("registration_number")
        batch.drop_column("professional_body")
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_constraint(
            op.f("ck_clinic_settings_late_cancellation_fee_not_negative"), type_="check"
        )
        batch.drop_constraint(op.f("ck_clinic_settings_no_show_fee_not_negative"), type_="check")
        batch.drop_column("late_cancellation_fee_pence")
        batch.drop_column("no_show_fee_pence")
    with op.batch_alter_table("cash_ups") as batch:
        batch.drop_index(batch.f("ix_cash_ups_day"))
    op.drop_table("cash_ups")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_index(batch.f("ix_ledger_entries_recorded_at"))
        batch.drop_index(batch.f("ix_ledger_entries_course_id"))
        batch.drop_index(batch.f("ix_ledger_entries_appointment_id"))
        batch.drop_index(batch.f("ix_ledger_entries_patient_id"))
    op.drop_table("ledger_entries")
