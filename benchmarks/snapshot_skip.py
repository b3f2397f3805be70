"""What skipping SQLite's read-snapshot pass saves when a change runs no template code.

On SQLite a completion that runs template code first runs on a read snapshot, outside the write
lock (engine.services.dossiers); engine.bpmn.scripted tells which completions do. This measures,
in one run on one SQLite file and interleaved dossier by dossier, the five_steps template's
completions with that knowledge ("skip") and with every completion taking the snapshot as before
("always", the baseline): the steps after which no code runs (du_thao, ky_duyet, tra_ket_qua)
should be faster by the snapshot's cost, the others unchanged.
Prints a summary, then one JSON object as the last line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC
from datetime import datetime
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # this folder's calendar.py would shadow the standard library

from sqlalchemy import select  # noqa: E402

from engine.bpmn import scripted  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.domain.assignment import Actor  # noqa: E402
from engine.services import definitions  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.records import UnitRecord  # noqa: E402
from engine.store.records import WorkItemRecord  # noqa: E402

MODEL = ROOT / "tests" / "bpmn" / "five_steps.bpmn"
DOSSIERS = int(os.environ.get("BENCH_DOSSIERS", "200"))
STEPS = ["tiep_nhan", "tham_dinh", "du_thao", "ky_duyet", "tra_ket_qua"]
ANSWERS = [{}, {"hop_le": True}, {}, {}, {}]
ACTOR = Actor("bench", frozenset({"mot_cua", "chuyen_vien", "lanh_dao"}), "00070")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class AlwaysCode:
    """The baseline: every change is taken to run code, so every completion takes the snapshot."""

    def __getattr__(self, _name):
        return lambda *_args: True


def main() -> None:
    latencies = {mode: {step: [] for step in STEPS} for mode in ("skip", "always")}
    snapshots = {"skip": 0, "always": 0}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.sqlite3")
        migrate.upgrade(db.engine)
        rt = Runtime(db=db, clock=FrozenClock(START), worker_id="bench")
        with db.session() as s:
            s.add(UnitRecord(code="01", name="Hà Nội", kind="province", parent_code=None, agency_code="01"))
            s.flush()
            s.add(UnitRecord(code="00070", name="Hoàn Kiếm", kind="commune", parent_code="01", agency_code="01.00070"))
        definition = definitions.deploy(rt, {"five_steps.bpmn": MODEL.read_bytes()})
        read_session = db.read_session
        for n in range(DOSSIERS * 2):
            mode = "skip" if n % 2 == 0 else "always"
            dossier = dossiers.start_dossier(
                rt, definition_id=definition.id, unit_code="00070", applicant_name=f"Công dân {n}", actor=ACTOR
            )
            for step, answer in zip(STEPS, ANSWERS):
                with db.session() as s:
                    item_id = s.scalar(
                        select(WorkItemRecord.id).where(
                            WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state == "open"
                        )
                    )

                def counted_read_session(mode=mode):
                    snapshots[mode] += 1
                    return read_session()

                with ExitStack() as patches:
                    patches.enter_context(mock.patch.object(db, "read_session", counted_read_session))
                    if mode == "always":
                        patches.enter_context(mock.patch.object(scripted, "paths_of", lambda _b: AlwaysCode()))
                    t0 = time.perf_counter()
                    dossiers.complete_work_item(rt, item_id, ACTOR, answer)
                    latencies[mode][step].append(time.perf_counter() - t0)
        db.dispose()

    result = {
        "benchmark": "snapshot_skip",
        "dossiers_per_mode": DOSSIERS,
        "model": MODEL.name,
        "snapshots_per_dossier": {m: round(snapshots[m] / DOSSIERS, 2) for m in snapshots},
    }
    for mode in latencies:
        result[mode] = {step: round(statistics.median(v) * 1000, 3) for step, v in latencies[mode].items()}
    codeless = STEPS[2:]
    skip = statistics.median([x for step in codeless for x in latencies["skip"][step]])
    always = statistics.median([x for step in codeless for x in latencies["always"][step]])
    result["codeless_step_median_ms"] = {"skip": round(skip * 1000, 3), "always": round(always * 1000, 3)}
    result["saved_ms_per_codeless_step"] = round((always - skip) * 1000, 3)
    result["ratio_skip_vs_always"] = round(skip / always, 3)
    for mode in ("skip", "always"):
        print(
            f"{mode:7} "
            + "  ".join(f"{s} {result[mode][s]:6.2f} ms" for s in STEPS)
            + f"   snapshots/dossier {result['snapshots_per_dossier'][mode]}"
        )
    print(
        f"steps after which no code runs: {result['codeless_step_median_ms']['skip']} ms with the skip, "
        f"{result['codeless_step_median_ms']['always']} ms always snapshotting "
        f"(saves {result['saved_ms_per_codeless_step']} ms, ratio {result['ratio_skip_vs_always']})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
