"""The product over HTTP as production runs it: `motcua serve --workers 2` (granian) on PostgreSQL,
driven through /api/v1 by keep-alive clients (1, then 4 threads), each dossier started and its five
steps claimed and completed, in phases (all starts, then rounds of all claims and all completions)
so that each request kind's CPU is read apart.

Prints completions/s and starts/s, p50/p95 latency, SQL statements per start and per completion
(the server counts them per request when MOTCUA_COUNT_SQL is set and answers them in a header),
the network waits on the database per request of each kind (`waits_per_*`: fewer than the
statements where several travel in one pipeline sync; code that does not count them sent each
alone, and its waits are its statements),
the CPU the server and PostgreSQL spend per completion (from /proc: the server's process tree
and the PostgreSQL backends of this run's database, read between phases), and per request of
each kind, the server's (granian, Flask, the engine) and PostgreSQL's apart. The statements
and waits are counted by a server of their own, driven once before the measured ones: the
counter costs calls on every statement (220-330 a request, Python's and C's), which production
does not run, so the CPU is measured on servers without it. The baseline,
measured in the same run, is the engine's own complete-work-item in process on the same
database: `ratio_http_vs_engine_cpu` says how much the web layer adds. So that goal 1's
milliseconds can be compared between machines (hosts have measured the same code 1.8 to 3.5
times apart), `host_reference_ms` is bare SpiffWorkflow's CPU per completion on the same model,
timed in this process between turns, and `cpu_per_completion_in_references` the CPU per
completion counted in it.

With `--baseline-src DIR` (a checkout of older code, e.g. `git archive main | tar -x -C DIR`) the
two codes are served side by side, each on its own database, and driven by one client in turns
(`--rounds`, the first alternating); the last line then holds the medians and
`ratio_current_vs_baseline`.

    python benchmarks/http.py [--quick] [--dossiers N] [--baseline-src DIR [--rounds N]]

Needs PostgreSQL (MOTCUA_BENCH_POSTGRES_URL or MOTCUA_TEST_POSTGRES_URL, as `make test` exports).
The last line printed is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file's name would shadow the standard library's `http` (and calendar.py its `calendar`):
# the project's root takes this folder's place on the path before anything is imported.
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import NamedTuple  # noqa: E402

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402

from engine.clock import SystemClock  # noqa: E402
from engine.domain.assignment import Actor  # noqa: E402
from engine.services import api_tokens  # noqa: E402
from engine.services import definitions  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.records import UnitRecord  # noqa: E402
from engine.store.records import UserRecord  # noqa: E402
from engine.store.records import WorkItemRecord  # noqa: E402

MODEL = ROOT / "tests" / "bpmn" / "five_steps.bpmn"
UNIT = "00070"
OFFICER = "can_bo_bench"
ROLES = frozenset({"mot_cua", "chuyen_vien", "lanh_dao"})
STEP_DATA = {"tham_dinh": {"hop_le": True}}
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: Dossiers per client driven before measuring, on a new connection per request so that both
#: workers serve many of each kind (gthread lets one worker take every keep-alive connection): a
#: worker's first start of older code imported the `holidays` package (about a second of CPU), and
#: when the warm-up's clients all met one worker, that second landed in a measured start phase
#: (17-38 ms "per start" in such a run, 8-13 ms otherwise).
WARM_UP_DOSSIERS = 2
WARM_UP_CLIENTS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (CI smoke)")
    parser.add_argument("--dossiers", type=int, default=None, help="dossiers per client thread count")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="a checkout of the code to compare with (e.g. `git worktree add /tmp/old main`): served "
        "beside this one on a database of its own, the two driven in turns",
    )
    parser.add_argument("--rounds", type=int, default=3, help="turns of each server with --baseline-src")
    args = parser.parse_args()
    dossier_count = args.dossiers or (10 if args.quick else 200)
    server_url = os.environ.get("MOTCUA_BENCH_POSTGRES_URL") or os.environ.get("MOTCUA_TEST_POSTGRES_URL")
    if not server_url:
        sys.exit("benchmarks/http.py needs PostgreSQL: set MOTCUA_BENCH_POSTGRES_URL (or run under `make test`)")
    if args.baseline_src is not None:
        compare(server_url, args.baseline_src.resolve(), dossier_count, args.rounds)
        return
    with scratch_database(server_url) as database:
        token, definition_id = prepare(database.url)
        engine_cpu_ms = in_process_baseline(database, definition_id, max(5, dossier_count // 4))
        counted = counting_run(database, None, (token, definition_id), dossier_count)
        with served(database) as server:
            warm_up(server, token, definition_id)
            runs = {}
            references = [host_reference_ms()]
            for threads in (1, 4):
                runs[threads] = drive(server, token, definition_id, dossier_count, threads) | counted
                database.vacuum()
                references.append(host_reference_ms())
    report(runs, engine_cpu_ms, dossier_count, statistics.median(references))


def compare(server_url: str, baseline_src: Path, dossier_count: int, rounds: int) -> None:
    """This code and the baseline's, each served on its own database, driven in turns (the one
    that goes first alternates), so that the machine's load weighs on both alike."""
    with scratch_database(server_url) as base_db, scratch_database(server_url) as new_db:
        prepared = {"baseline": prepared_by(baseline_src, base_db.url), "current": prepare(new_db.url)}
        counted = {
            "baseline": counting_run(base_db, baseline_src, prepared["baseline"], dossier_count),
            "current": counting_run(new_db, None, prepared["current"], dossier_count),
        }
        with served(base_db, source=baseline_src) as base, served(new_db) as new:
            servers = {"baseline": base, "current": new}
            for side, server in servers.items():
                warm_up(server, *prepared[side])
            runs: dict[str, list[dict]] = {"baseline": [], "current": []}
            references = [host_reference_ms()]
            for turn in range(rounds):
                for side in ("baseline", "current") if turn % 2 == 0 else ("current", "baseline"):
                    token, definition_id = prepared[side]
                    runs[side].append(drive(servers[side], token, definition_id, dossier_count, 1))
                    (base_db if side == "baseline" else new_db).vacuum()
                references.append(host_reference_ms())
    report_comparison(runs, counted, dossier_count, baseline_src, statistics.median(references))


#: Bare SpiffWorkflow completions timed for the host's reference figure.
REFERENCE_DOSSIERS = 30


def host_reference_ms() -> float:
    """The host's speed, to compare goal 1's milliseconds between machines: CPU ms per completion
    of bare SpiffWorkflow on the same model in this process (benchmarks/engine.py's run (a): load,
    complete one task, dump with the library's own serializer), measured between turns while the
    servers are idle. Hosts have measured the same code 1.8 to 3.5 times apart."""
    from benchmarks.engine import bare

    return bare(dossiers=REFERENCE_DOSSIERS)["cpu_ms_per_completion"]


def counting_run(
    database: scratch_database, source: Path | None, prepared: tuple[str, int], dossier_count: int
) -> dict[str, float]:
    """The statements and network waits per request of each kind, from one client's run on a
    server that counts them (its CPU, the counter's included, is not reported)."""
    with served(database, source=source, count_sql=True) as server:
        warm_up(server, *prepared)
        run = drive(server, *prepared, dossier_count, 1)
    database.vacuum()
    return {key: run[key] for key in COUNTED_KEYS}


def warm_up(server: served, token: str, definition_id: int) -> None:
    """A few dossiers through every route before measuring: each worker's first requests pay for
    imports, the ORM's mapper set-up, the template's parse and the pool's connections once."""
    drive(server, token, definition_id, WARM_UP_DOSSIERS, WARM_UP_CLIENTS, keep_alive=False)


# -- the database and the product ------------------------------------------------------------------


class scratch_database:
    """A fresh PostgreSQL database for this run, dropped at the end."""

    def __init__(self, server_url: str):
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.name = f"motcua_bench_http_{uuid.uuid4().hex[:8]}"
        self.url = server_url.rsplit("/", 1)[0] + f"/{self.name}"

    def __enter__(self) -> scratch_database:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self

    def vacuum(self) -> None:
        """What autovacuum would have done after a turn, where the server runs without it (this
        machine's PostgreSQL): without it every completion's upsert of the same few counter rows
        (the officer's KPI row, the day's figures, the open stock) leaves one more dead version for
        the next to step over, and PostgreSQL's CPU per completion request climbed from about 1 ms
        to 3-4 ms over six turns on either side. Outside the measured turns."""
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
        engine.dispose()

    def __exit__(self, *exc) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def prepare(url: str) -> tuple[str, int]:
    """Schema, one commune, one officer holding every role of the model, the model, a token."""
    db = Database(url)
    migrate.upgrade(db.engine)
    rt = Runtime(db=db, clock=SystemClock())
    with db.session() as s:
        s.add(UnitRecord(code="01", name="Thành phố Hà Nội", kind="province", parent_code=None, agency_code="01"))
        s.flush()
        s.add(UnitRecord(code=UNIT, name="Phường Hoàn Kiếm", kind="commune", parent_code="01", agency_code="01.00070"))
        s.add(
            UserRecord(username=OFFICER, full_name="Cán bộ đo hiệu năng", unit_code=UNIT, roles=" ".join(sorted(ROLES)))
        )
    definition = definitions.deploy(rt, {"five_steps.bpmn": MODEL.read_bytes()})
    _, token = api_tokens.issue(rt, username=OFFICER, name="benchmark")
    db.dispose()
    return token, definition.id


def prepared_by(source: Path, url: str) -> tuple[str, int]:
    """`prepare` run by the code of `source`: the baseline's database must have the schema of the
    baseline's own migrations (its statements fail on a newer schema, e.g. a changed unique key)."""
    script = "import sys; from benchmarks.http import prepare; print(*prepare(sys.argv[1]))"
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(
        [sys.executable, "-c", script, url], cwd=source, env=env, capture_output=True, text=True, check=True
    )
    token, definition_id = done.stdout.split()[-2:]
    return token, int(definition_id)


def in_process_baseline(database: scratch_database, definition_id: int, count: int) -> float:
    """CPU ms (this process + PostgreSQL) per completion through the engine itself, no HTTP."""
    db = Database(database.url)
    rt = Runtime(db=db, clock=SystemClock())
    actor = Actor(OFFICER, ROLES, UNIT)
    started = [
        dossiers.start_dossier(
            rt, definition_id=definition_id, unit_code=UNIT, applicant_name=f"Gốc {n}", actor=actor
        ).id
        for n in range(count)
    ]
    before_self, before_pg = _self_cpu(), _postgres_cpu(database.name)
    completions = 0
    for dossier_id in started:
        while (item := _open_item(db, dossier_id)) is not None:
            if item.assignee is None:
                dossiers.claim_work_item(rt, item.id, actor)
            dossiers.complete_work_item(rt, item.id, actor, STEP_DATA.get(item.element_id, {}))
            completions += 1
    spent = (_self_cpu() - before_self) + (_postgres_cpu(database.name) - before_pg)
    db.dispose()
    return spent / completions


def _open_item(db: Database, dossier_id: int):
    with db.read_session() as s:
        return s.scalar(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
            )
        )


class served:
    """`motcua serve --workers 2` on a free loopback port, counting its SQL statements when
    `count_sql` (a header per answer); the code of `source` when given (a checkout to compare
    with), else this one."""

    def __init__(self, database: scratch_database, source: Path | None = None, count_sql: bool = False):
        self.database = database.name
        self.url = database.url
        self.source = source
        self.count_sql = count_sql

    def __enter__(self) -> served:
        self.port = _free_port()
        self.instance = tempfile.mkdtemp(prefix="motcua-bench-http-")
        env = {**os.environ, "DATABASE_URL": self.url, "MOTCUA_SECRET_KEY": uuid.uuid4().hex}
        env.pop("MOTCUA_COUNT_SQL", None)
        if self.count_sql:
            env["MOTCUA_COUNT_SQL"] = "1"
        if self.source is not None:  # found before this checkout's editable install
            env["PYTHONPATH"] = str(self.source)
        # The server's log goes to a file: a pipe nobody reads fills after ~64 KB of log lines and
        # then blocks every worker on its next write (the 4-client run used to stop dead).
        self.log = open(Path(self.instance) / "serve.log", "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "web.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "2",
            ],
            env=env,
            cwd=self.instance,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        _wait_until_up(self.port, self.process, Path(self.instance) / "serve.log")
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            sys.exit(f"motcua serve stopped: {log.read_text(errors='replace')[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("motcua serve did not answer within 30 s")


# -- driving it ----------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection with the token (without `keep_alive`, a new one per request);
    counts reconnections (a server that answers `Connection: close` makes one per request)."""

    def __init__(self, port: int, token: str, keep_alive: bool = True):
        self.port, self.token, self.keep_alive = port, token, keep_alive
        self.conn = None
        self.connects = 0

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, Counted, float]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.connects += 1
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        elapsed_ms = (time.perf_counter() - started) * 1000
        if not self.keep_alive or response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        statements = int(response.getheader("X-Motcua-Statements", "0"))
        # Code without the waits header sent every round trip alone: its waits are its round trips.
        waits = int(response.getheader("X-Motcua-Waits", str(statements)))
        return response.status, json.loads(data) if data else {}, Counted(statements, waits), elapsed_ms


KINDS = ("start", "claim", "complete")


class Counted(NamedTuple):
    """What the server counted for one request: its round trips (statements, BEGIN, COMMIT) and
    its network waits (fewer where statements travel together in one pipeline sync)."""

    statements: int
    waits: int


def drive(server: served, token: str, definition_id: int, count: int, threads: int, keep_alive: bool = True) -> dict:
    """`count` dossiers per thread, driven in phases that every thread ends together: all starts,
    then rounds of all claims and all completions of the steps open then. The server's and
    PostgreSQL's CPU is read between phases, so that each request kind has its own figure."""
    results = [dict(starts=[], completions=[], claims=[], connects=0, open=0) for _ in range(threads)]
    cpu = {kind: {"server": 0.0, "postgres": 0.0} for kind in KINDS}
    port, database = server.port, server.database
    phase = {"kind": "start", "server": _server_cpu(server.process.pid), "postgres": _postgres_cpu(database)}
    phase["done"] = False

    def phase_ended() -> None:
        """Runs once per phase, when every thread has finished it (threading.Barrier's action)."""
        server_ms, postgres_ms = _server_cpu(server.process.pid), _postgres_cpu(database)
        spent = cpu[phase["kind"]]
        spent["server"] += server_ms - phase["server"]
        spent["postgres"] += postgres_ms - phase["postgres"]
        following = {"start": "claim", "claim": "complete", "complete": "claim"}[phase["kind"]]
        phase.update(kind=following, server=server_ms, postgres=postgres_ms)
        phase["done"] = following == "claim" and not any(result["open"] for result in results)

    barrier = threading.Barrier(threads, action=phase_ended)
    wall = time.perf_counter()
    workers = [
        threading.Thread(
            target=_one_client, args=(Client(port, token, keep_alive), definition_id, count, results[n], barrier, phase)
        )
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - wall
    failures = [result["failed"] for result in results if "failed" in result]
    first = next((f for f in failures if not isinstance(f, threading.BrokenBarrierError)), None)
    if failures:
        raise SystemExit(f"a client failed: {first or failures[0]}")
    starts = [r for result in results for r in result["starts"]]
    completions = [r for result in results for r in result["completions"]]
    claims = [r for result in results for r in result["claims"]]
    requests = len(starts) + len(completions) + len(claims)
    total = {part: sum(spent[part] for spent in cpu.values()) for part in ("server", "postgres")}
    counts = {"start": len(starts), "claim": len(claims), "complete": len(completions)}
    run = {
        "threads": threads,
        "dossiers": len(starts),
        "completions": len(completions),
        "completions_per_s": round(len(completions) / wall, 1),
        "starts_per_s": round(len(starts) / wall, 1),
        "complete_p50_ms": _pct(completions, 50),
        "complete_p95_ms": _pct(completions, 95),
        "start_p50_ms": _pct(starts, 50),
        "start_p95_ms": _pct(starts, 95),
        # The server's and PostgreSQL's CPU for the whole run, shared out over the completions
        # (starts and claims included: they are what a completion costs end to end here).
        "cpu_ms_per_completion": round((total["server"] + total["postgres"]) / len(completions), 2),
        "cpu_ms_per_request": round((total["server"] + total["postgres"]) / requests, 2),
        # Each request kind's own CPU per request: the server (granian and Flask, the engine in
        # it) and PostgreSQL's backends apart.
        "cpu_ms_by_kind": {
            kind: {part: round(spent[part] / counts[kind], 2) for part in ("server", "postgres")}
            for kind, spent in cpu.items()
            if counts[kind]
        },
        "connections": sum(result["connects"] for result in results),
        "requests": requests,
    }
    if server.count_sql:
        for kind, samples in (("start", starts), ("completion", completions), ("claim", claims)):
            run[f"statements_per_{kind}"] = _mean(samples, "statements")
            run[f"waits_per_{kind}"] = _mean(samples, "waits")
    return run


def _one_client(
    client: Client, definition_id: int, count: int, out: dict, barrier: threading.Barrier, phase: dict
) -> None:
    """One client's part; a client that fails breaks the barrier, so that the others stop too
    instead of waiting for it forever."""
    try:
        _drive_one_client(client, definition_id, count, out, barrier, phase)
    except BaseException as exc:  # noqa: BLE001 - any failure, _check's SystemExit too, must free the others
        out["failed"] = exc
        barrier.abort()


def _drive_one_client(
    client: Client, definition_id: int, count: int, out: dict, barrier: threading.Barrier, phase: dict
) -> None:
    steps = [_start(client, definition_id, n, out) for n in range(count)]
    out["open"] = sum(step is not None for step in steps)
    barrier.wait()
    while not phase["done"]:
        for step in steps:
            if step is not None and step.get("assignee") is None:
                status, _, counted, ms = client.call("POST", f"/api/v1/work-items/{step['id']}/claim")
                _check(status, 200, {})
                out["claims"].append((counted, ms))
        barrier.wait()
        steps = [_complete(client, step, out) if step is not None else None for step in steps]
        out["open"] = sum(step is not None for step in steps)
        barrier.wait()
    out["connects"] = client.connects


def _start(client: Client, definition_id: int, n: int, out: dict) -> dict | None:
    """Receive one dossier; its first open step (None when it has none)."""
    status, dossier, counted, ms = client.call(
        "POST",
        "/api/v1/dossiers",
        {"definition_id": definition_id, "unit_code": UNIT, "applicant": {"name": f"Người nộp {n}"}},
    )
    _check(status, 201, dossier)
    out["starts"].append((counted, ms))
    return _first_step(dossier)


def _complete(client: Client, step: dict, out: dict) -> dict | None:
    """Complete the step; the dossier's next open step (None when it has finished)."""
    status, dossier, counted, ms = client.call(
        "POST", f"/api/v1/work-items/{step['id']}/complete", {"data": STEP_DATA.get(step["element_id"], {})}
    )
    _check(status, 200, dossier)
    out["completions"].append((counted, ms))
    return _first_step(dossier)


def _first_step(dossier: dict) -> dict | None:
    steps = dossier.get("current_steps") or []
    return steps[0] if steps else None


def _check(status: int, expected: int, body: dict) -> None:
    if status != expected:
        raise SystemExit(f"unexpected HTTP {status}: {json.dumps(body, ensure_ascii=False)[:500]}")


def _mean(samples: list[tuple[Counted, float]], counted: str) -> float:
    return round(statistics.mean(getattr(c, counted) for c, _ in samples), 1) if samples else 0


def _pct(samples: list[tuple[int, float]], pct: int) -> float:
    values = sorted(ms for _, ms in samples)
    return round(values[min(len(values) - 1, int(len(values) * pct / 100))], 2)


# -- CPU from /proc -------------------------------------------------------------------------------------


def _cpu_ms(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / CLK_TCK  # utime + stime


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            found.append((int(entry.name), parent, name))
    return found


def _server_cpu(root: int) -> float:
    """The process `root` (`motcua serve`, granian's main process) and every process under it (its workers)."""
    processes = _processes()
    tree, frontier = {root}, {root}
    while frontier:
        children = {pid for pid, parent, _ in processes if parent in frontier} - tree
        tree |= children
        frontier = children
    return sum(_cpu_ms(pid) for pid in tree)


def _postgres_cpu(database: str) -> float:
    """The PostgreSQL backends serving `database` (their process title names it), so that other
    engineers' tests on the same server do not count; the server's own background processes (WAL
    writer, checkpointer) are left out. Connections stay pooled for the whole run."""
    total = 0.0
    for pid, _, name in _processes():
        if name.startswith("postgres") and database in _title(pid):
            total += _cpu_ms(pid)
    return total


def _title(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def _self_cpu() -> float:
    return _cpu_ms(os.getpid())


def report(runs: dict, engine_cpu_ms: float, dossier_count: int, reference_ms: float) -> None:
    for threads, run in runs.items():
        print(
            f"{threads} client(s): {run['completions']} completions at {run['completions_per_s']}/s "
            f"(p50 {run['complete_p50_ms']} ms, p95 {run['complete_p95_ms']} ms), "
            f"{run['starts_per_s']} starts/s; statements: start {run['statements_per_start']}, "
            f"completion {run['statements_per_completion']}, claim {run['statements_per_claim']}; "
            f"network waits: start {run['waits_per_start']}, completion {run['waits_per_completion']}, "
            f"claim {run['waits_per_claim']}; "
            f"server+PostgreSQL CPU {run['cpu_ms_per_completion']} ms per completion; "
            f"{run['connections']} connection(s) for {run['requests']} requests"
        )
        print("  " + _by_kind(run))
    one = runs[1]
    ratio = round(one["cpu_ms_per_completion"] / engine_cpu_ms, 2) if engine_cpu_ms else None
    print(
        f"engine in process (baseline): {engine_cpu_ms:.2f} ms CPU per completion; ratio_http_vs_engine_cpu = {ratio}"
    )
    print(
        json.dumps(
            {
                "benchmark": "http",
                "dossiers_per_thread": dossier_count,
                "server": "motcua serve --workers 2 (granian)",
                "database": "postgresql",
                "cpu_ms_per_completion": one["cpu_ms_per_completion"],
                "cpu_ms_by_kind": one["cpu_ms_by_kind"],
                "statements_per_completion": one["statements_per_completion"],
                "statements_per_start": one["statements_per_start"],
                "waits_per_completion": one["waits_per_completion"],
                "waits_per_start": one["waits_per_start"],
                "waits_per_claim": one["waits_per_claim"],
                "completions_per_s": one["completions_per_s"],
                "completions_per_s_4_threads": runs[4]["completions_per_s"],
                "engine_cpu_ms_per_completion": round(engine_cpu_ms, 2),
                "ratio_http_vs_engine_cpu": ratio,
                **_in_references(one["cpu_ms_per_completion"], reference_ms),
                "load_average": os.getloadavg()[0],
                "runs": {str(threads): run for threads, run in runs.items()},
            },
            ensure_ascii=False,
        )
    )


def _in_references(cpu_ms_per_completion: float, reference_ms: float) -> dict:
    """The host's reference figure, and goal 1's CPU counted in it (the same on a faster host)."""
    return {
        "host_reference_ms": round(reference_ms, 3),
        "cpu_per_completion_in_references": round(cpu_ms_per_completion / reference_ms, 2),
    }


def _by_kind(run: dict) -> str:
    """CPU ms per request of each kind, the server's (granian, Flask, the engine) + PostgreSQL's."""
    return "CPU per request: " + ", ".join(
        f"{kind} {spent['server']} + {spent['postgres']} ms" for kind, spent in run["cpu_ms_by_kind"].items()
    )


def report_comparison(
    runs: dict[str, list[dict]],
    counted: dict[str, dict[str, float]],
    dossier_count: int,
    baseline_src: Path,
    reference_ms: float,
) -> None:
    """Each side's counts and turns, then the medians and the ratio of this code's figures to the
    baseline's."""
    for side, figures in counted.items():
        print(
            f"counted {side}: statements per completion {figures['statements_per_completion']}, per start "
            f"{figures['statements_per_start']}, per claim {figures['statements_per_claim']}; network waits per "
            f"completion {figures['waits_per_completion']}, per start {figures['waits_per_start']}, per claim "
            f"{figures['waits_per_claim']}"
        )
    for turn, (old, new) in enumerate(zip(runs["baseline"], runs["current"], strict=True)):
        for side, run in (("baseline", old), ("current", new)):
            print(
                f"turn {turn + 1} {side}: {run['completions_per_s']} completions/s, "
                f"{run['cpu_ms_per_completion']} ms CPU per completion; {_by_kind(run)}"
            )
    medians = {side: _median_run(side_runs) | counted[side] for side, side_runs in runs.items()}
    ratios = {
        key: round(medians["current"][key] / medians["baseline"][key], 3)
        for key in (*_TIMED, *COUNTED_KEYS)
        if medians["baseline"][key]
    }
    print(
        json.dumps(
            {
                "benchmark": "http",
                "compared_with": str(baseline_src),
                "dossiers_per_thread": dossier_count,
                "turns": len(runs["current"]),
                **{key: medians["current"][key] for key in ratios},
                "cpu_ms_by_kind": medians["current"]["cpu_ms_by_kind"],
                "baseline": medians["baseline"],
                "ratio_current_vs_baseline": ratios,
                **_in_references(medians["current"]["cpu_ms_per_completion"], reference_ms),
                "load_average": os.getloadavg()[0],
            },
            ensure_ascii=False,
        )
    )


#: The timed figures compared run to run (medians of each side's turns, and their ratios).
_TIMED = ("cpu_ms_per_completion", "completions_per_s")
#: The counted ones (from each side's counting run).
COUNTED_KEYS = (
    "statements_per_completion",
    "statements_per_start",
    "statements_per_claim",
    "waits_per_completion",
    "waits_per_start",
    "waits_per_claim",
)


def _median_run(side_runs: list[dict]) -> dict:
    figures = {key: round(statistics.median(run[key] for run in side_runs), 2) for key in _TIMED}
    figures["cpu_ms_by_kind"] = {
        kind: {
            part: round(statistics.median(run["cpu_ms_by_kind"][kind][part] for run in side_runs), 2)
            for part in ("server", "postgres")
        }
        for kind in side_runs[0]["cpu_ms_by_kind"]
    }
    return figures


if __name__ == "__main__":
    main()
