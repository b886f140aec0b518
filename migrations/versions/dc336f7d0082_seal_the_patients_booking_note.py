"""Seal the patient's booking note (appointments.patient_note) like the clinical record

The note a patient types when booking ("where the pain is, since when") is health data.
It is now sealed with CLINICAL_RECORD_KEYS by the application (EncryptedText, stored as
text, so the column's type does not change); this migration seals the notes already
there, and the downgrade opens them again. It needs the same keys as the site: run it
where CLINICAL_RECORD_KEYS is set.

Revision ID: dc336f7d0082
Revises: 9dfd7ea5ea7f
Create Date: 2026-12-07 06:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = "dc336f7d0082"
down_revision = "9dfd7ea5ea7f"
branch_labels = None
depends_on = None

BATCH = 500


def _rewrite(change):
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.text(
                "SELECT id, patient_note FROM appointments WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        for identity, note in rows:
            connection.execute(
                sa.text("UPDATE appointments SET patient_note = :note WHERE id = :id"),
                {"note": change(note or ""), "id": identity},
            )
        last = rows[-1][0]


def upgrade():
    from booking.encryption import seal_text

    _rewrite(seal_text)


def downgrade():
    from booking.encryption import open_text

    _rewrite(open_text)
