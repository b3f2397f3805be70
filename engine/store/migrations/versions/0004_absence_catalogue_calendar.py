"""standing delegation, catalogue, calendar settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 11:18:02.899933
"""
from alembic import op
import sqlalchemy as sa



revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('procedure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('field_code', sa.String(length=40), nullable=True),
    sa.Column('field_name', sa.String(length=300), nullable=True),
    sa.Column('field_search', sa.String(length=300), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('legal_limit_days', sa.Float(), nullable=True),
    sa.Column('clock_cutoff', sa.String(length=5), nullable=True),
    sa.Column('clock_rule', sa.Text(), nullable=True),
    sa.Column('fees', sa.JSON(), nullable=False),
    sa.Column('required_documents', sa.JSON(), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.JSON(), nullable=False),
    sa.Column('online_service_level', sa.String(length=20), nullable=True),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('assumptions', sa.JSON(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure')),
    sa.UniqueConstraint('key', name=op.f('uq_procedure_key'))
    )
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_procedure_field_code'), ['field_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_procedure_field_search'), ['field_search'], unique=False)
        batch_op.create_index(batch_op.f('ix_procedure_level'), ['level'], unique=False)

    op.create_table('absence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('substitute', sa.String(length=80), nullable=False),
    sa.Column('unit_code', sa.String(length=16), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('procedure_key', sa.String(length=120), nullable=True),
    sa.Column('role', sa.String(length=120), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['substitute'], ['app_user.username'], name=op.f('fk_absence_substitute_app_user')),
    sa.ForeignKeyConstraint(['unit_code'], ['unit.code'], name=op.f('fk_absence_unit_code_unit')),
    sa.ForeignKeyConstraint(['username'], ['app_user.username'], name=op.f('fk_absence_username_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absence'))
    )
    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_absence_substitute'), ['substitute'], unique=False)
        batch_op.create_index('ix_absence_user_dates', ['username', 'date_from', 'date_to'], unique=False)

    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_code', sa.String(length=16), nullable=True))
        batch_op.alter_column('periods',
               existing_type=sa.VARCHAR(length=120),
               type_=sa.Text(),
               existing_nullable=True)

    with op.batch_alter_table('calendar_override', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_calendar_override_calendar_code_calendar'), 'calendar', ['calendar_code'], ['code'])




def downgrade() -> None:

    with op.batch_alter_table('calendar_override', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_calendar_override_calendar_code_calendar'), type_='foreignkey')

    with op.batch_alter_table('calendar', schema=None) as batch_op:
        batch_op.alter_column('periods',
               existing_type=sa.Text(),
               type_=sa.VARCHAR(length=120),
               existing_nullable=True)
        batch_op.drop_column('parent_code')

    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.drop_index('ix_absence_user_dates')
        batch_op.drop_index(batch_op.f('ix_absence_substitute'))

    op.drop_table('absence')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_level'))
        batch_op.drop_index(batch_op.f('ix_procedure_field_search'))
        batch_op.drop_index(batch_op.f('ix_procedure_field_code'))
        batch_op.drop_index(batch_op.f('ix_procedure_code'))

    op.drop_table('procedure')

