"""The clinical record: intake questionnaires, consent to treatment, red-flag re-checks

Answers and free text are sealed (Fernet, CLINICAL_RECORD_KEYS) by the application before
they reach these tables, so their columns are plain text here. A clinic setting says
whether every practitioner may read every patient's record, or only their own patients'.

Revision ID: 779e46fd718b
Revises: c3e8f1a29d47
Create Date: 2026-12-07 05:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = "779e46fd718b"
down_revision = "c3e8f1a29d47"
branch_labels = None
depends_on = None

METHODS = "method in ('online', 'desk')"
TREATMENTS = "treatment in ('acupuncture', 'cupping', 'massage', 'stretching')"


def upgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(
            sa.Column(
                "practitioners_read_all_records",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    op.create_table(
        "intake_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("questions_version", sa.String(length=20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=True),
        sa.Column("has_flags", sa.Boolean(), nullable=False),
        sa.Column("date_of_birth", sa.Text(), nullable=False),
        sa.Column("gp_name", sa.Text(), nullable=False),
        sa.Column("gp_practice", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.CheckConstraint(METHODS, name=op.f("ck_intake_forms_method_known")),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_intake_forms_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_intake_forms_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["taken_by_id"],
            ["staff_users.id"],
            name=op.f("fk_intake_forms_taken_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_forms")),
    )
    op.create_index(
        "ix_intake_forms_patient_submitted", "intake_forms", ["patient_id", "submitted_at"]
    )
    op.create_table(
        "treatment_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("treatment", sa.String(length=20), nullable=False),
        sa.Column("wording_version", sa.String(length=20), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(METHODS, name=op.f("ck_treatment_consents_method_known")),
        sa.CheckConstraint(TREATMENTS, name=op.f("ck_treatment_consents_treatment_known")),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_treatment_consents_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_treatment_consents_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["taken_by_id"],
            ["staff_users.id"],
            name=op.f("fk_treatment_consents_taken_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_consents")),
    )
    op.create_index(
        "ix_treatment_consents_patient_treatment",
        "treatment_consents",
        ["patient_id", "treatment", "given_at"],
    )
    op.create_table(
        "red_flag_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("warning_sign", sa.Boolean(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.CheckConstraint(METHODS, name=op.f("ck_red_flag_checks_method_known")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_red_flag_checks_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_red_flag_checks_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_flag_checks")),
    )
    op.create_index(
        op.f("ix_red_flag_checks_appointment_id"), "red_flag_checks", ["appointment_id"]
    )
    op.create_index(op.f("ix_red_flag_checks_patient_id"), "red_flag_checks", ["patient_id"])


def downgrade():
    op.drop_index(op.f("ix_red_flag_checks_patient_id"), table_name="red_flag_checks")
    op.drop_index(op.f("ix_red_flag_checks_appointment_id"), table_name="red_flag_checks")
    op.drop_table("red_flag_checks")
    op.drop_index("ix_treatment_consents_patient_treatment", table_name="treatment_consents")
    op.drop_table("treatment_consents")
    op.drop_index("ix_intake_forms_patient_submitted", table_name="intake_forms")
    op.drop_table("intake_forms")
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("practitioners_read_all_records")
