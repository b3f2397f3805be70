"""Engine overhead over bare SpiffWorkflow, on the same model (5 user tasks, an exclusive
gateway, a non-interrupting boundary timer).

(a) bare SpiffWorkflow in memory: one request = deserialize + complete one task + serialize,
    with SpiffWorkflow's own serializer (the state carries the spec, as SpiffWorkflow does by default);
(a') the same with the engine's spec-less state format (engine.bpmn.serializer): what of the engine's
    time is SpiffWorkflow's, so that (b) - (a') is the cost of the database, work items and audit;
(b) the engine's complete-work-item use case on a SQLite file (transaction, work items, audit);
(c) the same on PostgreSQL when MOTCUA_BENCH_POSTGRES_URL / MOTCUA_TEST_POSTGRES_URL is reachable;
(d) what keeping the dashboard's daily rollups in the change's transaction costs in (b) and (c):
    their share of the starts' and completions' time (`rollups_share_pct`), and the officers' KPI
    row each completed step adds (`kpi_share_pct`; on PostgreSQL its upsert runs inside the
    statement that writes the change's rows, engine.store.change_rows, so there the share is only
    the Python that queues it);
(e) per completion on each database: round trips (statements, BEGIN, COMMIT), this process's CPU
    and PostgreSQL's backends' CPU. On SQLite the round trips are counted in short runs of their
    own (`COUNTED_DOSSIERS`, warm and cold): the counter is a listener on every statement and
    commit (about 37 Python calls a completion) that a served process runs only with COUNT_SQL,
    and the bare runs have none, so the timed runs (b), (f) and (g) go without it. PostgreSQL's
    run (c) still counts in its timed completions;
(f) (b) again with no workflow kept in memory between changes (engine.bpmn.run_cache; here every
    change finds the one its dossier's last change kept, a process serving many clerks less
    often): `sqlite_cold` and `ratio_engine_vs_bare_specless_cold`;
(g) where a completion's CPU goes, like for like with (a'), in a run of its own (`sqlite_parts`,
    `postgres_parts`): SpiffWorkflow's part inside the engine (loading or resuming the workflow,
    completing the step with the engine steps after it, dumping the state with its size check)
    against the same three parts of (a'), the database driver's part (executing the statements
    and committing: on SQLite the database's own work, in this process; for the statements run
    on the driver's cursor, their parameters' and rows' conversions too), and the rest (the
    engine's Python and SQLAlchemy's); `ratio_ceiling_cpu` is the CPU ratio (a') would reach
    against (b) if the rest cost nothing.
SpiffWorkflow's loggers run at the level every motcua process sets (engine.logs.set_spiff_level:
WARNING), in every part, bare runs included: left unset, the library builds richer log extras
on every task's state change and walks the whole tree when a workflow completes, which served
requests, the worker and the CLI never do.
Prints a summary, then one JSON object as the last line.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
# This folder holds calendar.py, which would shadow the standard library: put the project there instead.
sys.path[0] = str(ROOT)

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks import scratch_db  # noqa: E402
from engine import logs  # noqa: E402
from engine.bpmn import runner  # noqa: E402
from engine.bpmn import serializer as state_format  # noqa: E402
from engine.bpmn.parser import SpecBundle  # noqa: E402
from engine.bpmn.run_cache import RunCache  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.domain.assignment import Actor  # noqa: E402
from engine.services import definitions  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store import officer_rollups  # noqa: E402
from engine.store import rollups  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.driver_reads import DriverStatement  # noqa: E402
from engine.store.records import UnitRecord  # noqa: E402
from engine.store.records import WorkItemRecord  # noqa: E402

MODEL = ROOT / "tests" / "bpmn" / "five_steps.bpmn"
DOSSIERS = int(os.environ.get("BENCH_DOSSIERS", "200"))
#: The dossiers of the SQLite runs that count round trips, apart from the timed ones (e).
COUNTED_DOSSIERS = 20
ANSWERS = [{}, {"hop_le": True}, {}, {}, {}]
ACTOR = Actor("bench", frozenset({"mot_cua", "chuyen_vien", "lanh_dao"}), "00070")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def summarise(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "per_s": round(len(ordered) / sum(ordered), 1),
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
    }


def bare(specless: bool = False, dossiers: int = 0) -> dict:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(MODEL))
    spec, subs = parser.get_spec("five_steps"), parser.get_subprocess_specs("five_steps")
    helpers = {"add_working_hours": lambda start, hours: (datetime.now(UTC) + timedelta(hours=hours)).isoformat()}
    engine = PythonScriptEngine(environment=TaskDataEnvironment(helpers))
    if specless:
        bundle = SpecBundle(digest="", process_id="five_steps", spec=spec, subprocess_specs=subs, policies={})
        dump, load = state_format.dump_state, (lambda text: state_format.load_state(text, bundle))
    else:
        serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        dump, load = serializer.serialize_json, serializer.deserialize_json
    starts, completes = [], []
    cpu = 0.0
    parts = dict.fromkeys(SPIFF_PARTS, 0.0)
    for _ in range(dossiers or DOSSIERS):
        t0 = time.perf_counter()
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        wf.do_engine_steps()
        state = dump(wf)
        starts.append(time.perf_counter() - t0)
        for answer in ANSWERS:
            c0, t0 = time.process_time(), time.perf_counter()
            wf = load(state)
            wf.script_engine = engine
            c1 = time.process_time()
            task = wf.get_next_task(state=TaskState.READY, manual=True)
            task.data.update(answer)
            task.run()
            wf.do_engine_steps()
            c2 = time.process_time()
            state = dump(wf)
            completes.append(time.perf_counter() - t0)
            c3 = time.process_time()
            cpu += c3 - c0
            for part, seconds in zip(SPIFF_PARTS, (c1 - c0, c2 - c1, c3 - c2), strict=True):
                parts[part] += seconds
    return {
        "complete": summarise(completes),
        "start": summarise(starts),
        "cpu_ms_per_completion": round(1000 * cpu / len(completes), 3),
        "spiff_cpu_ms_per_completion": {part: round(1000 * s / len(completes), 3) for part, s in parts.items()},
    }


#: SpiffWorkflow's parts of a completion, in the bare run and inside the engine alike.
SPIFF_PARTS = ("load", "complete", "dump")


class BackendCpu:
    """CPU time PostgreSQL's backends of this database spent (from /proc: server and benchmark
    share the machine); zero on SQLite, whose work runs in this process and is counted there."""

    def __init__(self, db: Database):
        self.pids: list[int] = []
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                self.pids = list(conn.exec_driver_sql(query).scalars())

    def seconds(self) -> float:
        ticks = 0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


def engine_run(url: str, *, keep_runs: bool = True, count_trips: bool = True, dossiers_run: int = 0) -> dict:
    """Starts and completions through the engine's use cases (`dossiers_run` dossiers, else
    DOSSIERS); per completion, besides its time: the process's CPU, the database backends' CPU
    (PostgreSQL) and, with `count_trips`, the round trips (statements, BEGIN and COMMIT) it cost
    (None without)."""
    db = Database(url)
    migrate.upgrade(db.engine)
    trips = [0]
    if count_trips:
        db.on_round_trip(lambda: trips.__setitem__(0, trips[0] + 1))
    rt = Runtime(db=db, clock=FrozenClock(START), worker_id="bench")
    if not keep_runs:
        rt.runs = RunCache(size=0)
    with db.session() as s:
        s.add(UnitRecord(code="01", name="Hà Nội", kind="province", parent_code=None, agency_code="01"))
        s.flush()
        s.add(UnitRecord(code="00070", name="Hoàn Kiếm", kind="commune", parent_code="01", agency_code="01.00070"))
    definition = definitions.deploy(rt, {"five_steps.bpmn": MODEL.read_bytes()})
    starts, completes = [], []
    cpu = backend_cpu = 0.0
    statements = 0
    backend: BackendCpu | None = None
    for n in range(dossiers_run or DOSSIERS):
        t0 = time.perf_counter()
        dossier = dossiers.start_dossier(
            rt, definition_id=definition.id, unit_code="00070", applicant_name=f"Công dân {n}", actor=ACTOR
        )
        starts.append(time.perf_counter() - t0)
        if backend is None:  # the pool's connections exist once a dossier has started
            backend = BackendCpu(db)
        for answer in ANSWERS:
            with db.session() as s:
                item_id = s.scalar(
                    select(WorkItemRecord.id).where(
                        WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state == "open"
                    )
                )
            trips_before, backend_before = trips[0], backend.seconds()
            c0, t0 = time.process_time(), time.perf_counter()
            dossiers.complete_work_item(rt, item_id, ACTOR, answer)
            completes.append(time.perf_counter() - t0)
            cpu += time.process_time() - c0
            backend_cpu += backend.seconds() - backend_before
            statements += trips[0] - trips_before
    db.dispose()
    count = len(completes)
    return {
        "complete": summarise(completes),
        "start": summarise(starts),
        "statements_per_completion": round(statements / count, 2) if count_trips else None,
        "cpu_ms_per_completion": round(1000 * cpu / count, 3),
        "backend_cpu_ms_per_completion": round(1000 * backend_cpu / count, 3),
        "run_cache_hits": rt.runs.hits,
    }


class RollupTimer:
    """Time spent keeping the dashboard's daily rollups inside starts and completions (the
    engine's own calls wrapped): their share of the write path, measured in the same run, which
    the machine's load cannot skew the way two separate runs' difference would."""

    def __init__(self):
        self.seconds = {"start": 0.0, "complete": 0.0, "kpi": 0.0}

    def run(self, url: str, *, count_trips: bool = True) -> dict:
        def timed(fn, op):
            def wrapper(*args):
                t0 = time.perf_counter()
                fn(*args)
                self.seconds[op] += time.perf_counter() - t0

            return wrapper

        with (
            mock.patch.object(rollups, "record_received", timed(rollups.record_received, "start")),
            mock.patch.object(rollups, "record_closed", timed(rollups.record_closed, "complete")),
            mock.patch.object(
                officer_rollups, "record_step_completed", timed(officer_rollups.record_step_completed, "kpi")
            ),
        ):
            found = engine_run(url, count_trips=count_trips)
        counts = {"start": DOSSIERS, "complete": DOSSIERS * len(ANSWERS)}
        found["rollups_share_pct"] = {
            op: round(100 * self.seconds[op] / (counts[op] / found[op]["per_s"]), 2) for op in counts
        }
        # The officers' KPI row of every completed step.
        found["kpi_share_pct"] = round(100 * self.seconds["kpi"] / (counts["complete"] / found["complete"]["per_s"]), 2)
        return found


class PartsTimer:
    """CPU of a completion's parts, timed inside the engine's completions only (the engine's own
    calls wrapped): SpiffWorkflow's (the workflow loaded or resumed from memory, the step
    completed, the state dumped with its size check: what (a') does), the database driver's
    (statements and commits) and the rest. A run of its own: the wrappers cost a little."""

    def __init__(self):
        self.seconds = dict.fromkeys((*SPIFF_PARTS, "driver", "total"), 0.0)
        self.inside = False

    def timed(self, fn, part):
        def wrapper(*args, **kwargs):
            if not self.inside:
                return fn(*args, **kwargs)
            c0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[part] += time.process_time() - c0

        return wrapper

    def completion(self, fn):
        def wrapper(*args, **kwargs):
            self.inside, c0 = True, time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds["total"] += time.process_time() - c0
                self.inside = False

        return wrapper

    def run(self, url: str, bare_parts: dict) -> dict:
        dialect = make_url(url).get_dialect()  # the class whose methods the driver's calls go through
        with contextlib.ExitStack() as patches:
            for target, name, part in (
                (runner, "load", "load"),
                (runner, "resume", "load"),
                (runner.Run, "complete", "complete"),
                (runner.Run, "dump", "dump"),
                (dialect, "do_execute", "driver"),
                (dialect, "do_execute_no_params", "driver"),
                (dialect, "do_commit", "driver"),
                # Statements run on the driver's cursor (engine.store.driver_writes and
                # driver_reads): their parameters' and rows' conversions are counted with them.
                (DriverStatement, "_run", "driver"),
                (DriverStatement, "_run_many", "driver"),
            ):
                patches.enter_context(mock.patch.object(target, name, self.timed(getattr(target, name), part)))
            patches.enter_context(
                mock.patch.object(dossiers, "complete_work_item", self.completion(dossiers.complete_work_item))
            )
            engine_run(url, count_trips=False)
        count = DOSSIERS * len(ANSWERS)
        ms = {part: round(1000 * seconds / count, 3) for part, seconds in self.seconds.items()}
        spiff = sum(ms[part] for part in SPIFF_PARTS)
        floor = spiff + ms["driver"]
        return {
            "cpu_ms_per_completion": ms["total"],
            "spiff_cpu_ms_per_completion": {part: ms[part] for part in SPIFF_PARTS},
            # Like for like: the engine mostly resumes the workflow it kept (no load), so its
            # complete and dump are set against the bare run's.
            "spiff_vs_bare": {part: round(ms[part] / bare_parts[part], 3) for part in ("complete", "dump")},
            "driver_cpu_ms_per_completion": ms["driver"],
            "rest_cpu_ms_per_completion": round(ms["total"] - floor, 3),
            "ratio_ceiling_cpu": round(sum(bare_parts.values()) / floor, 3),
        }


def postgres_url() -> str | None:
    return scratch_db.postgres_url("skipping (c)")


def main() -> None:
    logs.set_spiff_level()
    result = {"benchmark": "engine", "dossiers": DOSSIERS, "model": MODEL.name, "load_average": os.getloadavg()}
    result["bare"] = bare()
    result["bare_specless"] = bare(specless=True)
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = RollupTimer().run(f"sqlite:///{tmp}/bench.sqlite3", count_trips=False)
        result["sqlite_cold"] = engine_run(f"sqlite:///{tmp}/cold.sqlite3", keep_runs=False, count_trips=False)
        for name, keep_runs in (("sqlite", True), ("sqlite_cold", False)):
            counted = engine_run(
                f"sqlite:///{tmp}/{name}_counted.sqlite3", keep_runs=keep_runs, dossiers_run=COUNTED_DOSSIERS
            )
            result[name]["statements_per_completion"] = counted["statements_per_completion"]
        bare_parts = result["bare_specless"]["spiff_cpu_ms_per_completion"]
        result["sqlite_parts"] = PartsTimer().run(f"sqlite:///{tmp}/parts.sqlite3", bare_parts)
    pg = postgres_url()
    if pg:
        try:
            result["postgres"] = RollupTimer().run(pg)
        finally:
            scratch_db.drop_database(pg)
        pg = postgres_url()
        if pg:
            try:
                result["postgres_parts"] = PartsTimer().run(pg, bare_parts)
            finally:
                scratch_db.drop_database(pg)
    engine_rate = result["sqlite"]["complete"]["per_s"]
    specless_rate = result["bare_specless"]["complete"]["per_s"]
    result["ratio_engine_vs_bare"] = round(engine_rate / result["bare"]["complete"]["per_s"], 3)
    result["ratio_engine_vs_bare_specless"] = round(engine_rate / specless_rate, 3)
    result["ratio_engine_vs_bare_specless_cold"] = round(result["sqlite_cold"]["complete"]["per_s"] / specless_rate, 3)
    # The same in CPU time, which a loaded machine skews less than the wall clock: the wall clock
    # of a longer operation takes more of the other processes' time slices.
    library_cpu = result["bare_specless"]["cpu_ms_per_completion"]
    result["ratio_engine_vs_bare_specless_cpu"] = round(library_cpu / result["sqlite"]["cpu_ms_per_completion"], 3)
    for name in ("bare", "bare_specless", "sqlite", "sqlite_cold", "postgres"):
        if name in result:
            c, st = result[name]["complete"], result[name]["start"]
            print(
                f"{name:13} complete {c['per_s']:8.1f}/s  median {c['median_ms']:7.2f} ms  p95 {c['p95_ms']:7.2f} ms"
                f"   start {st['per_s']:8.1f}/s"
            )
    print(f"ratio_engine_vs_bare (sqlite/bare completions per second) = {result['ratio_engine_vs_bare']}")
    print(f"ratio_engine_vs_bare_specless = {result['ratio_engine_vs_bare_specless']}")
    print(f"ratio_engine_vs_bare_specless_cold = {result['ratio_engine_vs_bare_specless_cold']}")
    print(
        f"ratio_engine_vs_bare_specless_cpu = {result['ratio_engine_vs_bare_specless_cpu']} "
        f"(SpiffWorkflow {library_cpu:.2f} ms CPU per completion)"
    )
    for name in ("sqlite", "sqlite_cold", "postgres"):
        if name in result:
            found = result[name]
            print(
                f"{name}: per completion {found['statements_per_completion']} round trips, "
                f"{found['cpu_ms_per_completion']:.2f} ms CPU here, "
                f"{found['backend_cpu_ms_per_completion']:.2f} ms in PostgreSQL's backends"
            )
    for name in ("sqlite_parts", "postgres_parts"):
        if name in result:
            parts = result[name]
            print(
                f"{name}: per completion {parts['cpu_ms_per_completion']:.2f} ms CPU: SpiffWorkflow "
                f"{parts['spiff_cpu_ms_per_completion']} (of the bare run's {bare_parts}: "
                f"{parts['spiff_vs_bare']}), the driver {parts['driver_cpu_ms_per_completion']:.2f}, the rest "
                f"{parts['rest_cpu_ms_per_completion']:.2f}; ratio_ceiling_cpu = {parts['ratio_ceiling_cpu']}"
            )
    for name in ("sqlite", "postgres"):
        if name in result:
            share = result[name]["rollups_share_pct"]
            print(
                f"{name}: keeping the daily rollups takes {share['start']:.1f}% of a start's time and "
                f"{share['complete']:.1f}% of a completion's (one completion in five closes the dossier); "
                f"the officers' KPI row {result[name]['kpi_share_pct']:.1f}% of a completion's"
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
