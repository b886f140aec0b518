"""Treatment notes, their amendments and templates; outcomes across a course; the
mid-course review; clinical records kept until their retention period ends

Clinical content is sealed (EncryptedText stores Fernet tokens in a text column).

Revision ID: 5d2e9b7a41c3
Revises: 5e2a9c7d41b3
Create Date: 2026-12-07 05:20:00

"""

from alembic import op
import sqlalchemy as sa


revision = "5d2e9b7a41c3"
down_revision = "5e2a9c7d41b3"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def _fk(table, column, target, ondelete=None):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(
            sa.Column("clinical_retention_years", sa.Integer(), nullable=False, server_default="8")
        )
        batch.create_check_constraint(
            op.f("ck_clinic_settings_retention_range"),
            "clinical_retention_years between 1 and 100",
        )

    op.create_table(
        "note_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_type_id", sa.Integer(), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("advice", sa.Text(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        _fk("note_templates", "session_type_id", "session_types", "CASCADE"),
        _fk("note_templates", "updated_by_id", "staff_users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_templates")),
        sa.UniqueConstraint("session_type_id", name=op.f("uq_note_templates_session_type_id")),
    )

    sealed = [
        "subjective",
        "objective",
        "assessment",
        "plan",
        "points",
        "needle_count",
        "cupping_sites",
        "massage_areas",
        "advice",
    ]
    op.create_table(
        "treatment_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Text(), nullable=False) for name in sealed],
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", WHEN, nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status in ('draft', 'signed')", name=op.f("ck_treatment_notes_status_known")
        ),
        _fk("treatment_notes", "appointment_id", "appointments"),
        _fk("treatment_notes", "patient_id", "patients"),
        _fk("treatment_notes", "practitioner_id", "practitioners"),
        _fk("treatment_notes", "created_by_id", "staff_users", "SET NULL"),
        _fk("treatment_notes", "signed_by_id", "staff_users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_notes")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_treatment_notes_appointment_id")),
    )
    op.create_index(op.f("ix_treatment_notes_patient_id"), "treatment_notes", ["patient_id"])

    op.create_table(
        "note_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        _fk("note_amendments", "note_id", "treatment_notes", "CASCADE"),
        _fk("note_amendments", "author_id", "staff_users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_amendments")),
    )
    op.create_index(op.f("ix_note_amendments_note_id"), "note_amendments", ["note_id"])

    op.create_table(
        "outcome_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("checkpoint", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("recorded_at", WHEN, nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "checkpoint in ('first', 'middle', 'last')",
            name=op.f("ck_outcome_records_checkpoint_known"),
        ),
        sa.CheckConstraint(
            "method in ('online', 'desk')", name=op.f("ck_outcome_records_method_known")
        ),
        _fk("outcome_records", "course_id", "courses"),
        _fk("outcome_records", "patient_id", "patients"),
        _fk("outcome_records", "appointment_id", "appointments"),
        _fk("outcome_records", "recorded_by_id", "staff_users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_records")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_outcome_records_appointment_id")),
        sa.UniqueConstraint(
            "course_id", "checkpoint", name=op.f("uq_outcome_records_one_per_checkpoint")
        ),
    )
    op.create_index(op.f("ix_outcome_records_course_id"), "outcome_records", ["course_id"])
    op.create_index(op.f("ix_outcome_records_patient_id"), "outcome_records", ["patient_id"])

    op.create_table(
        "course_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("refundable_credits", sa.Integer(), nullable=False),
        sa.Column("refundable_pence", sa.Integer(), nullable=False),
        sa.Column("decided_at", WHEN, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "decision in ('continue', 'change_plan', 'stop')",
            name=op.f("ck_course_reviews_decision_known"),
        ),
        _fk("course_reviews", "course_id", "courses"),
        _fk("course_reviews", "patient_id", "patients"),
        _fk("course_reviews", "appointment_id", "appointments", "SET NULL"),
        _fk("course_reviews", "decided_by_id", "staff_users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_reviews")),
        sa.UniqueConstraint("course_id", name=op.f("uq_course_reviews_course_id")),
    )
    op.create_index(op.f("ix_course_reviews_patient_id"), "course_reviews", ["patient_id"])

    op.create_table(
        "clinical_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("last_treatment_at", WHEN, nullable=True),
        sa.Column("erase_after", WHEN, nullable=False),
        sa.Column("erased_at", WHEN, nullable=True),
        sa.Column("kept_identity", sa.Text(), nullable=True),
        _fk("clinical_erasures", "patient_id", "patients"),
        _fk("clinical_erasures", "requested_by_id", "staff_users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_erasures")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_clinical_erasures_patient_id")),
    )
    op.create_index(op.f("ix_clinical_erasures_erase_after"), "clinical_erasures", ["erase_after"])


def downgrade():
    op.drop_table("clinical_erasures")
    op.drop_table("course_reviews")
    op.drop_table("outcome_records")
    op.drop_table("note_amendments")
    op.drop_table("treatment_notes")
    op.drop_table("note_templates")
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_constraint(op.f("ck_clinic_settings_retention_range"), type_="check")
        batch.drop_column("clinical_retention_years")
