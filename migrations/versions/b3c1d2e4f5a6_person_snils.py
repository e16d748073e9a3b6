"""Insurance number (СНИЛС) of students, staff and guardians

Revision ID: b3c1d2e4f5a6
Revises: b6f6968ed332
Create Date: 2026-12-05 13:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3c1d2e4f5a6'
down_revision = 'b6f6968ed332'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snils', sa.String(length=14), nullable=True))
        batch_op.create_unique_constraint('uq_employee_snils', ['school_id', 'snils'])

    with op.batch_alter_table('guardian', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snils', sa.String(length=14), nullable=True))

    with op.batch_alter_table('student', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snils', sa.String(length=14), nullable=True))
        batch_op.create_unique_constraint('uq_student_snils', ['school_id', 'snils'])


def downgrade():
    with op.batch_alter_table('student', schema=None) as batch_op:
        batch_op.drop_constraint('uq_student_snils', type_='unique')
        batch_op.drop_column('snils')

    with op.batch_alter_table('guardian', schema=None) as batch_op:
        batch_op.drop_column('snils')

    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.drop_constraint('uq_employee_snils', type_='unique')
        batch_op.drop_column('snils')
