"""Student movement: enrollments with their admission, transfer and departure orders

Revision ID: b41c7e2d9a10
Revises: b3c1d2e4f5a6
Create Date: 2026-12-05 13:40:00.000000

Every student who has a class gets one backfilled admission to it, starting on the first
day of that class's school year, so that class lists at a date work for data entered before
movements were recorded. Such rows carry no order number and are marked ``is_backfilled``.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b41c7e2d9a10'
down_revision = 'b3c1d2e4f5a6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('enrollment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('start_kind', sa.String(length=20), nullable=False),
    sa.Column('start_order_number', sa.String(length=50), nullable=True),
    sa.Column('start_order_date', sa.Date(), nullable=True),
    sa.Column('arrived_from', sa.String(length=255), nullable=True),
    sa.Column('is_first_enrolment', sa.Boolean(), nullable=False),
    sa.Column('end_kind', sa.String(length=20), nullable=True),
    sa.Column('end_order_number', sa.String(length=50), nullable=True),
    sa.Column('end_order_date', sa.Date(), nullable=True),
    sa.Column('departed_to', sa.String(length=255), nullable=True),
    sa.Column('departure_reason', sa.String(length=255), nullable=True),
    sa.Column('is_backfilled', sa.Boolean(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('(end_date IS NULL) = (end_kind IS NULL)', name='ck_enrollment_end_has_kind'),
    sa.CheckConstraint("end_kind IS NULL OR end_kind IN ('transfer', 'departure')", name='ck_enrollment_end_kind'),
    sa.CheckConstraint('end_date IS NULL OR start_date < end_date', name='ck_enrollment_dates'),
    sa.CheckConstraint('is_backfilled OR start_order_number IS NOT NULL', name='ck_enrollment_start_order'),
    sa.CheckConstraint("start_kind IN ('admission', 'transfer')", name='ck_enrollment_start_kind'),
    sa.ForeignKeyConstraint(['class_id'], ['school_class.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.create_index('ix_enrollment_school_class', ['school_id', 'class_id', 'start_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrollment_school_id'), ['school_id'], unique=False)
        batch_op.create_index('ix_enrollment_school_student', ['school_id', 'student_id', 'start_date'], unique=False)

    _backfill_current_classes()


def _backfill_current_classes():
    """Admit every student who has a class to it from the first day of its school year.

    A student who has left (``is_active`` false) but kept a class is closed as departed on
    the last day of that year, the only date known for them.
    """
    student = sa.table(
        'student',
        sa.column('id', sa.Integer),
        sa.column('school_id', sa.Integer),
        sa.column('class_id', sa.Integer),
        sa.column('is_active', sa.Boolean),
    )
    school_class = sa.table('school_class', sa.column('id', sa.Integer), sa.column('year_id', sa.Integer))
    year = sa.table(
        'academic_year',
        sa.column('id', sa.Integer),
        sa.column('start_date', sa.Date),
        sa.column('end_date', sa.Date),
    )
    enrollment = sa.table(
        'enrollment',
        sa.column('school_id', sa.Integer),
        sa.column('student_id', sa.Integer),
        sa.column('class_id', sa.Integer),
        sa.column('start_date', sa.Date),
        sa.column('end_date', sa.Date),
        sa.column('start_kind', sa.String),
        sa.column('end_kind', sa.String),
        sa.column('is_first_enrolment', sa.Boolean),
        sa.column('is_backfilled', sa.Boolean),
    )
    left = sa.not_(student.c.is_active)
    rows = (
        sa.select(
            student.c.school_id,
            student.c.id,
            student.c.class_id,
            year.c.start_date,
            sa.case((left, year.c.end_date), else_=sa.null()),
            sa.literal('admission'),
            sa.case((left, sa.literal('departure')), else_=sa.null()),
            sa.false(),
            sa.true(),
        )
        .select_from(student)
        .join(school_class, school_class.c.id == student.c.class_id)
        .join(year, year.c.id == school_class.c.year_id)
    )
    op.execute(
        enrollment.insert().from_select(
            [
                'school_id',
                'student_id',
                'class_id',
                'start_date',
                'end_date',
                'start_kind',
                'end_kind',
                'is_first_enrolment',
                'is_backfilled',
            ],
            rows,
        )
    )


def downgrade():
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollment_school_student')
        batch_op.drop_index(batch_op.f('ix_enrollment_school_id'))
        batch_op.drop_index('ix_enrollment_school_class')

    op.drop_table('enrollment')
