"""tamper-evident audit: hash chain per dossier (audit_event.chain_hash, audit_chain heads) and
triggers refusing UPDATE and DELETE on audit_event

Existing events get their hashes here, in id order per dossier, so every chain starts at the
dossier's first event.

Revision ID: 0009
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

from engine.domain.audit_chain import FIELDS
from engine.domain.audit_chain import NO_DOSSIER
from engine.domain.audit_chain import ChainHead
from engine.store.records import UTCDateTime

revision = '0009'
down_revision = '0010'
branch_labels = None
depends_on = None

REFUSAL = "audit_event is append-only"

_EVENTS = sa.table(
    'audit_event', sa.column('id', sa.Integer), sa.column('dossier_id', sa.Integer),
    sa.column('work_item_id', sa.Integer), sa.column('at', UTCDateTime()), sa.column('action', sa.String),
    sa.column('actor', sa.String), sa.column('on_behalf_of', sa.String), sa.column('giver', sa.String),
    sa.column('receiver', sa.String), sa.column('element_id', sa.String), sa.column('detail', sa.JSON),
    sa.column('chain_hash', sa.String))


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), nullable=True))
    chains = op.create_table(
        'audit_chain',
        sa.Column('chain_key', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.Column('length', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('chain_key', name=op.f('pk_audit_chain')),
    )
    _hash_existing_events(chains)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{REFUSAL}: % refused on event %', TG_OP, OLD.id
                    USING ERRCODE = 'insufficient_privilege';
            END $$""")
        op.execute("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
    else:
        for operation in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_event_append_only_{operation.lower()} BEFORE {operation} "
                       f"ON audit_event BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {operation} refused'); END")


def _hash_existing_events(chains) -> None:
    bind = op.get_bind()
    key_of = sa.func.coalesce(_EVENTS.c.dossier_id, NO_DOSSIER)
    rows = bind.execute(sa.select(key_of, _EVENTS.c.id, *[_EVENTS.c[name] for name in FIELDS])
                        .order_by(key_of, _EVENTS.c.id)).all()
    heads: dict[int, ChainHead] = {}
    hashes = []
    for key, event_id, *values in rows:
        heads[key], event_hash = heads.get(key, ChainHead()).after(dict(zip(FIELDS, values)))
        hashes.append({"event_id": event_id, "event_hash": event_hash})
    if hashes:
        bind.execute(_EVENTS.update().where(_EVENTS.c.id == sa.bindparam("event_id"))
                     .values(chain_hash=sa.bindparam("event_hash")), hashes)
        op.bulk_insert(chains, [{"chain_key": key, "last_hash": head.last_hash, "length": head.length}
                                for key, head in heads.items()])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER audit_event_append_only_update")
        op.execute("DROP TRIGGER audit_event_append_only_delete")
    op.drop_table('audit_chain')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('chain_hash')
