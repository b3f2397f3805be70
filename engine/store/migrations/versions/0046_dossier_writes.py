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

And ix_dossier_open_appointment (run_state, unit_code, appointment_at) goes: a full index, so every
dossier INSERT and UPDATE (none is heap-only) wrote an entry into it, one of about 17 per start and
per completion; it was the dossier's largest index (26 MB for 500,000 dossiers, the primary key
11 MB). The at-risk list left it for the open dossiers' partial indexes (migration 0035); the reads
that still used it (a version's dossiers to migrate, the forecasts asked again after a calendar
change, the open dossiers ahead) say `completed_at IS NULL`, which their open states imply, and
read ix_dossier_unfinished or ix_dossier_open_by_appointment instead, as fast or faster on
500,000 dossiers (EXPLAIN ANALYZE, the same rows).

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
OPEN_APPOINTMENT = "ix_dossier_open_appointment"
#: The two keys, as SQLite's CREATE statements write them.
KEYS = {
    "work_item": "CONSTRAINT fk_work_item_dossier_id_dossier FOREIGN KEY(dossier_id) REFERENCES dossier (id)",
    "audit_event": "CONSTRAINT fk_audit_event_dossier_id_dossier FOREIGN KEY(dossier_id) REFERENCES dossier (id)",
}


def upgrade() -> None:
    op.drop_index(OPEN_APPOINTMENT, table_name="dossier")
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
    op.create_index(OPEN_APPOINTMENT, "dossier", ["run_state", "unit_code", "appointment_at"])
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
