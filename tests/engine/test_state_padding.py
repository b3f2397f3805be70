"""On SQLite a dossier's workflow state is stored padded with blanks to a size class
(engine.store.records.StateText), so that a step changing it by a few bytes rewrites its row in
place instead of freeing its overflow page and taking one again; every reader gets the state as
it was dumped."""

from __future__ import annotations

import json
import sqlite3

from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from engine.services import dossiers
from engine.services.runtime import Runtime
from engine.store.records import STATE_SIZE_CLASS
from engine.store.records import DossierRecord
from engine.store.records import StateText
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import started_five_steps


def test_the_state_is_stored_padded_and_read_as_dumped(sqlite_database, clock):
    rt = Runtime(db=sqlite_database, clock=clock, worker_id="test-worker")
    dossier_id = started_five_steps(rt)
    dossiers.complete_work_item(rt, _open_step(rt, dossier_id), RECEPTION, {})

    with sqlite_database.engine.connect() as conn:
        stored = conn.execute(text("SELECT state FROM dossier WHERE id = :id"), {"id": dossier_id}).scalar_one()
    with sqlite_database.session() as s:
        read = s.get(DossierRecord, dossier_id).state
    assert len(stored.encode()) % STATE_SIZE_CLASS == 0
    assert stored != read and stored.rstrip(" ") == read and read.endswith("}")
    assert json.loads(stored) == json.loads(read)


def test_the_kept_workflow_is_handed_to_the_next_step(sqlite_database, clock):
    """The run cache compares the state it kept (as dumped) with the one read from the row."""
    rt = Runtime(db=sqlite_database, clock=clock, worker_id="test-worker")
    dossier_id = started_five_steps(rt)
    dossiers.complete_work_item(rt, _open_step(rt, dossier_id), RECEPTION, {})
    hits = rt.runs.hits
    dossiers.complete_work_item(rt, _open_step(rt, dossier_id), SPECIALIST, {"hop_le": True})
    assert rt.runs.hits == hits + 1


def test_postgresql_stores_the_state_as_it_is():
    dialect = postgresql.dialect()
    assert StateText().bind_processor(dialect) is None
    assert StateText().result_processor(dialect, None) is None


def test_sqlite_rewrites_a_record_of_the_same_size_in_place(tmp_path):
    """What the padding relies on, in SQLite itself: an UPDATE keeping an overflowing record's
    size writes its pages again where they are; one changing its size frees the overflow page
    and takes one again (the database's first page and a freelist page written besides)."""
    conn = sqlite3.connect(tmp_path / "scratch.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")
    conn.execute("INSERT INTO t VALUES (1, :s)", {"s": "a" * 6000})

    def frames_of(state: str) -> int:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("UPDATE t SET state = :s WHERE id = 1", {"s": state})
        return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]

    same_size = frames_of("b" * 6000)
    other_size = frames_of("c" * 6001)
    conn.close()
    assert same_size < other_size


def _open_step(rt: Runtime, dossier_id: int) -> int:
    with rt.db.session() as s:
        return s.scalar(
            select(WorkItemRecord.id).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state != "completed"
            )
        )
