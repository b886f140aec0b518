"""The waiting list: entries, the times offered to them, and two clinic settings

Revision ID: 5e2a9c7d41b3
Revises: b36e1fce2052
Create Date: 2026-12-07 05:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5e2a9c7d41b3'
down_revision = 'b36e1fce2052'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waiting_list_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('session_type_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=True),
    sa.Column('weekdays', sa.String(length=7), nullable=False),
    sa.Column('parts_of_day', sa.String(length=3), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('waiting', 'booked', 'removed', 'ended')", name=op.f('ck_waiting_list_entries_status_known')),
    sa.CheckConstraint("source in ('online', 'staff', 'course_plan')", name=op.f('ck_waiting_list_entries_source_known')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_waiting_list_entries_patient_id_patients')),
    sa.ForeignKeyConstraint(['session_type_id'], ['session_types.id'], name=op.f('fk_waiting_list_entries_session_type_id_session_types')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_waiting_list_entries_practitioner_id_practitioners')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_waiting_list_entries_appointment_id_appointments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiting_list_entries')),
    sa.UniqueConstraint('uid', name=op.f('uq_waiting_list_entries_uid'))
    )
    with op.batch_alter_table('waiting_list_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waiting_list_entries_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_waiting_list_entries_status', ['status', 'created_at'], unique=False)

    op.create_table('waiting_list_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('open', 'claimed', 'gone', 'expired', 'withdrawn')", name=op.f('ck_waiting_list_offers_status_known')),
    sa.ForeignKeyConstraint(['entry_id'], ['waiting_list_entries.id'], name=op.f('fk_waiting_list_offers_entry_id_waiting_list_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_waiting_list_offers_practitioner_id_practitioners')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_waiting_list_offers_staff_user_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiting_list_offers')),
    sa.UniqueConstraint('uid', name=op.f('uq_waiting_list_offers_uid')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_waiting_list_offers_dedupe_key'))
    )
    with op.batch_alter_table('waiting_list_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waiting_list_offers_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_waiting_list_offers_open', ['status', 'starts_at'], unique=False)

    with op.batch_alter_table('clinic_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_list_offer_minutes', sa.Integer(), nullable=False, server_default='120'))
        batch_op.add_column(sa.Column('waiting_list_courses_first', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_check_constraint(op.f('ck_clinic_settings_offer_minutes_range'), 'waiting_list_offer_minutes between 10 and 2880')


def downgrade():
    with op.batch_alter_table('clinic_settings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clinic_settings_offer_minutes_range'), type_='check')
        batch_op.drop_column('waiting_list_courses_first')
        batch_op.drop_column('waiting_list_offer_minutes')
    op.drop_table('waiting_list_offers')
    op.drop_table('waiting_list_entries')
