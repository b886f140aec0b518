"""Numbered documents: invoices, receipts and credit notes as issued; VAT settings; attachments

A counter row per kind of document, taken FOR UPDATE by the unit of work that issues
one, so numbers run without gaps; the documents themselves with their lines, copied as
at issue; the clinic's VAT number and rate (none: exempt); files sent with an outbox
message (a document's PDF).

Revision ID: 184f41c94e1c
Revises: 937e43decc31
Create Date: 2026-12-07 05:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "184f41c94e1c"
down_revision = "937e43decc31"
branch_labels = None
depends_on = None

KINDS = "kind in ('invoice', 'receipt', 'credit_note')"


def upgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(sa.Column("vat_number", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("vat_rate_basis_points", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_clinic_settings_vat_number_with_rate"),
            "(vat_number is null) = (vat_rate_basis_points is null)",
        )
        batch.create_check_constraint(
            op.f("ck_clinic_settings_vat_rate_range"),
            "vat_rate_basis_points is null or vat_rate_basis_points between 1 and 10000",
        )

    op.create_table(
        "document_counters",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f("ck_document_counters_kind_known")),
        sa.CheckConstraint(
            "last_number >= 0", name=op.f("ck_document_counters_last_number_not_negative")
        ),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_document_counters")),
    )

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("original_id", sa.Integer(), nullable=True),
        sa.Column("clinic_name", sa.String(length=120), nullable=False),
        sa.Column("clinic_address", sa.String(length=300), nullable=False),
        sa.Column("clinic_phone", sa.String(length=40), nullable=False),
        sa.Column("clinic_email", sa.String(length=254), nullable=False),
        sa.Column("vat_number", sa.String(length=20), nullable=True),
        sa.Column("vat_rate_basis_points", sa.Integer(), nullable=True),
        sa.Column("practitioner_name", sa.String(length=120), nullable=False),
        sa.Column("practitioner_body", sa.String(length=120), nullable=False),
        sa.Column("practitioner_registration", sa.String(length=60), nullable=False),
        sa.Column("patient_name", sa.String(length=120), nullable=False),
        sa.Column("patient_address", sa.Text(), nullable=False),
        sa.Column("patient_date_of_birth", sa.Date(), nullable=True),
        sa.Column("insurer", sa.String(length=120), nullable=False),
        sa.Column("membership_number", sa.String(length=60), nullable=False),
        sa.Column("authorisation_code", sa.String(length=60), nullable=False),
        sa.Column("net_pence", sa.Integer(), nullable=False),
        sa.Column("vat_pence", sa.Integer(), nullable=False),
        sa.Column("gross_pence", sa.Integer(), nullable=False),
        sa.Column("paid_pence", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=60), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.CheckConstraint(KINDS, name=op.f("ck_documents_kind_known")),
        sa.CheckConstraint("number > 0", name=op.f("ck_documents_number_positive")),
        sa.CheckConstraint("net_pence >= 0", name=op.f("ck_documents_net_not_negative")),
        sa.CheckConstraint("vat_pence >= 0", name=op.f("ck_documents_vat_not_negative")),
        sa.CheckConstraint(
            "gross_pence = net_pence + vat_pence", name=op.f("ck_documents_gross_is_net_plus_vat")
        ),
        sa.CheckConstraint("paid_pence >= 0", name=op.f("ck_documents_paid_not_negative")),
        sa.CheckConstraint(
            "vat_rate_basis_points is null or vat_rate_basis_points between 0 and 10000",
            name=op.f("ck_documents_vat_rate_range"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["staff_users.id"],
            name=op.f("fk_documents_issued_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_documents_patient_id_patients"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_documents_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_documents_course_id_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["documents.id"],
            name=op.f("fk_documents_original_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("kind", "number", name=op.f("uq_documents_kind")),
        sa.UniqueConstraint("reference", name=op.f("uq_documents_reference")),
    )
    for column in ("patient_id", "appointment_id", "course_id", "original_id"):
        op.create_index(op.f(f"ix_documents_{column}"), "documents", [column])

    op.create_table(
        "document_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("treatment_on", sa.Date(), nullable=True),
        sa.Column("practitioner_name", sa.String(length=120), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_pence >= 0", name=op.f("ck_document_lines_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_lines_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_lines")),
        sa.UniqueConstraint("document_id", "position", name=op.f("uq_document_lines_document_id")),
    )

    op.create_table(
        "outbox_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_messages.id"],
            name=op.f("fk_outbox_attachments_message_id_outbox_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_attachments")),
    )
    op.create_index(op.f("ix_outbox_attachments_message_id"), "outbox_attachments", ["message_id"])


def downgrade():
    op.drop_index(op.f("ix_outbox_attachments_message_id"), table_name="outbox_attachments")
    op.drop_table("outbox_attachments")
    op.drop_table("document_lines")
    for column in ("patient_id", "appointment_id", "course_id", "original_id"):
        op.drop_index(op.f(f"ix_documents_{column}"), table_name="documents")
    op.drop_table("documents")
    op.drop_table("document_counters")
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_constraint(op.f("ck_clinic_settings_vat_rate_range"), type_="check")
        batch.drop_constraint(op.f("ck_clinic_settings_vat_number_with_rate"), type_="check")
        batch.drop_column("vat_rate_basis_points")
        batch.drop_column("vat_number")
