"""Attack (issue 12, item 5), the paths completions left open: a template whose script is slow at
a dossier's start, after a BPMN message or after a timer held SQLite's database-wide write lock
while it ran. Outcome: those scripts run on a read snapshot before the write lock is taken;
another desk, with its own connections as another process would have, starts a dossier while
the slow script is still running; and the slow change lands as before, its script run once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from engine.domain.assignment import Actor
from engine.services import definitions
from engine.services import dossiers
from engine.services import scripting
from engine.services import timers
from engine.services.runtime import Runtime
from engine.store.database import Database
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture
from tests.hostile.script_fixtures import deploy_with_reception_script
from tests.hostile.script_fixtures import open_items
from tests.hostile.script_fixtures import start

#: How long a slow script waits for the other desk before giving up (only reached on failure).
PATIENCE_SECONDS = 10.0


def _script(task_id: str, label: str, incoming: str, outgoing: str) -> str:
    return (
        f'<bpmn:scriptTask id="{task_id}"><bpmn:incoming>{incoming}</bpmn:incoming>'
        f"<bpmn:outgoing>{outgoing}</bpmn:outgoing>"
        f"<bpmn:script>hold('{label}')\nbuoc_{label} = counted('{label}')</bpmn:script></bpmn:scriptTask>"
    )


def deploy_scripted_events(rt):
    """escalate_to_leader with a script after its start, after its message and after its timer."""
    bpmn = (BPMN_DIR / "escalate_to_leader.bpmn").read_text()
    bpmn = bpmn.replace(
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="cho_bo_sung"/>',
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="s_start"/>'
        '<bpmn:sequenceFlow id="f1b" sourceRef="s_start" targetRef="cho_bo_sung"/>',
    )
    bpmn = bpmn.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="cho_bo_sung" targetRef="xu_ly"/>',
        '<bpmn:sequenceFlow id="f2" sourceRef="cho_bo_sung" targetRef="s_msg"/>'
        '<bpmn:sequenceFlow id="f2b" sourceRef="s_msg" targetRef="xu_ly"/>',
    )
    bpmn = bpmn.replace(
        '<bpmn:sequenceFlow id="f_esc" sourceRef="qua_han" targetRef="lanh_dao_xu_ly"/>',
        '<bpmn:sequenceFlow id="f_esc" sourceRef="qua_han" targetRef="s_timer"/>'
        '<bpmn:sequenceFlow id="f_escb" sourceRef="s_timer" targetRef="lanh_dao_xu_ly"/>',
    )
    bpmn = bpmn.replace(
        '<bpmn:endEvent id="done">',
        _script("s_start", "start", "f1", "f1b")
        + _script("s_msg", "msg", "f2", "f2b")
        + _script("s_timer", "timer", "f_esc", "f_escb")
        + '<bpmn:endEvent id="done">',
    )
    bpmn = bpmn.replace(
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>\n      <bpmn:messageEventDefinition",
        "<bpmn:incoming>f1b</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>\n      <bpmn:messageEventDefinition",
    )
    bpmn = bpmn.replace(
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
        "<bpmn:incoming>f2b</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
    )
    bpmn = bpmn.replace(
        "<bpmn:incoming>f_esc</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>",
        "<bpmn:incoming>f_escb</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>",
    )
    return definitions.deploy(rt, {"escalate_to_leader.bpmn": bpmn.encode()})


class SlowScripts:
    """Script helpers: `hold(label)` lasts, for the label under test, until the other desk has
    written (or gives up); `counted(label)` counts every run of a label's script."""

    def __init__(self, slow_label: str):
        self.slow_label = slow_label
        self.running, self.other_desk_done = threading.Event(), threading.Event()
        self.runs: Counter = Counter()
        self.other_desk_wrote_meanwhile: bool | None = None

    def hold(self, label: str) -> None:
        if label == self.slow_label and not self.running.is_set():
            self.running.set()
            self.other_desk_wrote_meanwhile = self.other_desk_done.wait(PATIENCE_SECONDS)

    def counted(self, label: str) -> int:
        self.runs[label] += 1
        return self.runs[label]


@pytest.fixture
def slow(request, monkeypatch):
    scripts = SlowScripts(request.param)
    helpers_for = scripting.helpers_for
    monkeypatch.setattr(
        scripting,
        "helpers_for",
        lambda calendar, clock: {**helpers_for(calendar, clock), "hold": scripts.hold, "counted": scripts.counted},
    )
    return scripts


def while_another_desk_writes(runtime, scripts: SlowScripts, slow_change) -> dict:
    """Run `slow_change` in a thread; once its slow script runs, another desk (its own database
    connections) starts a dossier of a template without scripts. Returns what each side got."""
    outcome: dict = {}
    plain = deploy_fixture(runtime, "five_steps")

    def run_slow_change():
        try:
            outcome["slow"] = slow_change()
        except Exception as err:  # noqa: BLE001 - reported by the callers' assertions
            outcome["slow_error"] = err

    thread = threading.Thread(target=run_slow_change)
    thread.start()
    assert scripts.running.wait(PATIENCE_SECONDS), outcome.get("slow_error")
    other_db = Database(runtime.db.url)
    try:
        outcome["other"] = start(Runtime(db=other_db, clock=runtime.clock, worker_id="other-desk"), plain)
    except Exception as err:  # noqa: BLE001 - the other desk's refusal is what the callers assert on
        outcome["other_error"] = err
    finally:
        scripts.other_desk_done.set()
        other_db.dispose()
    thread.join(PATIENCE_SECONDS * 2)
    assert "other_error" not in outcome and "slow_error" not in outcome, outcome
    assert scripts.other_desk_wrote_meanwhile is True
    assert [i.element_id for i in open_items(runtime, outcome["other"].id)] == ["tiep_nhan"]
    return outcome


@pytest.mark.parametrize("slow", ["start"], indirect=True)
def test_another_desk_writes_while_a_slow_start_script_runs(runtime, slow):
    add_units(runtime)
    definition = deploy_scripted_events(runtime)

    outcome = while_another_desk_writes(runtime, slow, lambda: start(runtime, definition))

    dossier = outcome["slow"]
    # The slow start took its number before its script ran; the other desk got the next one.
    assert dossier.code.endswith("-0001") and outcome["other"].code.endswith("-0002")
    assert open_items(runtime, dossier.id) == []  # waiting for the supplement message
    assert slow.runs == Counter(start=1)


@pytest.mark.parametrize("slow", ["msg"], indirect=True)
def test_another_desk_writes_while_a_slow_script_runs_after_a_message(runtime, slow):
    add_units(runtime)
    dossier = start(runtime, deploy_scripted_events(runtime))

    while_another_desk_writes(
        runtime, slow, lambda: dossiers.send_message(runtime, dossier.id, "bo_sung_xong", RECEPTION, {"giay_to": "đủ"})
    )

    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["xu_ly"]
    assert slow.runs == Counter(start=1, msg=1)


@pytest.mark.parametrize("slow", ["timer"], indirect=True)
def test_another_desk_writes_while_a_slow_script_runs_after_a_timer(runtime, clock, slow):
    add_units(runtime)
    dossier = start(runtime, deploy_scripted_events(runtime))
    dossiers.send_message(runtime, dossier.id, "bo_sung_xong", RECEPTION)
    clock.advance(timedelta(hours=5))

    outcome = while_another_desk_writes(runtime, slow, lambda: timers.fire_due_timers(runtime))

    assert outcome["slow"] == 1
    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["lanh_dao_xu_ly"]
    assert slow.runs == Counter(start=1, msg=1, timer=1)
    assert timers.fire_due_timers(runtime) == 0  # fired once; nothing left due


@pytest.mark.parametrize("slow", ["reception"], indirect=True)
def test_another_desk_writes_while_a_slow_script_runs_in_a_reception_at_the_counter(runtime, slow):
    """Reception in one pass (start and reception step in one change, as the desk's form does)."""
    definition = deploy_with_reception_script(runtime, "hold('reception')\nbuoc_reception = counted('reception')")

    outcome = while_another_desk_writes(
        runtime,
        slow,
        lambda: dossiers.receive_dossier(
            runtime,
            definition_id=definition.id,
            unit_code="00070",
            applicant_name="Trần Thị B",
            actor=RECEPTION,
            reception={"ghi_chu": "đủ giấy tờ"},
            check_reception=lambda _s, _definition, _form, data: data,
        ),
    )

    dossier, item = outcome["slow"]
    assert dossier.code.endswith("-0001") and outcome["other"].code.endswith("-0002")
    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["tham_dinh"]
    assert slow.runs == Counter(reception=1)
    with runtime.db.session() as s:
        assert s.get(WorkItemRecord, item.id).outcome == {"ghi_chu": "đủ giấy tờ"}


def test_changes_that_run_no_template_code_take_no_read_snapshot(runtime, clock, monkeypatch):
    """The snapshot pass costs a read transaction and a second run; a start, a step or a timer
    after which only people's steps follow is written at once (the same outcome either way)."""
    add_units(runtime)
    snapshots = []
    read_session = runtime.db.read_session
    monkeypatch.setattr(runtime.db, "read_session", lambda: snapshots.append(1) or read_session())
    five = deploy_fixture(runtime, "five_steps")
    escalate = deploy_fixture(runtime, "escalate_to_leader")
    waiting = start(runtime, escalate)
    dossier = start(runtime, five)
    for step, data in (("tiep_nhan", {}), ("tham_dinh", {"hop_le": True})):
        [item] = open_items(runtime, dossier.id)
        assert item.element_id == step
        dossiers.complete_work_item(runtime, item.id, Actor("x", frozenset({"mot_cua", "chuyen_vien"}), "00070"), data)
    taken_with_code = len(snapshots)
    [drafting] = open_items(runtime, dossier.id)
    dossiers.complete_work_item(runtime, drafting.id, Actor("x", frozenset({"chuyen_vien"}), "00070"), {})
    dossiers.send_message(runtime, waiting.id, "bo_sung_xong", RECEPTION)  # arms a timer: code
    taken_with_code_and_message = len(snapshots)
    clock.advance(timedelta(hours=5))
    assert timers.fire_due_timers(runtime) == 1  # the escalation leads to a person only

    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["ky_duyet"]
    assert [i.element_id for i in open_items(runtime, waiting.id)] == ["lanh_dao_xu_ly"]
    expected = (2, 3) if runtime.db.engine.dialect.name == "sqlite" else (0, 0)
    assert (taken_with_code, taken_with_code_and_message) == expected
    assert len(snapshots) == expected[1]
