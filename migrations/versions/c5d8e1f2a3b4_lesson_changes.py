"""Changes of single lessons: reason, time of change, room change and move origin

Revision ID: c5d8e1f2a3b4
Revises: b41c7e2d9a10
Create Date: 2026-12-05 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5d8e1f2a3b4'
down_revision = 'b41c7e2d9a10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('changed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column('room_changed', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column('moved_from_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('moved_from_number', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.drop_column('moved_from_number')
        batch_op.drop_column('moved_from_date')
        batch_op.drop_column('room_changed')
        batch_op.drop_column('changed_at')
        batch_op.drop_column('change_reason')
