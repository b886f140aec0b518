"""Patients' search text: name, email and phone folded for accent- and space-blind search

Filled here for the patients already on file, with the same folding the application
applies on every insert and update (copied, as a migration must stand on its own).

Revision ID: e83b5d0c7f21
Revises: 6023c759caea
Create Date: 2026-12-07 05:50:00

"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e83b5d0c7f21'
down_revision = '6023c759caea'
branch_labels = None
depends_on = None


def _searchable(text):
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^a-z0-9@.]", "", plain.replace("ß", "ss"))


def _search_text(name, email, phone):
    digits = re.sub(r"\D", "", phone or "")
    return f"{_searchable(name)}|{_searchable(email)}|{digits}"[:420]


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.String(length=420), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_patients_search_text'), ['search_text'], unique=False)
    patients = sa.table(
        'patients',
        sa.column('id', sa.Integer),
        sa.column('name', sa.String),
        sa.column('email', sa.String),
        sa.column('phone', sa.String),
        sa.column('search_text', sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(patients.c.id, patients.c.name, patients.c.email, patients.c.phone)).all()
    for row in rows:
        connection.execute(
            patients.update()
            .where(patients.c.id == row.id)
            .values(search_text=_search_text(row.name, row.email, row.phone))
        )


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_search_text'))
        batch_op.drop_column('search_text')
