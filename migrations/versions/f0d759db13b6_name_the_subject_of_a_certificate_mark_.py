"""Name the subject of a certificate mark in the journal audit

Revision ID: f0d759db13b6
Revises: 87cd21d7c47a
Create Date: 2026-12-05 06:33:59.541615

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f0d759db13b6'
down_revision = '87cd21d7c47a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('journal_audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('journal_audit', schema=None) as batch_op:
        batch_op.drop_column('subject_id')
