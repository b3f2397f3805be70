"""catalogue on the web: forms of a procedure, retired entries and the history of each entry

Adds procedure.forms (the mẫu đơn / tờ khai a procedure uses), procedure.retired_at (a retired
entry stays readable but gets no new template) and procedure_change, the append-only history of
who created, changed, retired or restored an entry, and what changed.

Revision ID: 0017
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('procedure') as batch_op:
        batch_op.add_column(sa.Column('forms', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'procedure_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('procedure_key', sa.String(length=120), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_change')),
    )
    with op.batch_alter_table('procedure_change') as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_change_procedure_key'), ['procedure_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('procedure_change') as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_change_procedure_key'))
    op.drop_table('procedure_change')
    with op.batch_alter_table('procedure') as batch_op:
        batch_op.drop_column('retired_at')
        batch_op.drop_column('forms')
