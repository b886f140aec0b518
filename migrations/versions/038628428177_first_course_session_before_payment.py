"""A clinic setting: a new patient may book the first session of a course before paying

Off by default, so a requested course books nothing until it is paid, as before.

Revision ID: 038628428177
Revises: e1886b806158
Create Date: 2026-12-07 06:25:00

"""
from alembic import op
import sqlalchemy as sa


revision = "038628428177"
down_revision = "e1886b806158"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("clinic_settings") as batch_op:
        batch_op.add_column(
            sa.Column(
                "first_course_session_before_payment",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade():
    with op.batch_alter_table("clinic_settings") as batch_op:
        batch_op.drop_column("first_course_session_before_payment")
