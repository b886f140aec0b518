"""A staff session's role is one of the roles (admin, receptionist, practitioner), checked

The column copies the account's role when the session begins (a changed role ends it);
it was the one stored Role the database did not check, as it does staff_users.role.

Revision ID: e5d9a2c7b813
Revises: b41e7f3a9c25
Create Date: 2026-12-07 09:15:00

"""
from alembic import op

revision = "e5d9a2c7b813"
down_revision = "b41e7f3a9c25"
branch_labels = None
depends_on = None


def upgrade():
    # staff_sessions is referenced by no other table, so SQLite's rebuild is safe.
    with op.batch_alter_table("staff_sessions") as batch:
        batch.create_check_constraint(
            op.f("ck_staff_sessions_role_known"),
            "role in ('admin', 'receptionist', 'practitioner')",
        )


def downgrade():
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_constraint(op.f("ck_staff_sessions_role_known"), type_="check")
