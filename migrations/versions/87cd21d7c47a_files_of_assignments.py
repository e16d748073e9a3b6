"""Files of assignments

Revision ID: 87cd21d7c47a
Revises: 4a3ee9c3d370
Create Date: 2026-12-05 01:38:39.741450

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '87cd21d7c47a'
down_revision = '4a3ee9c3d370'
branch_labels = None
depends_on = None


OLD_OWNER_RULE = "(message_id IS NULL) <> (announcement_id IS NULL)"
NEW_OWNER_RULE = (
    "(CASE WHEN message_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN announcement_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN assignment_id IS NULL THEN 0 ELSE 1 END) = 1"
)


def upgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignment_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachment_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_attachment_assignment_id', 'assignment', ['assignment_id'], ['id'], ondelete='CASCADE'
        )
        batch_op.drop_constraint('ck_attachment_owner', type_='check')
        batch_op.create_check_constraint('ck_attachment_owner', NEW_OWNER_RULE)


def downgrade():
    op.execute("DELETE FROM attachment WHERE assignment_id IS NOT NULL")
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_constraint('ck_attachment_owner', type_='check')
        batch_op.create_check_constraint('ck_attachment_owner', OLD_OWNER_RULE)
        batch_op.drop_constraint('fk_attachment_assignment_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachment_assignment_id'))
        batch_op.drop_column('assignment_id')
