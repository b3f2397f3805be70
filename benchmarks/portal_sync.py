"""What the portal sync costs a dossier change (issue 15, item 1): the listener that finds the
dossiers a transaction changed and, for a province connected to the portal, builds each event's
payload and queues it in the same transaction.

On SQLite, BENCH_DOSSIERS dossiers (default 100) of the five-step fixture are started and taken
through their first step (start, claim, complete: three transactions each) in three variants,
interleaved over BENCH_ROUNDS rounds (default 3, the median kept) after a warm-up:

* baseline: the listener removed (as before this change);
* unconnected: the listener on, the province without portal settings (what every installation
  not using the portal pays);
* connected: the province connected (each change queues its portal message).

Prints per-variant timings, then one JSON object as the last line (ratios against the baseline)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # calendar.py here would shadow the stdlib

from sqlalchemy import func  # noqa: E402
from sqlalchemy import select  # noqa: E402

from benchmarks import scratch_db  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.services import portal_admin  # noqa: E402
from engine.services import portal_sync  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import portal_changes  # noqa: E402
from engine.store.records import OutboxRecord  # noqa: E402
from engine.store.records import WorkItemRecord  # noqa: E402
from tests.factories import RECEPTION  # noqa: E402
from tests.factories import deploy_fixture  # noqa: E402

DOSSIERS = int(os.environ.get("BENCH_DOSSIERS", "100"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def run(rt: Runtime, definition_id: int) -> float:
    started = time.perf_counter()
    for n in range(DOSSIERS):
        dossier = dossiers.start_dossier(
            rt, definition_id=definition_id, unit_code="00070", applicant_name=f"Nguyễn Văn {n}", actor=RECEPTION
        )
        with rt.db.read_session() as s:
            item = s.scalars(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier.id)).first()
        dossiers.claim_work_item(rt, item, RECEPTION)
        dossiers.complete_work_item(rt, item, RECEPTION, {})
    return time.perf_counter() - started


def variant(folder: Path, name: str, *, listener: bool, connected: bool) -> dict:
    rt = scratch_db.sqlite_runtime(folder, name)
    definition = deploy_fixture(rt, "five_steps")
    if connected:
        portal_admin.configure(rt, "01", endpoint="http://127.0.0.1:9", token="t")
    saved = list(portal_changes._listeners)
    if not listener:
        portal_changes._listeners.clear()
    try:
        seconds = run(rt, definition.id)
    finally:
        portal_changes._listeners[:] = saved
    with rt.db.read_session() as s:
        queued = s.scalar(
            select(func.count()).select_from(OutboxRecord).where(OutboxRecord.channel == portal_sync.CHANNEL)
        )
    rt.db.dispose()
    return {
        "seconds": round(seconds, 3),
        "ms_per_dossier": round(seconds * 1000 / DOSSIERS, 2),
        "portal_messages": queued,
    }


VARIANTS = (("baseline", False, False), ("unconnected", True, False), ("connected", True, True))


def main() -> None:
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in VARIANTS}
    with tempfile.TemporaryDirectory() as folder:
        variant(Path(folder), "warm-up", listener=True, connected=True)  # parses, imports, caches
        for round_ in range(ROUNDS):  # interleaved, so a busy moment of the machine hits them all
            for name, listener, connected in VARIANTS:
                runs[name].append(variant(Path(folder), f"{name}-{round_}", listener=listener, connected=connected))
    results = {name: sorted(found, key=lambda r: r["seconds"])[len(found) // 2] for name, found in runs.items()}
    for name, result in results.items():
        print(
            f"{name:12} {result['ms_per_dossier']:8.2f} ms per dossier (start + claim + complete), "
            f"{result['portal_messages']} portal messages"
        )
    base = results["baseline"]["seconds"]
    print(
        json.dumps(
            {
                "dossiers": DOSSIERS,
                **results,
                "ratio_unconnected_vs_baseline": round(results["unconnected"]["seconds"] / base, 3),
                "ratio_connected_vs_baseline": round(results["connected"]["seconds"] / base, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
