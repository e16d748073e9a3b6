"""Add the documents of a student's personal file

Revision ID: b7e1f3a9c2d4
Revises: d4a7c2e9b1f6
Create Date: 2026-12-05 18:20:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b7e1f3a9c2d4"
down_revision = "d4a7c2e9b1f6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "student_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("series", sa.String(length=20), nullable=True),
        sa.Column("number", sa.String(length=30), nullable=True),
        sa.Column("issued_by", sa.String(length=300), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["student_id"], ["student.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("student_document", schema=None) as batch_op:
        batch_op.create_index(
            "ix_student_document_school_student", ["school_id", "student_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_student_document_school_id"), ["school_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("student_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_student_document_school_id"))
        batch_op.drop_index("ix_student_document_school_student")

    op.drop_table("student_document")
