"""a dossier is never deleted nor renumbered, refused by a trigger of its own, in place of the foreign
keys of the two tables written at every request: work_item.dossier_id and audit_event.dossier_id.

PostgreSQL checked each of those keys for every step and event inserted with a query of its own
that locks the dossier's row (FOR KEY SHARE): at a claim, which does not change the dossier, that
lock was the one write of its row (a heap LOCK record in the WAL and a dirtied page); at a
completion, one more lock of the row it had just updated. The keys kept what the trigger keeps: no
step or event names a dossier that is gone, since no dossier goes (none is deleted by any code
path, a restore only inserts) and every writer takes the id from the dossier its change writes.
The other tables that name a dossier (pauses, payments, attachments, messages...) are written
rarely and keep their keys.

The trigger fires on DELETE and on an UPDATE that sets the id, never on the updates the engine
writes (PostgreSQL and SQLite test an `UPDATE OF id` trigger's columns before running it).

Revision ID: 0046
Revises: 0045
"""

from alembic import op

from engine.store.sqlite_rebuild import rebuild_table

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

REFUSAL = "a dossier is kept with its steps and audit trail"
#: The two keys, as SQLite's CREATE statements write them.
KEYS = {
    "work_item": "CONSTRAINT fk_work_item_dossier_id_dossier FOREIGN KEY(dossier_id) REFERENCES dossier (id)",
    "audit_event": "CONSTRAINT fk_audit_event_dossier_id_dossier FOREIGN KEY(dossier_id) REFERENCES dossier (id)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, key in KEYS.items():
            rebuild_table(table, key, "")
        op.execute(
            f"CREATE TRIGGER dossier_kept_delete BEFORE DELETE ON dossier"
            f" BEGIN SELECT RAISE(ABORT, '{REFUSAL}: DELETE refused'); END"
        )
        op.execute(
            f"CREATE TRIGGER dossier_kept_id BEFORE UPDATE OF id ON dossier WHEN NEW.id IS NOT OLD.id"
            f" BEGIN SELECT RAISE(ABORT, '{REFUSAL}: UPDATE of its id refused'); END"
        )
        return
    op.execute(f"""
        CREATE FUNCTION dossier_kept() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION '{REFUSAL}: % of dossier % refused', TG_OP, OLD.id
                USING ERRCODE = 'restrict_violation';
        END $$""")
    op.execute(
        "CREATE TRIGGER dossier_kept BEFORE DELETE OR UPDATE OF id ON dossier FOR EACH ROW EXECUTE FUNCTION dossier_kept()"
    )
    for table in KEYS:
        op.drop_constraint(f"fk_{table}_dossier_id_dossier", table, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER dossier_kept_delete")
        op.execute("DROP TRIGGER dossier_kept_id")
        for table, key in KEYS.items():
            rebuild_table(table, "", key)
        return
    for table in KEYS:
        op.create_foreign_key(f"fk_{table}_dossier_id_dossier", table, "dossier", ["dossier_id"], ["id"])
    op.execute("DROP TRIGGER dossier_kept ON dossier")
    op.execute("DROP FUNCTION dossier_kept()")
