"""Concurrent receptions on PostgreSQL: 4 desks (processes) starting dossiers in one commune
against 4 desks in 4 communes, measured in the same run. A dossier code's daily number is taken in
its own short transaction (engine.store.sequences), so one commune should start about as fast as
four; the baseline takes the number inside the start's transaction, as before, where the commune's
counter row stays locked until the start commits and one commune's desks queue behind each other.

BENCH_STARTS sets the starts per desk (default 150), BENCH_CLIENTS the desks (default 4).
Prints a summary, then one JSON object as the last line.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

# This folder holds calendar.py, which would shadow the standard library: put the project there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])


from benchmarks import scratch_db  # noqa: E402
from configurator.step_tables import build_bpmn  # noqa: E402
from engine.clock import SystemClock  # noqa: E402
from engine.domain.assignment import Actor  # noqa: E402
from engine.services import definitions  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store import queries  # noqa: E402
from engine.store.database import Database  # noqa: E402
from web import seed  # noqa: E402

STARTS = int(os.environ.get("BENCH_STARTS", "150"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
LIBRARY_TABLE = json.loads(
    (Path(__file__).resolve().parents[1] / "processes" / "dang_ky_khai_sinh" / "v1" / "steps.json").read_text(
        encoding="utf-8"
    )
)


def desk(url: str, definition_id: int, unit_code: str, number_in_start_transaction: bool, barrier, finished) -> None:
    """One reception desk: STARTS dossiers in a row; puts the instant it finished (perf_counter)."""
    db = Database(url)
    if number_in_start_transaction:
        db.__dict__["counter_engine"] = None  # the baseline: the number inside the start's transaction
    rt = Runtime(db=db, clock=SystemClock())
    actor = Actor(f"mot_cua_{unit_code}", frozenset({"mot_cua"}), unit_code)
    try:
        dossiers.start_dossier(
            rt,
            definition_id=definition_id,
            unit_code=unit_code,  # warm: parse, calendar
            applicant_name="Khởi động",
            actor=actor,
        )
    except BaseException:
        barrier.abort()  # the others stop waiting for this desk
        raise
    barrier.wait(timeout=120)
    for n in range(STARTS):
        dossiers.start_dossier(
            rt, definition_id=definition_id, unit_code=unit_code, applicant_name=f"Nguyễn Văn {n}", actor=actor
        )
    finished.put(time.perf_counter())
    db.dispose()


def starts_per_s(url: str, definition_id: int, units: list[str], number_in_start_transaction: bool = False) -> float:
    ctx = multiprocessing.get_context("spawn")
    barrier, finished = ctx.Barrier(len(units) + 1), ctx.Queue()
    desks = [
        ctx.Process(target=desk, args=(url, definition_id, unit, number_in_start_transaction, barrier, finished))
        for unit in units
    ]
    for process in desks:
        process.start()
    barrier.wait(timeout=120)
    t0 = time.perf_counter()
    last = max(finished.get(timeout=600) for _ in desks)
    for process in desks:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a desk failed (exit code {process.exitcode})")
    return len(units) * STARTS / (last - t0)


def postgres_url() -> str | None:
    return scratch_db.postgres_url("this benchmark needs it")


drop_database = scratch_db.drop_database


def main() -> None:
    result = {"benchmark": "starts", "clients": CLIENTS, "starts_per_client": STARTS}
    url = postgres_url()
    if url:
        db = Database(url)
        migrate.upgrade(db.engine)
        rt = Runtime(db=db, clock=SystemClock())
        seed.seed_units(rt)
        definition = definitions.deploy(rt, {"khai_sinh.bpmn": build_bpmn(LIBRARY_TABLE)})
        with db.read_session() as s:
            communes = queries.commune_codes(s, "01")[:CLIENTS]
        db.dispose()
        one, many = [communes[0]] * CLIENTS, communes
        four_communes = starts_per_s(url, definition.id, many)
        one_commune = starts_per_s(url, definition.id, one)
        held = starts_per_s(url, definition.id, one, number_in_start_transaction=True)
        result.update(
            {
                "one_commune_starts_per_s": round(one_commune, 1),
                "four_communes_starts_per_s": round(four_communes, 1),
                "ratio_one_vs_four_communes": round(one_commune / four_communes, 2),
                "baseline_one_commune_number_in_start_transaction_starts_per_s": round(held, 1),
                "ratio_one_commune_vs_baseline": round(one_commune / held, 2),
            }
        )
        print(
            f"{CLIENTS} desks x {STARTS} starts: one commune {one_commune:.1f}/s, {CLIENTS} communes "
            f"{four_communes:.1f}/s (ratio {one_commune / four_communes:.2f}); one commune with the number "
            f"taken inside the start's transaction (before) {held:.1f}/s"
        )
        drop_database(url)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
