"""Add the subject difficulty scale and mark classes for students with ОВЗ

Revision ID: d4a7c2e9b1f6
Revises: e2b3c4d5f6a7
Create Date: 2026-12-05 17:50:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d4a7c2e9b1f6"
down_revision = "e2b3c4d5f6a7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "subject_difficulty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_name", sa.String(length=150), nullable=False),
        sa.Column("grade_from", sa.Integer(), nullable=False),
        sa.Column("grade_to", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("grade_from <= grade_to", name="ck_subject_difficulty_grades"),
        sa.CheckConstraint(
            "grade_from >= 1 AND grade_to <= 11", name="ck_subject_difficulty_grade_range"
        ),
        sa.CheckConstraint("points >= 0", name="ck_subject_difficulty_points"),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "school_id", "subject_name", "grade_from", name="uq_subject_difficulty_grades"
        ),
    )
    with op.batch_alter_table("subject_difficulty", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subject_difficulty_school_id"), ["school_id"], unique=False
        )

    with op.batch_alter_table("school_class", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_special_needs", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("school_class", schema=None) as batch_op:
        batch_op.drop_column("is_special_needs")

    with op.batch_alter_table("subject_difficulty", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_difficulty_school_id"))

    op.drop_table("subject_difficulty")
