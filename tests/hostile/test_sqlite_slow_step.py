"""Attack (issue 12, item 5): a step whose script is slow held SQLite's database-wide write lock
while it ran, so every other user's change waited for it or failed with "database is locked"
(twelve 500s in the issue). Outcome: the step's scripts run on a read snapshot before the write
lock is taken; another desk, with its own connections as another process would have, starts a
dossier while the slow script is still running. PostgreSQL, which locks rows, is held to the same."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from engine.services import dossiers
from engine.services import scripting
from engine.services.runtime import Runtime
from engine.store.database import Database
from engine.store.records import DossierRecord
from tests.factories import RECEPTION
from tests.hostile.script_fixtures import deploy_with_reception_script
from tests.hostile.script_fixtures import open_items
from tests.hostile.script_fixtures import start

#: How long the slow script waits for the other desk before giving up (only reached on failure).
PATIENCE_SECONDS = 10.0


def test_another_desk_writes_while_a_slow_step_runs_its_script(runtime, monkeypatch):
    script_running, other_desk_done = threading.Event(), threading.Event()
    seen: dict = {}

    def hold():
        """The slow part of the script: it lasts until the other desk has written (or gives up)."""
        script_running.set()
        seen["other_desk_wrote_meanwhile"] = other_desk_done.wait(PATIENCE_SECONDS)

    helpers_for = scripting.helpers_for
    monkeypatch.setattr(
        scripting, "helpers_for", lambda calendar, clock: {**helpers_for(calendar, clock), "hold": hold}
    )
    definition = deploy_with_reception_script(runtime, "hold()\nda_kiem_tra = True")
    slow = start(runtime, definition)
    [item] = open_items(runtime, slow.id)

    def complete_slowly():
        try:
            dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
        except Exception as err:  # noqa: BLE001 - reported by the assertions below
            seen["slow_step_error"] = err

    slow_desk = threading.Thread(target=complete_slowly)
    slow_desk.start()
    assert script_running.wait(PATIENCE_SECONDS)

    other_db = Database(runtime.db.url)
    try:
        began = time.perf_counter()
        other = start(Runtime(db=other_db, clock=runtime.clock, worker_id="other-desk"), definition)
        took = time.perf_counter() - began
    finally:
        other_desk_done.set()
        other_db.dispose()
    slow_desk.join(PATIENCE_SECONDS * 2)

    assert seen.get("other_desk_wrote_meanwhile") is True
    assert took < PATIENCE_SECONDS / 2
    assert "slow_step_error" not in seen
    assert [i.element_id for i in open_items(runtime, slow.id)] == ["tham_dinh"]
    assert [i.element_id for i in open_items(runtime, other.id)] == ["tiep_nhan"]


def test_a_step_whose_dossier_moved_since_its_snapshot_is_run_again_on_the_new_state(runtime, monkeypatch):
    """The write re-checks the dossier's version: a timer or message that moved the dossier
    between the snapshot and the lock makes the step run again inside the write, on what is saved."""
    runs = []
    helpers_for = scripting.helpers_for
    monkeypatch.setattr(
        scripting,
        "helpers_for",
        lambda calendar, clock: {**helpers_for(calendar, clock), "counted": lambda: runs.append(1)},
    )
    dossier = start(runtime, deploy_with_reception_script(runtime, "counted()"))
    [item] = open_items(runtime, dossier.id)
    real = dossiers._ran_on_snapshot

    def snapshot_then_someone_writes(*args, **kwargs):
        taken = real(*args, **kwargs)
        with runtime.db.session() as s:  # the dossier changes after the snapshot was read
            s.get(DossierRecord, dossier.id).updated_at = runtime.clock.now() + timedelta(seconds=1)
        return taken

    monkeypatch.setattr(dossiers, "_ran_on_snapshot", snapshot_then_someone_writes)
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})

    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["tham_dinh"]
    expected = 2 if runtime.db.engine.dialect.name == "sqlite" else 1
    assert len(runs) == expected
