"""Login state (failures, lock, forced password change) and class teachers' logins setting

Revision ID: b7c1d2e3f4a5
Revises: 5f13835307f7
Create Date: 2026-12-05 13:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c1d2e3f4a5'
down_revision = '5f13835307f7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_state',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('failed_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('failures_since', sa.DateTime(), nullable=True),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.add_column(sa.Column('class_teachers_manage_logins', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.drop_column('class_teachers_manage_logins')

    op.drop_table('login_state')
