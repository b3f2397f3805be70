"""variants

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:44:28.150141
"""
from alembic import op
import sqlalchemy as sa



revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('variant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_key', sa.String(length=120), nullable=False),
    sa.Column('unit_code', sa.String(length=16), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], name=op.f('fk_variant_definition_id_process_definition')),
    sa.ForeignKeyConstraint(['unit_code'], ['unit.code'], name=op.f('fk_variant_unit_code_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variant')),
    sa.UniqueConstraint('template_key', 'unit_code', name=op.f('uq_variant_template_key'))
    )
    with op.batch_alter_table('variant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_variant_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_variant_template_key'), ['template_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_variant_unit_code'), ['unit_code'], unique=False)

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variant_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overrides', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_dossier_variant_id'), ['variant_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_dossier_variant_id_variant'), 'variant', ['variant_id'], ['id'])




def downgrade() -> None:

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dossier_variant_id_variant'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_dossier_variant_id'))
        batch_op.drop_column('overrides')
        batch_op.drop_column('variant_id')

    with op.batch_alter_table('variant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variant_unit_code'))
        batch_op.drop_index(batch_op.f('ix_variant_template_key'))
        batch_op.drop_index(batch_op.f('ix_variant_definition_id'))

    op.drop_table('variant')

