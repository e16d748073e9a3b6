"""Certificates of attendance, their requests and register, and transferred marks

Revision ID: e2b3c4d5f6a7
Revises: d1a2b3c4e5f6
Create Date: 2026-12-05 17:05:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2b3c4d5f6a7'
down_revision = 'd1a2b3c4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('issued_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('register_number', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('purpose', sa.String(length=255), nullable=True),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('class_name', sa.String(length=20), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('copies BETWEEN 1 AND 10', name='ck_certificate_copies'),
    sa.ForeignKeyConstraint(['issued_by_id'], ['ab_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['year_id'], ['academic_year.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('school_id', 'year_id', 'register_number', name='uq_certificate_number')
    )
    with op.batch_alter_table('issued_certificate', schema=None) as batch_op:
        batch_op.create_index('ix_issued_certificate_school_student', ['school_id', 'student_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_certificate_school_id'), ['school_id'], unique=False)

    op.create_table('certificate_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=255), nullable=True),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reject_reason', sa.String(length=500), nullable=True),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('new', 'ready', 'handed_over', 'rejected')", name='ck_certificate_request_status'),
    sa.CheckConstraint('copies BETWEEN 1 AND 10', name='ck_certificate_request_copies'),
    sa.ForeignKeyConstraint(['author_id'], ['ab_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['certificate_id'], ['issued_certificate.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('certificate_request', schema=None) as batch_op:
        batch_op.create_index('ix_certificate_request_school_status', ['school_id', 'status'], unique=False)
        batch_op.create_index('ix_certificate_request_school_student', ['school_id', 'student_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_request_school_id'), ['school_id'], unique=False)

    op.create_table('transferred_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('source_school', sa.String(length=255), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('value >= 1', name='ck_transferred_mark_value'),
    sa.CheckConstraint('weight >= 0', name='ck_transferred_mark_weight'),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entered_by_id'], ['ab_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transferred_mark', schema=None) as batch_op:
        batch_op.create_index('ix_transferred_mark_school_course', ['school_id', 'course_id', 'student_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transferred_mark_school_id'), ['school_id'], unique=False)


def downgrade():
    with op.batch_alter_table('transferred_mark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transferred_mark_school_id'))
        batch_op.drop_index('ix_transferred_mark_school_course')
    op.drop_table('transferred_mark')

    with op.batch_alter_table('certificate_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_request_school_id'))
        batch_op.drop_index('ix_certificate_request_school_student')
        batch_op.drop_index('ix_certificate_request_school_status')
    op.drop_table('certificate_request')

    with op.batch_alter_table('issued_certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_certificate_school_id'))
        batch_op.drop_index('ix_issued_certificate_school_student')
    op.drop_table('issued_certificate')
