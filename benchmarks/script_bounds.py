"""What the run-time bounds of template code cost per step (issue 12, item 1).

A dossier of five_steps whose first two steps end with a typical script (a list built with
f-strings, a sorted copy, string methods, a sum) and whose gateway has a condition; each step
is loaded from its saved state, completed, run to the next human step and saved again. Timed:

* plain: SpiffWorkflow's own TaskDataEnvironment (eval/exec, no bounds);
* bounded: what the engine runs (the AST-rewritten code charging operations and checking the
  deadline, the step's time limit, the state-size walk before saving);
* settrace: plain, plus a sys.settrace tracer checking a deadline on every line (the other way to
  bound time without a process);
* tracemalloc: bounded, plus tracemalloc tracing every allocation (the other way to bound memory).

Prints per-step medians, then one JSON object as the last line (ratio = bounded / plain).
BENCH_DOSSIERS sets the dossiers per variant (default 300)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import tracemalloc
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine.bpmn import state_size  # noqa: E402
from engine.bpmn.parser import parse_bundle  # noqa: E402
from engine.bpmn.script_env import make_script_engine  # noqa: E402
from engine.bpmn.script_env import step_time_limit  # noqa: E402
from engine.bpmn.serializer import dump_state  # noqa: E402
from engine.bpmn.serializer import load_state  # noqa: E402

MODEL = ROOT / "tests" / "bpmn" / "five_steps.bpmn"
DOSSIERS = int(os.environ.get("BENCH_DOSSIERS", "300"))
SCRIPT = """dong = [f'{i + 1:>2}. {g.upper()}' for i, g in enumerate(sorted(giay_to))]
tong = sum(len(g) for g in giay_to)
tom_tat = '; '.join(dong)
du = len(giay_to) >= 3 and tong > 10"""
ANSWERS = [
    {"giay_to": ["Tờ khai", "CCCD", "Giấy khai sinh", "Sổ hộ khẩu", "Ảnh 4x6", "Giấy ủy quyền"]},
    {"hop_le": True},
    {},
    {},
    {},
]


def model_with_scripts() -> bytes:
    text = MODEL.read_text().replace(
        "xmlns:motcua=", 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:motcua='
    )
    for step in ('<motcua:step role="mot_cua" budget="4h" status="2"/>',):
        text = text.replace(step, step + f"<spiffworkflow:postScript>{SCRIPT}</spiffworkflow:postScript>")
    return text.encode()


def helpers() -> dict:
    return {"add_working_hours": lambda start, hours: (datetime.now(UTC) + timedelta(hours=hours)).isoformat()}


def deadline_tracer(seconds: float):
    deadline = time.monotonic() + seconds

    def trace(frame, event, arg):
        if time.monotonic() > deadline:
            raise TimeoutError("step ran too long")
        return trace

    return trace


def run(variant: str, bundle) -> list[float]:
    bounded = variant in ("bounded", "tracemalloc")
    engine = (
        make_script_engine(helpers()) if bounded else PythonScriptEngine(environment=TaskDataEnvironment(helpers()))
    )
    steps = []
    if variant == "tracemalloc":
        tracemalloc.start()
    try:
        for _ in range(DOSSIERS):
            wf = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=engine)
            wf.do_engine_steps()
            state = dump_state(wf)
            for answer in ANSWERS:
                began = time.perf_counter()
                wf = load_state(state, bundle)
                wf.script_engine = engine
                task = wf.get_next_task(state=TaskState.READY, manual=True)
                task.data.update(answer)
                if variant == "settrace":
                    sys.settrace(deadline_tracer(5.0))
                try:
                    with step_time_limit() if bounded else _nothing():
                        task.run()
                        wf.do_engine_steps()
                finally:
                    sys.settrace(None)
                if bounded:
                    state_size.largest_data(wf, state_size.MAX_STATE_CHARS)
                state = dump_state(wf)
                steps.append(time.perf_counter() - began)
    finally:
        if variant == "tracemalloc":
            tracemalloc.stop()
    return steps


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main() -> None:
    bundle = parse_bundle({"five_steps.bpmn": model_with_scripts()})
    run("plain", bundle)  # warm-up: compile caches, imports
    medians, scripted = {}, {}
    for variant in ("plain", "bounded", "settrace", "tracemalloc"):
        per_step = run(variant, bundle)
        medians[variant] = statistics.median(per_step) * 1000
        scripted[variant] = statistics.median(per_step[:: len(ANSWERS)]) * 1000  # the step whose script runs
        print(
            f"{variant:12} median {medians[variant]:.3f} ms per step over {len(per_step)} steps; "
            f"the scripted step {scripted[variant]:.3f} ms"
        )
    result = {
        "dossiers": DOSSIERS,
        **{f"{k}_ms": round(v, 3) for k, v in medians.items()},
        **{f"{k}_scripted_step_ms": round(v, 3) for k, v in scripted.items()},
        "scripted_step_ratio": round(scripted["bounded"] / scripted["plain"], 3),
        "ratio": round(medians["bounded"] / medians["plain"], 3),
        "settrace_ratio": round(medians["settrace"] / medians["plain"], 3),
        "tracemalloc_ratio": round(medians["tracemalloc"] / medians["plain"], 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
