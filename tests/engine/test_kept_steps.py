"""A step followed by template code, created by this process, runs that code on the rows this
process wrote before taking SQLite's write lock (engine.services.kept_steps): one write instead of
a lock given back, and the same outcomes when the rows moved elsewhere meanwhile or the code fails."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from engine.domain.errors import ConflictError
from engine.domain.errors import ExpressionError
from engine.services import dossiers
from engine.services import scripting
from engine.services.runtime import Runtime
from engine.store.database import Database
from engine.store.records import DossierRecord
from tests.factories import RECEPTION
from tests.hostile.script_fixtures import deploy_with_reception_script
from tests.hostile.script_fixtures import open_items
from tests.hostile.script_fixtures import start


@pytest.fixture
def counted_runs(monkeypatch) -> list[int]:
    """Each run of the template's `counted()` helper."""
    runs: list[int] = []
    helpers_for = scripting.helpers_for
    monkeypatch.setattr(
        scripting,
        "helpers_for",
        lambda calendar, clock: {**helpers_for(calendar, clock), "counted": lambda: runs.append(1)},
    )
    return runs


def _rollbacks(rt: Runtime) -> list[int]:
    found: list[int] = []
    event.listen(rt.db.engine, "rollback", lambda _connection: found.append(1))
    return found


def test_a_step_followed_by_code_is_completed_in_one_write(runtime, counted_runs):
    dossier = start(runtime, deploy_with_reception_script(runtime, "counted()"))
    [item] = open_items(runtime, dossier.id)
    rollbacks = _rollbacks(runtime)

    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})

    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["tham_dinh"]
    assert len(counted_runs) == 1
    assert rollbacks == []  # no write lock taken and given back before the code ran


def test_a_step_another_desk_completed_meanwhile_is_refused_once_completed(runtime, counted_runs):
    dossier = start(runtime, deploy_with_reception_script(runtime, "counted()"))
    [item] = open_items(runtime, dossier.id)
    other_db = Database(runtime.db.url)
    try:
        dossiers.complete_work_item(
            Runtime(db=other_db, clock=runtime.clock, worker_id="other"), item.id, RECEPTION, {}
        )
    finally:
        other_db.dispose()

    with pytest.raises(ConflictError, match="already completed"):
        dossiers.complete_work_item(runtime, item.id, RECEPTION, {})

    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["tham_dinh"]


def test_a_step_whose_dossier_moved_elsewhere_runs_its_code_again_on_what_is_saved(runtime, clock, counted_runs):
    dossier = start(runtime, deploy_with_reception_script(runtime, "counted()"))
    [item] = open_items(runtime, dossier.id)
    other_db = Database(runtime.db.url)
    try:
        with other_db.session() as s:  # another process moves the dossier (a timer, a message)
            moved = s.get(DossierRecord, dossier.id)
            moved.version += 1
    finally:
        other_db.dispose()

    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})

    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["tham_dinh"]
    expected = 2 if runtime.db.engine.dialect.name == "sqlite" else 1  # on the kept rows, then on the saved
    assert len(counted_runs) == expected


def test_code_failing_on_the_kept_rows_is_refused_having_run_once(runtime, counted_runs):
    dossier = start(runtime, deploy_with_reception_script(runtime, "counted()\nx = 1 / 0"))
    [item] = open_items(runtime, dossier.id)

    with pytest.raises(ExpressionError) as refused:
        dossiers.complete_work_item(runtime, item.id, RECEPTION, {})

    assert refused.value.element_id == "tiep_nhan"
    assert len(counted_runs) == 1
    assert [i.id for i in open_items(runtime, dossier.id)] == [item.id]
