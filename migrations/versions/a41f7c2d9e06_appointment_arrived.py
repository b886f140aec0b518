"""An appointment may be "arrived": the patient is in the waiting room

The CHECK on appointments.status gains the new value, on both backends. The exclusion
constraint that keeps a practitioner's live appointments apart already counts every
status but cancelled, so an arrived appointment keeps its time.

Revision ID: a41f7c2d9e06
Revises: 5d2e9b7a41c3
Create Date: 2026-12-07 05:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a41f7c2d9e06'
down_revision = '5d2e9b7a41c3'
branch_labels = None
depends_on = None

WITH_ARRIVED = "status in ('booked', 'arrived', 'attended', 'no_show', 'cancelled')"
WITHOUT_ARRIVED = "status in ('booked', 'attended', 'no_show', 'cancelled')"


def _check(condition):
    with op.batch_alter_table('appointments') as batch:
        batch.drop_constraint(op.f('ck_appointments_status_known'), type_='check')
        batch.create_check_constraint(op.f('ck_appointments_status_known'), condition)


def upgrade():
    _check(WITH_ARRIVED)


def downgrade():
    # An arrived patient's visit goes back to booked: attendance was not yet recorded.
    op.execute("UPDATE appointments SET status = 'booked' WHERE status = 'arrived'")
    _check(WITHOUT_ARRIVED)
