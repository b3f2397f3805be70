"""What an Idempotency-Key costs an API change, and what a replay costs (issue 19/12: one
mechanism, the key written in the change's own transaction).

On SQLite, BENCH_DOSSIERS dossiers (default 100) of the five-step fixture are started and taken
through their first step (start, claim, complete: three transactions each) through
engine.services.idempotency.once, in two variants interleaved over BENCH_ROUNDS rounds (default
3, the median kept) after a warm-up:

* unkeyed (the baseline): no key, as a client that sends none;
* keyed: each change with its own key (one more row written in each change's transaction);

then the keyed run's requests are all sent again (replayed: a primary-key read, no change).

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
from engine.services import idempotency  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store.records import DossierRecord  # noqa: E402
from engine.store.records import WorkItemRecord  # noqa: E402
from tests.factories import RECEPTION  # noqa: E402
from tests.factories import deploy_fixture  # noqa: E402

DOSSIERS = int(os.environ.get("BENCH_DOSSIERS", "100"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def _request(keyed: bool, n: int, action: str):
    return idempotency.Request.of("mot_cua_1", f"{action}-{n}", {"n": n, "action": action}) if keyed else None


def _first_item(rt: Runtime, dossier_id: int) -> int:
    with rt.db.read_session() as s:
        return s.scalars(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier_id)).first()


def run(rt: Runtime, definition_id: int, keyed: bool) -> tuple[float, int]:
    """Seconds for the changes, and how many answers were replays."""
    replays, started = 0, time.perf_counter()
    for n in range(DOSSIERS):
        start = idempotency.once(
            rt,
            _request(keyed, n, "start"),
            lambda keep, n=n: dossiers.start_dossier(
                rt,
                definition_id=definition_id,
                unit_code="00070",
                applicant_name=f"Nguyễn Văn {n}",
                actor=RECEPTION,
                answer=keep(201, lambda s, d: {"id": d.id}),
            ),
        )
        item = _first_item(rt, start.body["id"])
        claim = idempotency.once(
            rt,
            _request(keyed, n, "claim"),
            lambda keep, item=item: dossiers.claim_work_item(
                rt, item, RECEPTION, answer=keep(200, lambda s, i: {"id": i.id})
            ),
        )
        done = idempotency.once(
            rt,
            _request(keyed, n, "complete"),
            lambda keep, item=item: dossiers.complete_work_item(
                rt, item, RECEPTION, {}, answer=keep(200, lambda s, d: {"id": d.id})
            ),
        )
        replays += start.replayed + claim.replayed + done.replayed
    return time.perf_counter() - started, replays


def variant(folder: Path, name: str, keyed: bool) -> dict:
    rt = scratch_db.sqlite_runtime(folder, name)
    definition = deploy_fixture(rt, "five_steps")
    seconds, _ = run(rt, definition.id, keyed)
    result = {"seconds": round(seconds, 3), "ms_per_dossier": round(seconds * 1000 / DOSSIERS, 2)}
    if keyed:
        again, replays = run(rt, definition.id, keyed)
        with rt.db.read_session() as s:
            started = s.scalar(select(func.count()).select_from(DossierRecord))
        result.update(
            replay_seconds=round(again, 3),
            replay_ms_per_dossier=round(again * 1000 / DOSSIERS, 2),
            replays=replays,
            dossiers_started=started,
        )
    rt.db.dispose()
    return result


def main() -> None:
    runs: dict[str, list[dict]] = {"unkeyed": [], "keyed": []}
    with tempfile.TemporaryDirectory() as folder:
        variant(Path(folder), "warm-up", keyed=True)  # parses, imports, caches
        for round_ in range(ROUNDS):  # interleaved, so a busy moment of the machine hits both
            for name in runs:
                runs[name].append(variant(Path(folder), f"{name}-{round_}", keyed=name == "keyed"))
    results = {name: sorted(found, key=lambda r: r["seconds"])[len(found) // 2] for name, found in runs.items()}
    keyed, base = results["keyed"], results["unkeyed"]["seconds"]
    print(f"unkeyed  {results['unkeyed']['ms_per_dossier']:8.2f} ms per dossier (start + claim + complete)")
    print(
        f"keyed    {keyed['ms_per_dossier']:8.2f} ms per dossier; sent again: {keyed['replay_ms_per_dossier']:.2f} ms, "
        f"{keyed['replays']} replays, {keyed['dossiers_started']} dossiers started"
    )
    print(
        json.dumps(
            {
                "dossiers": DOSSIERS,
                **results,
                "ratio_keyed_vs_unkeyed": round(keyed["seconds"] / base, 3),
                "ratio_replayed_vs_unkeyed": round(keyed["replay_seconds"] / base, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
