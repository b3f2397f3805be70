"""A province's day on the production topology, on loopback: a PostgreSQL primary and a streaming
replica (initdb and pg_basebackup in a temporary folder, their own ports), two `motcua serve`
instances (granian) and two `motcua worker` processes on the primary, the replica as
MOTCUA_READ_DATABASE_URL for the supervisors' reports.

Client threads replay the day compressed in time (MOTCUA_SIMULATED_CLOCK: every process reads
the same accelerated clock, so timers and SLA levels come due during the run): dossiers of the
five-step test procedure are received through /api/v1 across 20 communes and moved 0-5 steps
(claim, complete), clerks open their inbox (API and desk page) now and then, supervisors read
the dashboard (HTML and /api/v1/statistics, both from the replica) all along.

Three phases, each on a new database: the baseline (one web process, one worker, no replica),
the topology, and the topology with one web instance and one worker SIGKILLed mid-run and
restarted a second later (as systemd's Restart= would). Each reports throughput, p50/p95 per
route, worker lag (timer due -> fired, SLA level due -> fired, in real seconds), replica lag,
errors, and checks every dossier against what its client was answered: history, work items,
SLA levels, outbox and notifications, open incidents, `motcua audit verify`. A start whose answer
is lost is sent again with its Idempotency-Key, and so is a step's claim or completion.

    python benchmarks/province_day.py [--quick] [--dossiers N] [--clients C]

Needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin; scripts/ensure_postgres.sh
installs them); as root, the servers run as the `postgres` user. The last line is one JSON
object; `ratio_topology_vs_baseline` is the topology's requests/s over the baseline's.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This folder holds calendar.py and http.py, which would shadow the standard library.
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from collections import defaultdict  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from dataclasses import field  # noqa: E402
from datetime import UTC  # noqa: E402
from datetime import datetime  # noqa: E402
from datetime import timedelta  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import requests  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy import text  # noqa: E402
from urllib3.exceptions import NewConnectionError  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from engine.clock import SIMULATED_CLOCK_VARIABLE  # noqa: E402
from engine.clock import AcceleratedClock  # noqa: E402
from engine.services import api_tokens  # noqa: E402
from engine.services import definitions  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.records import UnitRecord  # noqa: E402
from engine.store.records import UserRecord  # noqa: E402
from engine.units import units_of_province  # noqa: E402

MODEL = ROOT / "tests" / "bpmn" / "five_steps.bpmn"
STEPS = ("tiep_nhan", "tham_dinh", "du_thao", "ky_duyet", "tra_ket_qua")
STEP_DATA = {"tham_dinh": {"hop_le": True}}
ROLES = "chuyen_vien lanh_dao mot_cua"
PASSWORD = "motcua2026"
COMMUNES = 20
VN = ZoneInfo("Asia/Ho_Chi_Minh")
DAY_START = datetime(2026, 12, 7, 7, 30, tzinfo=VN)  # a Monday, opening time
SIMULATED_DAY_S = 10 * 3600  # 07:30 -> 17:30
MOTCUA = Path(sys.executable).with_name("motcua")
#: Real seconds of simulated day per dossier: about what the clients take on 2 cores, so the
#: clock reaches the day's end when the last dossier has been received.
DAY_SECONDS_PER_DOSSIER = 0.08
#: Real seconds for the set-up and the services' start, before the day opens.
STARTUP_ALLOWANCE_S = 10.0


# -- PostgreSQL: a primary and its streaming replica ---------------------------------------------


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        sys.exit(
            f"no PostgreSQL server binaries ({name}) under /usr/lib/postgresql: "
            "run scripts/ensure_postgres.sh (Debian's postgresql package)"
        )
    return found[-1]


class PostgresPair:
    """A primary and a replica initialised from it by pg_basebackup, in a folder of their own."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="motcua-province-day-pg-"))
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.primary_port, self.replica_port = free_port(), free_port()

    def _run(self, *argv: str) -> None:
        command = (["runuser", "-u", "postgres", "--"] if self.as_postgres else []) + list(argv)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr[-2000:]}")

    def _start(self, data: Path, port: int) -> None:
        options = f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(
            pg_bin("pg_ctl"), "-D", str(data), "-l", str(self.root / f"{data.name}.log"), "-o", options, "-w", "start"
        )

    def start(self) -> PostgresPair:
        primary, replica = self.root / "primary", self.root / "replica"
        self._run(
            pg_bin("initdb"), "-D", str(primary), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"
        )
        self._start(primary, self.primary_port)
        self._run(
            pg_bin("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary_port),
            "-U",
            "postgres",
            "-D",
            str(replica),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        )
        self._start(replica, self.replica_port)
        return self

    def url(self, database: str, *, replica: bool = False) -> str:
        port = self.replica_port if replica else self.primary_port
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    def create_database(self, name: str) -> None:
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        # The replica replays the CREATE DATABASE; wait until it can be connected to.
        for _ in range(100):
            try:
                replica = create_engine(self.url(name, replica=True))
                with replica.connect():
                    pass
                replica.dispose()
                return
            except Exception:  # noqa: BLE001 - not replayed yet
                time.sleep(0.1)
        raise RuntimeError(f"the replica never showed database {name}")

    def stop(self) -> None:
        for data in ("replica", "primary"):
            if (self.root / data).exists():
                try:
                    self._run(pg_bin("pg_ctl"), "-D", str(self.root / data), "-m", "fast", "-w", "stop")
                except RuntimeError as exc:
                    print(f"warning: {exc}", file=sys.stderr)
        shutil.rmtree(self.root, ignore_errors=True)


class ReplicaWatch:
    """Samples the replica's lag behind the primary (pg_stat_replication) every half second."""

    def __init__(self, pair: PostgresPair, database: str):
        self.primary = create_engine(pair.url("postgres"), isolation_level="AUTOCOMMIT")
        self.replica = create_engine(pair.url("postgres", replica=True), isolation_level="AUTOCOMMIT")
        self.database = database
        self.lag_s: list[float] = []
        self.lag_bytes: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def replica_transactions(self) -> int:
        """Transactions the replica has run in the product's database (only reports go there)."""
        with self.replica.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :d"),
                    {"d": self.database},
                ).scalar()
                or 0
            )

    def _sample(self) -> None:
        while not self.stop.wait(0.5):
            with self.primary.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT EXTRACT(EPOCH FROM COALESCE(replay_lag, interval '0')), "
                        "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication"
                    )
                ).first()
            if row is not None:
                self.lag_s.append(float(row[0] or 0))
                self.lag_bytes.append(int(row[1] or 0))

    def __enter__(self) -> ReplicaWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.primary.dispose()
        self.replica.dispose()


# -- the product's processes, each like a systemd unit ---------------------------------------------


class Service:
    """One process group (a server's main process and its worker, or a motcua worker), killed whole."""

    def __init__(self, name: str, argv: list[str], env: dict, cwd: Path, port: int | None = None):
        self.name, self.argv, self.env, self.cwd, self.port = name, argv, env, cwd, port
        self.process: subprocess.Popen | None = None
        self.log = cwd / f"{name}.log"

    def start(self) -> Service:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=log, start_new_session=True
            )
        if self.port is not None:
            wait_until_up(self.port, self)
        return self

    def kill(self) -> None:
        """SIGKILL to the whole group, as a machine losing power or `systemctl kill -s KILL` would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, service: Service) -> None:
    for _ in range(600):
        if service.process.poll() is not None:
            sys.exit(f"{service.name} stopped: {service.log.read_text(errors='replace')[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    sys.exit(f"{service.name} did not answer within 60 s")


# -- the province: communes, officers, the procedure, tokens ---------------------------------------


@dataclass
class Province:
    definition_id: int
    communes: list[str]
    tokens: dict[str, str]  # commune -> its officer's API token
    supervisor_token: str


def officer(commune: str) -> str:
    return f"can_bo_{commune}"


def prepare(url: str, clock: AcceleratedClock) -> Province:
    db = Database(url)
    migrate.upgrade(db.engine)
    rt = Runtime(db=db, clock=clock)
    units = units_of_province("ha_noi")
    communes = [u.code for u in units if u.kind == "commune"][:COMMUNES]
    password = generate_password_hash(PASSWORD)
    with db.session() as s:
        for unit in units:
            s.add(
                UnitRecord(
                    code=unit.code,
                    name=unit.name,
                    kind=unit.kind,
                    parent_code=unit.parent_code,
                    agency_code=unit.agency_code,
                )
            )
            s.flush()
        for commune in communes:
            s.add(
                UserRecord(
                    username=officer(commune),
                    full_name=f"Cán bộ {commune}",
                    unit_code=commune,
                    roles=ROLES,
                    password_hash=password,
                )
            )
        s.add(
            UserRecord(
                username="giam_sat",
                full_name="Giám sát viên",
                unit_code=units[0].code,
                roles="supervisor",
                password_hash=password,
            )
        )
    definition = definitions.deploy(rt, {"five_steps.bpmn": MODEL.read_bytes()})
    tokens = {c: api_tokens.issue(rt, username=officer(c), name="province-day")[1] for c in communes}
    supervisor = api_tokens.issue(rt, username="giam_sat", name="province-day")[1]
    db.dispose()
    return Province(definition.id, communes, tokens, supervisor)


# -- clients ------------------------------------------------------------------------------------------


class Interrupted(Exception):
    """The request was sent and its answer lost (the server died with it in hand): outcome unknown."""


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    interrupted: Counter = field(default_factory=Counter)
    failovers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, ms: float) -> None:
        with self.lock:
            self.latencies[route].append(ms)


class Client:
    """A keep-alive HTTP client on one web instance, failing over to the next when its instance
    refuses connections (what nginx's upstream does; nothing was sent, so nothing is repeated)."""

    def __init__(self, ports: list[int], first: int, stats: Stats, token: str | None = None):
        self.ports, self.index, self.stats = ports, first % len(ports), stats
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def call(
        self,
        method: str,
        path: str,
        route: str,
        body: dict | None = None,
        *,
        expect: tuple[int, ...] = (200, 201),
        headers: dict | None = None,
    ) -> dict | str | None:
        for _ in range(200):
            url = f"http://127.0.0.1:{self.ports[self.index]}{path}"
            started = time.perf_counter()
            try:
                response = self.http.request(method, url, json=body, headers=headers, timeout=60, allow_redirects=False)
            except requests.ConnectionError as exc:
                self.index = (self.index + 1) % len(self.ports)
                if _refused(exc):
                    with self.stats.lock:
                        self.stats.failovers += 1
                    time.sleep(0.02)
                    continue
                with self.stats.lock:
                    self.stats.interrupted[route] += 1
                raise Interrupted(route) from None
            except requests.Timeout:
                with self.stats.lock:
                    self.stats.interrupted[route] += 1
                raise Interrupted(route) from None
            self.stats.add(route, (time.perf_counter() - started) * 1000)
            if response.status_code not in expect:
                with self.stats.lock:
                    self.stats.errors[f"{route} {response.status_code}"] += 1
                print(f"error: {method} {path} -> {response.status_code} {response.text[:300]}", file=sys.stderr)
                return None
            if response.headers.get("Content-Type", "").startswith("application/json"):
                return response.json()
            return response.text
        raise RuntimeError("no web instance accepted a connection for 200 tries")

    def sign_in(self, username: str) -> None:
        page = self.call("GET", "/dang-nhap", "GET /dang-nhap")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        url = f"http://127.0.0.1:{self.ports[self.index]}/dang-nhap"
        answer = self.http.post(
            url,
            data={"csrf_token": token, "username": username, "password": PASSWORD},
            allow_redirects=False,
            timeout=60,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"signing in {username} failed: HTTP {answer.status_code}")


def _refused(exc: requests.ConnectionError) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


@dataclass
class DossierRecordOfClient:
    """What a client was answered about one dossier."""

    applicant: str
    code: str | None = None
    completed: list[str] = field(default_factory=list)
    start_retried: bool = False  # the start's answer was lost, and it was sent again with its key
    finished: bool = False


class Day:
    """The clients of one phase: clerks receiving and moving dossiers, supervisors reading."""

    def __init__(self, province: Province, ports: list[int], dossiers: int, clients: int, tag: str):
        self.province, self.ports, self.total, self.clients, self.tag = province, ports, dossiers, clients, tag
        self.stats = Stats()
        self.records: list[DossierRecordOfClient] = []
        self.next_number = 0
        self.done = 0
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.supervisor_reads = 0

    def _take(self) -> int | None:
        with self.lock:
            if self.next_number >= self.total:
                return None
            self.next_number += 1
            return self.next_number - 1

    def run(self, during=None) -> float:
        """Every dossier through its day; `during(day)` runs beside (the killer). Returns seconds."""
        clerks = [threading.Thread(target=self._clerk, args=(n,)) for n in range(self.clients)]
        readers = [threading.Thread(target=self._supervisor, args=(n,)) for n in range(2)]
        side = threading.Thread(target=during, args=(self,)) if during else None
        started = time.perf_counter()
        for thread in clerks + readers + ([side] if side else []):
            thread.start()
        for thread in clerks:
            thread.join()
        seconds = time.perf_counter() - started
        self.finished.set()
        for thread in readers + ([side] if side else []):
            thread.join()
        return seconds

    def _clerk(self, n: int) -> None:
        commune = self.province.communes[n % len(self.province.communes)]
        api = Client(self.ports, n, self.stats, self.province.tokens[commune])
        desk = Client(self.ports, n, self.stats)
        desk.sign_in(officer(commune))
        while (number := self._take()) is not None:
            record = DossierRecordOfClient(applicant=f"PD-{self.tag}-{number:05d}")
            with self.lock:
                self.records.append(record)
            try:
                self._one_dossier(api, commune, number, record)
            except Interrupted:
                pass  # an unknown outcome is not retried blindly; the check reads what became of it
            if number % 10 == 0:
                self._open_inbox(api, desk)
            with self.lock:
                self.done += 1

    def _one_dossier(self, api: Client, commune: str, number: int, record: DossierRecordOfClient) -> None:
        depth = steps_today(number)
        body = {
            "definition_id": self.province.definition_id,
            "unit_code": commune,
            "applicant": {"name": record.applicant, "phone": "0912345678"},
        }
        # The applicant's name is unique in the run: it is the start's idempotency key too.
        headers = {"Idempotency-Key": record.applicant}
        try:
            dossier = api.call(
                "POST", "/api/v1/dossiers", "POST /api/v1/dossiers", body, expect=(201,), headers=headers
            )
        except Interrupted:
            # The answer was lost: the same start with the same key is safe to send again.
            record.start_retried = True
            dossier = api.call(
                "POST", "/api/v1/dossiers", "POST /api/v1/dossiers", body, expect=(201,), headers=headers
            )
        if dossier is None:
            return
        record.code = dossier["code"]
        while len(record.completed) < depth and dossier and dossier.get("current_steps"):
            step = dossier["current_steps"][0]
            if step.get("assignee") is None:
                claimed = self._keyed(api, "claim", record, step, None)
                if claimed is None:
                    return
            dossier = self._keyed(api, "complete", record, step, {"data": STEP_DATA.get(step["element_id"], {})})
            if dossier is None:
                return
            record.completed.append(step["element_id"])
        record.finished = dossier is not None and not dossier.get("current_steps")

    @staticmethod
    def _keyed(api: Client, action: str, record: DossierRecordOfClient, step: dict, body: dict | None):
        """A step claimed or completed with an Idempotency-Key, sent again with the same key when
        its answer is lost. Reloading the dossier instead cannot tell a change that never happened
        from one still committing (the server died with it in hand, or is slow): the reload then
        shows the step open, the change sent again collides with the first one's commit and is
        refused. With the key, the copy that loses gets the first one's answer."""
        route = f"POST /api/v1/work-items/<id>/{action}"
        path = f"/api/v1/work-items/{step['id']}/{action}"
        headers = {"Idempotency-Key": f"{record.applicant}/{step['id']}/{action}"}
        try:
            return api.call("POST", path, route, body, headers=headers)
        except Interrupted:
            return api.call("POST", path, route, body, headers=headers)

    def _open_inbox(self, api: Client, desk: Client) -> None:
        try:
            api.call("GET", "/api/v1/work-items?filter=group", "GET /api/v1/work-items")
            desk.call("GET", "/ban-lam-viec/", "GET /ban-lam-viec/")
        except Interrupted:
            pass

    def _supervisor(self, n: int) -> None:
        api = Client(self.ports, n, self.stats, self.province.supervisor_token)
        desk = Client(self.ports, n + 1, self.stats)
        desk.sign_in("giam_sat")
        pages = (
            ("GET", "/giam-sat/", "GET /giam-sat/", desk),
            ("GET", "/giam-sat/nguy-co", "GET /giam-sat/nguy-co", desk),
            ("GET", "/api/v1/statistics", "GET /api/v1/statistics", api),
        )
        turn = 0
        while not self.finished.wait(0.25):
            method, path, route, client = pages[turn % len(pages)]
            turn += 1
            try:
                client.call(method, path, route)
                with self.lock:
                    self.supervisor_reads += 1
            except Interrupted:
                pass


def steps_today(number: int) -> int:
    """How far a dossier gets today: 10% wait at reception, 25% stop after it, 20% after the
    examination, 15% after the draft, 10% wait for the signature, 20% are returned to the applicant."""
    r = (number * 7919) % 100
    for limit, depth in ((10, 0), (35, 1), (55, 2), (70, 3), (80, 4)):
        if r < limit:
            return depth
    return 5


# -- one phase ------------------------------------------------------------------------------------------


@dataclass
class Topology:
    name: str
    web: int
    workers: int
    replica: bool
    kill: bool = False


def run_phase(pair: PostgresPair, topology: Topology, dossiers: int, clients: int) -> dict:
    database = f"motcua_{topology.name}_{uuid.uuid4().hex[:6]}"
    pair.create_database(database)
    url = pair.url(database)
    day_seconds = max(15.0, dossiers * DAY_SECONDS_PER_DOSSIER)
    rate = SIMULATED_DAY_S / day_seconds
    # The simulated day opens when the clients start: set-up and start-up run before opening time.
    anchor = datetime.now(UTC) + timedelta(seconds=STARTUP_ALLOWANCE_S)
    clock = AcceleratedClock(DAY_START, rate, anchor)
    province = prepare(url, clock)
    instance = Path(tempfile.mkdtemp(prefix=f"motcua-province-day-{topology.name}-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MOTCUA_SECRET_KEY": uuid.uuid4().hex,
        SIMULATED_CLOCK_VARIABLE: f"{DAY_START.isoformat()},{rate},{anchor.isoformat()}",
        "MOTCUA_LOG_LEVEL": "WARNING",
    }
    env.pop("MOTCUA_READ_DATABASE_URL", None)
    if topology.replica:
        env["MOTCUA_READ_DATABASE_URL"] = pair.url(database, replica=True)
    webs = [
        Service(
            f"web{n}",
            [str(MOTCUA), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env,
            instance,
            port,
        )
        for n, port in enumerate(free_port() for _ in range(topology.web))
    ]
    workers = [
        Service(f"worker{n}", [str(MOTCUA), "worker", "--poll", "0.5", "--worker-id", f"worker{n}"], env, instance)
        for n in range(topology.workers)
    ]
    kills: list[dict] = []
    try:
        for service in webs + workers:
            service.start()
        watch = ReplicaWatch(pair, database) if topology.replica else None
        replica_before = watch.replica_transactions() if watch else 0
        day = Day(province, [w.port for w in webs], dossiers, clients, topology.name)
        time.sleep(max(0.0, (anchor - datetime.now(UTC)).total_seconds()))
        if watch:
            watch.__enter__()
        try:
            seconds = day.run(during=killer(webs[0], workers[0], kills) if topology.kill else None)
            evening(clock, limit_s=max(10.0, seconds / 3))
            ended_at = clock.now()
            drained_s = drain(url, ended_at, timeout=90)
        finally:
            if watch:
                watch.__exit__()
        replica_reads = (watch.replica_transactions() - replica_before) if watch else 0
        metrics_lag = scraped_replica_lag(webs[-1].port) if watch else None
    finally:
        for service in webs + workers:
            service.stop()
    checks = check(url, env, day, ended_at)
    shutil.rmtree(instance, ignore_errors=True)
    checks["metrics_replica_lag_s"] = metrics_lag
    return summarise(topology, day, seconds, rate, drained_s, watch, replica_reads, kills, checks)


def scraped_replica_lag(port: int) -> float | None:
    """motcua_replica_lag_seconds as an operator's Prometheus reads it from /metrics."""
    found = re.search(
        r"^motcua_replica_lag_seconds (\S+)$",
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text,
        re.MULTILINE,
    )
    return float(found.group(1)) if found else None


def killer(web: Service, worker: Service, kills: list[dict]):
    """When 40% of the dossiers are done: SIGKILL a web instance and a worker, restart both a
    second later (systemd's Restart=always with RestartSec=1)."""

    def run(day: Day) -> None:
        while not day.finished.is_set():
            with day.lock:
                if day.done >= day.total * 0.4:
                    break
            time.sleep(0.05)
        if day.finished.is_set():
            return
        killed_at = time.perf_counter()
        web.kill()
        worker.kill()
        time.sleep(1.0)
        worker.start()
        web.start()
        kills.append(
            {
                "killed": [web.name, worker.name],
                "at_dossier": day.done,
                "back_after_s": round(time.perf_counter() - killed_at, 2),
            }
        )

    return run


def evening(clock: AcceleratedClock, limit_s: float) -> None:
    """Let the workers run on to the day's end (the reminders of the afternoon come due), at most
    `limit_s` real seconds."""
    day_end = DAY_START.timestamp() + SIMULATED_DAY_S
    left = (day_end - clock.now().timestamp()) / clock.rate
    if left > 0:
        time.sleep(min(left, limit_s))


def drain(url: str, ended_at: datetime, timeout: float) -> float:
    """Wait until the workers have done everything due when the clients stopped; seconds taken."""
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            with engine.connect() as conn:
                left = conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM dossier WHERE run_state = 'running' AND next_timer_at <= :t)"
                        " + (SELECT count(*) FROM outbox WHERE status = 'pending' AND available_at <= :t)"
                        " + (SELECT count(*) FROM work_item WHERE state IN ('open', 'claimed') AND next_sla_at <= :t)"
                    ),
                    {"t": ended_at},
                ).scalar()
            if not left:
                return round(time.perf_counter() - started, 2)
            time.sleep(0.5)
        return -1.0
    finally:
        engine.dispose()


# -- the checks: nothing lost, nothing twice ---------------------------------------------------------------


def check(url: str, env: dict, day: Day, ended_at: datetime) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        dossiers = conn.execute(text("SELECT id, code, applicant_name, run_state FROM dossier")).all()
        items = conn.execute(text("SELECT dossier_id, element_id, state, completed_at, id FROM work_item")).all()
        audit = conn.execute(
            text("SELECT dossier_id, work_item_id, action, at, detail FROM audit_event WHERE dossier_id IS NOT NULL")
        ).all()
        item_times = {
            row[0]: (row[1], row[2]) for row in conn.execute(text("SELECT id, warn_at, due_at FROM work_item")).all()
        }
        outbox = dict(conn.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all())
        notified = conn.execute(text("SELECT count(*), count(DISTINCT outbox_id) FROM notification")).first()
        incidents = conn.execute(text("SELECT count(*) FROM incident WHERE status <> 'resolved'")).scalar()
        late_timers = conn.execute(
            text("SELECT count(*) FROM dossier WHERE run_state = 'running' AND next_timer_at <= :t"), {"t": ended_at}
        ).scalar()
    engine.dispose()

    by_name = defaultdict(list)
    for row in dossiers:
        by_name[row.applicant_name].append(row)
    items_of = defaultdict(list)
    for row in items:
        items_of[row.dossier_id].append(row)
    events_of = defaultdict(list)
    for row in audit:
        events_of[row.dossier_id].append(row)

    problems: list[str] = []
    lost = duplicated = retried_starts = 0
    for record in day.records:
        found = by_name.get(record.applicant, [])
        retried_starts += record.start_retried
        if len(found) > 1:
            duplicated += len(found) - 1
            problems.append(f"{record.applicant}: {len(found)} dossiers")
        if not found:
            if record.code is not None:
                lost += 1
                problems.append(f"{record.applicant}: answered {record.code} but not in the database")
            continue
        dossier = found[0]
        if record.code is None:
            continue  # never answered, not even when sent again: the errors count it
        if record.code != dossier.code:
            lost += 1
            problems.append(f"{record.applicant}: answered {record.code}, the database has {dossier.code}")
            continue
        lost_here, twice_here = _compare(record, dossier, items_of[dossier.id], events_of[dossier.id], problems)
        lost += lost_here
        duplicated += twice_here
    extra = len({row.applicant_name for row in dossiers} - {r.applicant for r in day.records})
    if extra:
        problems.append(f"{extra} dossiers no client started")

    timer_lags, sla_lags = [], []
    sla_seen = Counter()
    for row in audit:
        detail = _json(row.detail)
        if row.action == "timer" and detail.get("due_at"):
            timer_lags.append((_utc(row.at) - datetime.fromisoformat(detail["due_at"])).total_seconds())
        elif row.action.startswith("sla_"):
            sla_seen[(row.work_item_id, row.action, detail.get("level"))] += 1
            warn_at, due_at = item_times.get(row.work_item_id, (None, None))
            due = warn_at if row.action == "sla_warning" else due_at if row.action == "sla_breach" else None
            if due is not None:
                sla_lags.append((_utc(row.at) - _utc(due)).total_seconds())
    sla_twice = sum(count - 1 for count in sla_seen.values() if count > 1)
    timers_twice = sum(max(0, sum(1 for e in events if e.action == "timer") - 1) for events in events_of.values())
    verify = subprocess.run([str(MOTCUA), "audit", "verify"], env=env, capture_output=True, text=True)
    for line in problems[:20]:
        print(f"check: {line}", file=sys.stderr)
    return {
        "dossiers_in_database": len(dossiers),
        "lost": lost,
        "duplicated": duplicated + sla_twice + timers_twice,
        "sla_levels_fired_twice": sla_twice,
        "timers_fired_twice": timers_twice,
        "starts_sent_again": retried_starts,
        "timers_due_unfired": late_timers,
        "outbox": outbox,
        "notifications": notified[0],
        "notifications_twice": notified[0] - notified[1],
        "open_incidents": incidents,
        "audit_verify_ok": verify.returncode == 0,
        "audit_verify": (verify.stdout + verify.stderr).strip().splitlines()[-1:] or [""],
        "problems": problems[:20],
        "timer_lag_sim_s": timer_lags,
        "sla_lag_sim_s": sla_lags,
    }


def _compare(record: DossierRecordOfClient, dossier, items, events, problems: list[str]) -> tuple[int, int]:
    """One dossier against its client's answers: (lost, duplicated)."""
    lost = twice = 0
    completed = [
        row.element_id
        for row in sorted(items, key=lambda r: (r.completed_at is None, r.completed_at, r.id))
        if row.state == "completed"
    ]
    if len(completed) != len(set(completed)):
        twice += len(completed) - len(set(completed))
        problems.append(f"{dossier.code}: a step completed twice {completed}")
    if completed[: len(record.completed)] != record.completed or len(completed) != len(record.completed):
        lost += 1
        problems.append(f"{dossier.code}: client completed {record.completed}, database has {completed}")
    open_items = [row for row in items if row.state in ("open", "claimed")]
    if len(open_items) != (0 if len(completed) == len(STEPS) else 1):
        problems.append(f"{dossier.code}: {len(open_items)} open steps after {completed}")
        lost += 1
    actions = Counter(event.action for event in events)
    if actions["start"] != 1:
        problems.append(f"{dossier.code}: {actions['start']} start events")
        twice += max(0, actions["start"] - 1)
        lost += actions["start"] == 0
    if actions["complete"] != len(completed):
        problems.append(f"{dossier.code}: {actions['complete']} completion events for {len(completed)} steps")
        lost += 1
    return lost, twice


def _json(value) -> dict:
    return json.loads(value) if isinstance(value, str) else (value or {})


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# -- the report ----------------------------------------------------------------------------------------------


def pct(values: list[float], p: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))], 2)


def summarise(
    topology: Topology,
    day: Day,
    seconds: float,
    rate: float,
    drained_s: float,
    watch: ReplicaWatch | None,
    replica_reads: int,
    kills: list[dict],
    checks: dict,
) -> dict:
    requests_done = sum(len(v) for v in day.stats.latencies.values())
    completions = len(day.stats.latencies.get("POST /api/v1/work-items/<id>/complete", []))
    timer_lags = [lag / rate for lag in checks.pop("timer_lag_sim_s")]
    sla_lags = [lag / rate for lag in checks.pop("sla_lag_sim_s")]
    return {
        "phase": topology.name,
        "web_instances": topology.web,
        "workers": topology.workers,
        "replica": topology.replica,
        "kills": kills,
        "dossiers": len(day.records),
        "client_threads": day.clients,
        "seconds": round(seconds, 1),
        "clock_rate": round(rate, 1),
        "requests": requests_done,
        "requests_per_s": round(requests_done / seconds, 1),
        "dossiers_per_s": round(len(day.records) / seconds, 1),
        "completions_per_s": round(completions / seconds, 1),
        "routes": {
            route: {"n": len(v), "p50_ms": pct(v, 50), "p95_ms": pct(v, 95)}
            for route, v in sorted(day.stats.latencies.items())
        },
        "errors": sum(day.stats.errors.values()),
        "error_routes": dict(day.stats.errors),
        "interrupted": dict(day.stats.interrupted),
        "failovers": day.stats.failovers,
        "timers_fired": len(timer_lags),
        "timer_lag_p50_s": pct(timer_lags, 50),
        "timer_lag_p95_s": pct(timer_lags, 95),
        "timer_lag_max_s": round(max(timer_lags), 2) if timer_lags else None,
        "sla_levels_fired": len(sla_lags),
        "sla_lag_p95_s": pct(sla_lags, 95),
        "sla_lag_max_s": round(max(sla_lags), 2) if sla_lags else None,
        "drain_s": drained_s,
        "replica_lag_max_s": round(max(watch.lag_s), 3) if watch and watch.lag_s else None,
        "replica_lag_p95_s": pct(watch.lag_s, 95) if watch else None,
        "replica_lag_max_bytes": max(watch.lag_bytes) if watch and watch.lag_bytes else None,
        "supervisor_reads": day.supervisor_reads,
        "replica_transactions": replica_reads,
        **checks,
    }


def print_phase(result: dict) -> None:
    print(
        f"\n== {result['phase']}: {result['web_instances']} web, {result['workers']} worker(s), "
        f"replica {'yes' if result['replica'] else 'no'}{', kills ' + str(result['kills']) if result['kills'] else ''}"
    )
    print(
        f"{result['dossiers']} dossiers, {result['requests']} requests in {result['seconds']} s: "
        f"{result['requests_per_s']} req/s, {result['dossiers_per_s']} dossiers/s, "
        f"{result['completions_per_s']} completions/s (clock x{result['clock_rate']})"
    )
    for route, figures in result["routes"].items():
        print(f"  {route:45} n={figures['n']:6}  p50 {figures['p50_ms']} ms  p95 {figures['p95_ms']} ms")
    print(
        f"errors {result['errors']} {result['error_routes']}; interrupted {result['interrupted']}; "
        f"failovers {result['failovers']}"
    )
    print(
        f"timers fired {result['timers_fired']}: lag p50 {result['timer_lag_p50_s']} s, "
        f"p95 {result['timer_lag_p95_s']} s, max {result['timer_lag_max_s']} s; SLA levels {result['sla_levels_fired']}: "
        f"lag p95 {result['sla_lag_p95_s']} s, max {result['sla_lag_max_s']} s; drained in {result['drain_s']} s"
    )
    if result["replica"]:
        print(
            f"replica lag max {result['replica_lag_max_s']} s ({result['replica_lag_max_bytes']} bytes), "
            f"p95 {result['replica_lag_p95_s']} s; {result['supervisor_reads']} supervisor reads, "
            f"{result['replica_transactions']} transactions on the replica; /metrics motcua_replica_lag_seconds "
            f"{result['metrics_replica_lag_s']}"
        )
    print(
        f"lost {result['lost']}, duplicated {result['duplicated']}, starts sent again with their key after "
        f"a lost answer {result['starts_sent_again']}, "
        f"timers due and unfired {result['timers_due_unfired']}, outbox {result['outbox']}, "
        f"notifications {result['notifications']} (twice {result['notifications_twice']}), "
        f"open incidents {result['open_incidents']}, audit verify {'ok' if result['audit_verify_ok'] else 'FAILED'} "
        f"{result['audit_verify']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small day (CI smoke test)")
    parser.add_argument("--dossiers", type=int, default=None, help="dossiers of the topology phase (5,000)")
    parser.add_argument("--clients", type=int, default=8, help="clerk client threads")
    args = parser.parse_args()
    dossiers = args.dossiers or (120 if args.quick else 5000)
    smaller = max(40, dossiers // 5)
    pair = PostgresPair().start()
    try:
        phases = [
            run_phase(pair, Topology("baseline", 1, 1, False), smaller, args.clients),
            run_phase(pair, Topology("topology", 2, 2, True), dossiers, args.clients),
            run_phase(pair, Topology("killed", 2, 2, True, kill=True), max(smaller, dossiers // 2), args.clients),
        ]
    finally:
        pair.stop()
    for result in phases:
        print_phase(result)
    baseline, topology, killed = phases
    ratio = round(topology["requests_per_s"] / baseline["requests_per_s"], 2)
    print(f"\nratio_topology_vs_baseline (requests/s) = {ratio}")
    print(
        json.dumps(
            {
                "benchmark": "province_day",
                "dossiers": dossiers,
                "errors": sum(p["errors"] for p in phases),
                "lost": sum(p["lost"] for p in phases),
                "duplicated": sum(p["duplicated"] for p in phases),
                "audit_verify_ok": all(p["audit_verify_ok"] for p in phases),
                "replica_transactions": topology["replica_transactions"] + killed["replica_transactions"],
                "requests_per_s": topology["requests_per_s"],
                "baseline_requests_per_s": baseline["requests_per_s"],
                "killed_requests_per_s": killed["requests_per_s"],
                "ratio_topology_vs_baseline": ratio,
                "phases": {p["phase"]: p for p in phases},
            },
            ensure_ascii=False,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
