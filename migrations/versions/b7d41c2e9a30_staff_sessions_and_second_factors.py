"""Staff sessions on the server, sign-in failure counts, second factors

Sign-ins and reads of patients' records go to their own access log. Sessions end when signed out, when idle or too old (two new clinic settings), and when
the account's password, role or active flag changes. The second factors (authenticator
app, passkeys, recovery codes) and which roles must use one are stored here too.

Revision ID: b7d41c2e9a30
Revises: 8359a553bc8f
Create Date: 2026-12-01 20:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d41c2e9a30'
down_revision = '8359a553bc8f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=40), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('account_version', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.CheckConstraint("stage in ('second_factor', 'enrol', 'signed_in')", name=op.f('ck_staff_sessions_stage_known')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_sessions_staff_user_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_sessions_token_hash'))
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_staff_user_id'), ['staff_user_id'], unique=False)

    op.create_table('sign_in_failures',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_failures'))
    )

    op.create_table('totp_factors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_step', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_totp_factors_staff_user_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totp_factors')),
    sa.UniqueConstraint('staff_user_id', name=op.f('uq_totp_factors_staff_user_id'))
    )

    op.create_table('passkeys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.LargeBinary(length=1024), nullable=False),
    sa.Column('public_key', sa.LargeBinary(length=2048), nullable=False),
    sa.Column('sign_count', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_passkeys_staff_user_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkeys')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_passkeys_credential_id'))
    )
    with op.batch_alter_table('passkeys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkeys_staff_user_id'), ['staff_user_id'], unique=False)

    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_recovery_codes_staff_user_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_codes_code_hash'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_staff_user_id'), ['staff_user_id'], unique=False)

    op.create_table('access_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_access_events_staff_user_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_events'))
    )
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_events_staff_user_id'), ['staff_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_events_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_events_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('clinic_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_idle_timeout_minutes', sa.Integer(), nullable=False, server_default='30'))
        batch_op.add_column(sa.Column('staff_session_lifetime_hours', sa.Integer(), nullable=False, server_default='12'))
        batch_op.add_column(sa.Column('second_factor_roles', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('passkey_only_sign_in', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_check_constraint(op.f('ck_clinic_settings_idle_timeout_range'), 'staff_idle_timeout_minutes between 5 and 720')
        batch_op.create_check_constraint(op.f('ck_clinic_settings_session_lifetime_range'), 'staff_session_lifetime_hours between 1 and 168')


def downgrade():
    with op.batch_alter_table('clinic_settings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clinic_settings_session_lifetime_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_clinic_settings_idle_timeout_range'), type_='check')
        batch_op.drop_column('passkey_only_sign_in')
        batch_op.drop_column('second_factor_roles')
        batch_op.drop_column('staff_session_lifetime_hours')
        batch_op.drop_column('staff_idle_timeout_minutes')
    op.drop_table('access_events')
    op.drop_table('recovery_codes')
    op.drop_table('passkeys')
    op.drop_table('totp_factors')
    op.drop_table('sign_in_failures')
    op.drop_table('staff_sessions')
