"""The web layer's CPU per API request, in process: the Flask app as `motcua serve` builds it (its
configuration from the environment, its access log on), on a fresh PostgreSQL database, driven by
Flask's test client through N dossiers of the five-step model (all starts, then rounds of claims
and completions, as benchmarks/http.py drives them). The CPU of each request is read inside the
WSGI call with the thread's CPU clock, so that the test client's own work does not count; the
PostgreSQL backends' CPU is read from /proc between phases. The statements per request are counted
first by an app of their own (COUNT_SQL): the measured app runs no counter, as production runs none.

With `--baseline-src DIR` (e.g. `git archive main | tar -x -C DIR`), that code is measured in
turns with this one (`--rounds`, the first alternating), each turn in a new process on a new
database; the last line holds each side's medians and the ratios current / baseline.

    python benchmarks/api_cpu.py [--dossiers N] [--baseline-src DIR [--rounds N]]

Needs PostgreSQL (MOTCUA_BENCH_POSTGRES_URL or MOTCUA_TEST_POSTGRES_URL). The last line printed
is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A turn measures the code of --src: it must come first on the path (this folder's calendar.py and
# http.py would also shadow the standard library's).
if "--src" in sys.argv:
    sys.path[0] = sys.argv[sys.argv.index("--src") + 1]
else:
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

KINDS = ("start", "claim", "complete")
WARM_UP_DOSSIERS = 5
COUNTED_DOSSIERS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100, help="dossiers per turn")
    parser.add_argument("--baseline-src", type=Path, default=None, help="a tree of the code to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each side with --baseline-src")
    parser.add_argument(
        "--batches",
        type=int,
        default=0,
        help="with --baseline-src: both sides served by one process each for the whole run, driven "
        "in this many alternated batches of --dossiers (the load drifts less between two batches "
        "than between two processes' turns)",
    )
    parser.add_argument("--src", default=None, help=argparse.SUPPRESS)  # measured in this process
    args = parser.parse_args()
    if args.src is not None:
        for figures in measured_turns(args.dossiers, max(args.batches, 1)):
            print(json.dumps(figures), flush=True)
        return
    if args.baseline_src is not None and args.batches:
        sides = {"baseline": args.baseline_src.resolve(), "current": ROOT}
        report(compare_in_batches(sides, args.dossiers, args.batches), args.dossiers)
        return
    sides = {"current": ROOT}
    if args.baseline_src is not None:
        sides = {"baseline": args.baseline_src.resolve(), "current": ROOT}
    turns: dict[str, list[dict]] = {side: [] for side in sides}
    for turn in range(args.rounds if args.baseline_src is not None else 1):
        order = list(sides) if turn % 2 == 0 else list(reversed(sides))
        for side in order:
            figures = _turn_in_process_of(sides[side], args.dossiers)
            turns[side].append(figures)
            print(f"turn {turn + 1} {side}: {_summary(figures)}", flush=True)
    report(turns, args.dossiers)


def _turn_in_process_of(source: Path, dossiers: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(
        [sys.executable, __file__, "--src", str(source), "--dossiers", str(dossiers)],
        env=env,
        cwd=tempfile.mkdtemp(prefix="motcua-bench-api-"),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"a turn failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def compare_in_batches(sides: dict[str, Path], dossiers: int, batches: int) -> dict[str, list[dict]]:
    """Each side in one process for the whole run, told when to drive its next batch, in turns."""
    children = {side: _batch_process(source, dossiers, batches) for side, source in sides.items()}
    for child in children.values():
        _next_line(child)  # ready: set up and warmed up
    turns: dict[str, list[dict]] = {side: [] for side in sides}
    for batch in range(batches):
        for side in list(sides) if batch % 2 == 0 else list(reversed(sides)):
            children[side].stdin.write("go\n")
            children[side].stdin.flush()
            turns[side].append(json.loads(_next_line(children[side])))
            print(f"batch {batch + 1} {side}: {_summary(turns[side][-1])}", flush=True)
    for child in children.values():
        child.wait(timeout=120)
    return turns


def _batch_process(source: Path, dossiers: int, batches: int) -> subprocess.Popen:
    folder = tempfile.mkdtemp(prefix="motcua-bench-api-")
    return subprocess.Popen(
        [sys.executable, __file__, "--src", str(source), "--dossiers", str(dossiers), "--batches", str(batches)],
        env={**os.environ, "PYTHONPATH": str(source)},
        cwd=folder,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=open(os.path.join(folder, "stderr.log"), "w"),  # noqa: SIM115  (a pipe nobody reads fills up)
        text=True,
    )


def _next_line(child: subprocess.Popen) -> str:
    line = child.stdout.readline()
    if not line:
        sys.exit(f"a side stopped: see {child.args} and its stderr.log")
    return line


# -- measured turns, in a process of its own ------------------------------------------------------------


def measured_turns(dossiers: int, batches: int = 1):
    """Start, claim and complete `dossiers` dossiers through the app, `batches` times; CPU per
    request of each kind for each batch. With more than one batch, each waits for a line on stdin
    (the other side is idle meanwhile) and "ready" is printed once set up."""
    from benchmarks.http import STEP_DATA
    from benchmarks.http import UNIT
    from benchmarks.http import _postgres_cpu
    from benchmarks.http import prepare
    from benchmarks.http import scratch_database

    server_url = os.environ.get("MOTCUA_BENCH_POSTGRES_URL") or os.environ.get("MOTCUA_TEST_POSTGRES_URL")
    with scratch_database(server_url) as database:
        token, definition_id = prepare(database.url)
        statements = _statements_per_request(database.url, token, definition_id)
        client, meter = _served_in_process(database.url)
        driver = Driver(client, token, definition_id, UNIT, STEP_DATA)
        driver.run(min(WARM_UP_DOSSIERS, dossiers), lambda kind: None)
        meter.counting = True
        counted = driver.run(min(COUNTED_DOSSIERS, dossiers), lambda kind: None)
        meter.counting = False
        calls = {kind: round(meter.calls[kind] / counted[kind]) for kind in KINDS}
        if batches > 1:
            print("ready", flush=True)
        for _ in range(batches):
            if batches > 1:
                sys.stdin.readline()
            figures = _one_batch(driver, meter, dossiers, lambda: _postgres_cpu(database.name))
            for kind in KINDS:
                figures[kind]["statements"] = statements[kind]
            yield figures | {"calls": calls}


def _one_batch(driver: Driver, meter: CpuMeter, dossiers: int, postgres_cpu) -> dict:
    meter.reset()
    postgres = {kind: 0.0 for kind in KINDS}
    marks = {"at": postgres_cpu()}

    def phase_ended(kind: str) -> None:
        now = postgres_cpu()
        postgres[kind] += now - marks["at"]
        marks["at"] = now

    counts = driver.run(dossiers, phase_ended)
    figures: dict = {
        kind: {
            "server_us": round(meter.spent[kind] * 1e6 / counts[kind]),
            "postgres_us": round(postgres[kind] * 1e3 / counts[kind]),
        }
        for kind in KINDS
    }
    total = sum((figures[kind]["server_us"] + figures[kind]["postgres_us"]) * counts[kind] for kind in KINDS)
    figures["per_completion_us"] = round(total / counts["complete"])
    figures["server_per_completion_us"] = round(
        sum(figures[kind]["server_us"] * counts[kind] for kind in KINDS) / counts["complete"]
    )
    return figures


class CpuMeter:
    """WSGI middleware: the thread's CPU spent in the app, by the kind of request being driven;
    while `counting`, the Python and C function calls made in it instead (deterministic, where
    the CPU figures move with the machine's load; sys.setprofile slows the calls it counts)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.kind = "start"
        self.counting = False
        self.reset()

    def reset(self) -> None:
        self.spent = {kind: 0.0 for kind in KINDS}
        self.calls = {kind: 0 for kind in KINDS}

    def __call__(self, environ, start_response):
        if self.counting:
            return self._counted(environ, start_response)
        started = time.thread_time()
        try:
            return list(self.wsgi_app(environ, start_response))  # the body is produced here too
        finally:
            self.spent[self.kind] += time.thread_time() - started

    def _counted(self, environ, start_response):
        calls = self.calls

        def count(frame, event, arg):
            if event == "call" or event == "c_call":
                calls[self.kind] += 1

        sys.setprofile(count)
        try:
            return list(self.wsgi_app(environ, start_response))
        finally:
            sys.setprofile(None)


def _served_in_process(url: str):
    """The app as each `motcua serve` worker builds it (web.wsgi) for this database, without the
    statement counter (production runs none; it costs Python calls on every statement)."""
    os.environ.update(DATABASE_URL=url, MOTCUA_SECRET_KEY=uuid.uuid4().hex)
    os.environ.pop("MOTCUA_COUNT_SQL", None)
    from web.wsgi import app

    return _metered_client(app)


def _metered_client(app):
    meter = CpuMeter(app.wsgi_app)
    app.wsgi_app = meter
    client = app.test_client()
    client.meter = meter
    return client, meter


def _statements_per_request(url: str, token: str, definition_id: int) -> dict[str, float]:
    """Round trips per request of each kind, counted by an app of their own (COUNT_SQL, answered
    in a header) before the measured app exists."""
    from benchmarks.http import STEP_DATA
    from benchmarks.http import UNIT
    from web.app import create_app
    from web.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "COUNT_SQL": True, "SECRET_KEY": uuid.uuid4().hex})
    driver = Driver(_metered_client(app)[0], token, definition_id, UNIT, STEP_DATA)
    driver.run(WARM_UP_DOSSIERS, lambda kind: None)
    driver.statements = dict.fromkeys(KINDS, 0)
    counts = driver.run(COUNTED_DOSSIERS, lambda kind: None)
    with app.app_context():
        db.engine.dispose()
    return {kind: round(driver.statements[kind] / counts[kind], 2) for kind in KINDS}


class Driver:
    """Dossiers through the API as benchmarks/http.py drives them, with a keep-alive client."""

    def __init__(self, client, token: str, definition_id: int, unit: str, step_data: dict):
        self.client, self.definition_id, self.unit, self.step_data = client, definition_id, unit, step_data
        self.headers = {"Authorization": f"Bearer {token}"}
        self.statements = {kind: 0 for kind in KINDS}

    def run(self, dossiers: int, phase_ended) -> dict[str, int]:
        counts = {kind: 0 for kind in KINDS}
        steps = [
            self._first_step(self._call("start", "/api/v1/dossiers", self._start_body(n))) for n in range(dossiers)
        ]
        counts["start"] += dossiers
        phase_ended("start")
        while any(steps):
            for step in steps:
                if step is not None and step.get("assignee") is None:
                    self._call("claim", f"/api/v1/work-items/{step['id']}/claim", None)
                    counts["claim"] += 1
            phase_ended("claim")
            counts["complete"] += sum(step is not None for step in steps)
            steps = [self._complete(step) if step is not None else None for step in steps]
            phase_ended("complete")
        return counts

    def _complete(self, step: dict) -> dict | None:
        body = {"data": self.step_data.get(step["element_id"], {})}
        return self._first_step(self._call("complete", f"/api/v1/work-items/{step['id']}/complete", body))

    def _start_body(self, n: int) -> dict:
        return {"definition_id": self.definition_id, "unit_code": self.unit, "applicant": {"name": f"Người nộp {n}"}}

    def _call(self, kind: str, path: str, body: dict | None) -> dict:
        self.client.meter.kind = kind
        # The content type on every request, a claim's empty body too, as http.py's client sends it.
        response = self.client.post(path, json=body, headers=self.headers, content_type="application/json")
        if response.status_code not in (200, 201):
            raise SystemExit(
                f"unexpected HTTP {response.status_code} for {path}: {response.get_data(as_text=True)[:500]}"
            )
        self.statements[kind] += int(response.headers.get("X-Motcua-Statements", "0"))
        return response.get_json()

    @staticmethod
    def _first_step(dossier: dict) -> dict | None:
        steps = dossier.get("current_steps") or []
        return steps[0] if steps else None


# -- the report -----------------------------------------------------------------------------------------


def _summary(figures: dict) -> str:
    kinds = ", ".join(
        f"{kind} {figures[kind]['server_us']} + {figures[kind]['postgres_us']} us "
        f"({figures[kind]['statements']} st., {figures['calls'][kind]} calls)"
        for kind in KINDS
    )
    return f"per completion {figures['per_completion_us']} us (server {figures['server_per_completion_us']}); {kinds}"


def report(turns: dict[str, list[dict]], dossiers: int) -> None:
    medians = {side: _medians(side_turns) for side, side_turns in turns.items()}
    result = {"benchmark": "api_cpu", "dossiers": dossiers, "turns": len(turns["current"]), **medians}
    if "baseline" in medians:
        old, new = medians["baseline"], medians["current"]
        result["ratio_current_vs_baseline"] = {key: round(new[key] / old[key], 3) for key in new if old.get(key)}
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))


def _medians(side_turns: list[dict]) -> dict:
    flat = [_flattened(figures) for figures in side_turns]
    return {key: round(statistics.median(f[key] for f in flat), 2) for key in flat[0]}


def _flattened(figures: dict) -> dict:
    flat = {key: value for key, value in figures.items() if not isinstance(value, dict)}
    for kind in KINDS:
        for part, value in figures[kind].items():
            flat[f"{kind}_{part}"] = value
        flat[f"{kind}_calls"] = figures["calls"][kind]
    return flat


if __name__ == "__main__":
    main()
