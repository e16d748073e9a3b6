"""Record who saved a timetable line despite conflicts, and when

Revision ID: c7e5a1f3d2b8
Revises: c5d8e1f2a3b4
Create Date: 2026-12-05 17:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7e5a1f3d2b8'
down_revision = 'c5d8e1f2a3b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('timetable_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('override_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('override_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('override_note', sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            'fk_timetable_entry_override_by_id_ab_user',
            'ab_user',
            ['override_by_id'],
            ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('timetable_entry', schema=None) as batch_op:
        batch_op.drop_constraint('fk_timetable_entry_override_by_id_ab_user', type_='foreignkey')
        batch_op.drop_column('override_note')
        batch_op.drop_column('override_at')
        batch_op.drop_column('override_by_id')
