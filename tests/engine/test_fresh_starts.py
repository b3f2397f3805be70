"""A dossier's start copied from a template's pristine start (engine.bpmn.fresh_starts) must be
the start itself: with SpiffWorkflow's ids and clock made repeatable, the state written is the
same text, before and after its first step is completed; a start whose path evaluates anything,
or whose data a copy could not carry as SpiffWorkflow does, runs as before."""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from datetime import UTC
from datetime import datetime

import pytest
import SpiffWorkflow.task as spiff_task

from configurator import library
from engine.bpmn import fresh_starts
from engine.bpmn import runner
from engine.bpmn.parser import parse_bundle
from engine.bpmn.serializer import dump_state
from engine.calendars import CalendarSettings
from engine.calendars import build_calendar
from engine.clock import FrozenClock
from engine.domain.errors import ExpressionError
from engine.services.scripting import script_engine_for
from tests.factories import BPMN_DIR

CLOCK = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
CALENDAR = build_calendar([CalendarSettings(code="VN")], [])
DATA = {"dossier_code": "01.00070-260302-0001", "unit_code": "00070", "received_at": "2026-03-02T08:00:00+07:00"}
#: A gateway on the start data right after the start: its path depends on each dossier's data.
BY_UNIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="https://motcua.vn/tests">
  <bpmn:process id="by_unit" name="By unit" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gw" default="f3">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="here" name="Here"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="other" name="Other"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="here">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">unit_code == "00070"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="other"/>
    <bpmn:sequenceFlow id="f4" sourceRef="here" targetRef="end"/>
    <bpmn:sequenceFlow id="f5" sourceRef="other" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _engine():
    return script_engine_for(CALENDAR, CLOCK)


def _templates():
    found = [(p.stem, {p.name: p.read_bytes()}) for p in sorted(BPMN_DIR.glob("*.bpmn")) if "fee" not in p.stem]
    for procedure in library.procedures():
        for version in procedure.versions():
            files = {"process.bpmn": procedure.bpmn(version), **procedure.decision_tables(version)}
            found.append((f"{procedure.key} {version}", files))
    return found


TEMPLATES = _templates()


@pytest.fixture(autouse=True)
def _forget_pristines(monkeypatch):
    monkeypatch.setattr(fresh_starts, "_PRISTINE", fresh_starts._Pristines())


@pytest.fixture
def repeatable(monkeypatch):
    """SpiffWorkflow's task ids and clock made repeatable: `again()` restarts the ids."""

    class Repeatable:
        def again(self) -> None:
            numbers = itertools.count(1)

            def next_id() -> uuid.UUID:
                return uuid.UUID(int=next(numbers))

            monkeypatch.setattr(spiff_task, "uuid4", next_id)
            monkeypatch.setattr(fresh_starts.uuid, "uuid4", next_id)

    monkeypatch.setattr(time, "time", lambda: 1_780_000_000.0)
    repeatable = Repeatable()
    repeatable.again()
    return repeatable


def _both(bundle, repeatable, data=DATA) -> tuple[runner.Run, runner.Run]:
    fresh_starts.start(bundle, CLOCK, _engine(), data)  # the pristine made (ids drawn) first
    repeatable.again()
    started = runner.start(bundle, CLOCK, _engine(), data)
    repeatable.again()
    copied = fresh_starts.start(bundle, CLOCK, _engine(), data)
    return started, copied


def _complete_first(run: runner.Run) -> str:
    """The state after the first step is completed, or the refusal (a form field missing)."""
    try:
        run.complete(run.human_tasks()[0].task_id, {"ghi_chu": "xong"})
    except ExpressionError as refused:
        return str(refused)
    return dump_state(run.workflow)


@pytest.mark.parametrize(("name", "files"), TEMPLATES, ids=[name for name, _ in TEMPLATES])
def test_a_copied_start_writes_the_state_the_start_writes(name, files, repeatable):
    bundle = parse_bundle(files)
    started, copied = _both(bundle, repeatable)
    assert dump_state(copied.workflow) == dump_state(started.workflow)
    assert copied.dump() == dump_state(started.workflow)  # the texts the copy's writer was given
    assert copied.human_tasks() == started.human_tasks()
    if not started.human_tasks():
        return  # it waits for a message first (escalate_to_leader): never copied
    repeatable.again()
    after_start = _complete_first(started)
    repeatable.again()
    assert _complete_first(copied) == after_start
    assert copied.dump() == dump_state(copied.workflow)  # only the tasks the step changed written again


@pytest.mark.parametrize(("name", "files"), TEMPLATES, ids=[name for name, _ in TEMPLATES])
def test_a_copy_changed_before_its_first_state_writes_what_changed(name, files, repeatable):
    """A commune's skipped step is passed before the start's state is written (projection)."""
    bundle = parse_bundle(files)
    started, copied = _both(bundle, repeatable)
    if not started.human_tasks():
        return
    repeatable.again()
    after_start = _complete_first(started)
    repeatable.again()
    assert _complete_first(copied) == after_start
    assert copied.dump() == dump_state(copied.workflow)


def _pristine_texts(files):
    return fresh_starts._PRISTINE.of(parse_bundle(files), tuple(DATA), CLOCK).texts


def test_the_library_and_the_five_step_model_give_copies_their_texts():
    library_versions = {f"{p.key} {version}" for p in library.procedures() for version in p.versions()}
    written = {
        name for name, files in TEMPLATES if name in {"five_steps", *library_versions} and _pristine_texts(files)
    }
    assert written == {"five_steps", *library_versions}


@pytest.mark.parametrize(
    "values",
    [
        {"ho_ten": 'Nguyễn "Văn" \\ {0} }{ \u2028\n\x00', "so": 3, "ty_le": 0.1, "co": True, "khong": None},
        {"so": -(2**70), "ty_le": 1e300, "co": False, "rong": ""},
        {"ty_le": float("nan")},
        {"ty_le": float("inf")},
    ],
    ids=["text and numbers", "big numbers", "NaN", "infinity"],
)
def test_a_copys_texts_are_its_own_for_every_kind_of_value(values, repeatable):
    bundle = parse_bundle({"five_steps.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()})
    started, copied = _both(bundle, repeatable, {**DATA, **values})
    assert copied.dump() == dump_state(started.workflow)
    repeatable.again()
    after_start = _complete_first(started)
    repeatable.again()
    assert _complete_first(copied) == after_start
    assert copied.dump() == after_start


def test_a_copy_made_later_writes_its_own_stamps(monkeypatch):
    """Each task's clock stamp moved by the time since the pristine: a float of its own digits."""
    ticks = itertools.count()
    monkeypatch.setattr(time, "time", lambda: 1_780_000_000.123457 + next(ticks) * 0.370001)
    bundle = parse_bundle({"five_steps.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()})
    fresh_starts.start(bundle, CLOCK, _engine(), DATA)
    copied = fresh_starts.start(bundle, CLOCK, _engine(), DATA)
    stamps = {task.last_state_change for task in copied.workflow.tasks.values()}
    assert min(stamps) > 1_780_000_000.123457
    assert copied.dump() == dump_state(copied.workflow)


def test_the_library_and_the_five_step_model_start_by_copies():
    copied = {name for name, files in TEMPLATES if fresh_starts._PRISTINE.of(parse_bundle(files), tuple(DATA), CLOCK)}
    library_versions = {f"{p.key} {version}" for p in library.procedures() for version in p.versions()}
    assert {"five_steps", *library_versions} <= copied
    assert "escalate_to_leader" not in copied  # it waits for a message first


def test_copies_share_no_data_with_each_other():
    bundle = parse_bundle({"five_steps.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()})
    first = fresh_starts.start(bundle, CLOCK, _engine(), DATA)
    second = fresh_starts.start(bundle, CLOCK, _engine(), {**DATA, "dossier_code": "01.00070-260302-0002"})
    _complete_first(first)
    assert second.human_tasks()[0].data["dossier_code"] == "01.00070-260302-0002"
    assert "ghi_chu" not in second.human_tasks()[0].data
    assert {t.id for t in first.workflow.tasks.values()}.isdisjoint(second.workflow.tasks)


def test_a_start_that_evaluates_its_data_runs_for_each_dossier():
    bundle = parse_bundle({"by_unit.bpmn": BY_UNIT})
    here = fresh_starts.start(bundle, CLOCK, _engine(), DATA)
    other = fresh_starts.start(bundle, CLOCK, _engine(), {**DATA, "unit_code": "00071"})
    assert [t.element_id for t in here.human_tasks()] == ["here"]
    assert [t.element_id for t in other.human_tasks()] == ["other"]
    assert fresh_starts._PRISTINE.of(bundle, tuple(DATA), CLOCK) is None


@pytest.mark.parametrize(
    "data", [{**DATA, "ho_so": {"giay_to": ["cccd"]}}, {**DATA, "so_ban": [1, 2]}], ids=["a dict", "a list"]
)
def test_data_holding_containers_start_as_before(data, repeatable):
    bundle = parse_bundle({"five_steps.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()})
    started, copied = _both(bundle, repeatable, data)
    assert dump_state(copied.workflow) == dump_state(started.workflow)
    assert not fresh_starts._PRISTINE._entries  # never made: each start runs itself


def test_with_spiffworkflows_own_logs_on_each_start_runs_itself():
    spiff_log = logging.getLogger("spiff.task")
    level = spiff_log.level
    spiff_log.setLevel(logging.INFO)  # as MOTCUA_SPIFF_LOG=1 sets it (engine.logs)
    try:
        bundle = parse_bundle({"five_steps.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()})
        fresh_starts.start(bundle, CLOCK, _engine(), DATA)
    finally:
        spiff_log.setLevel(level)
    assert not fresh_starts._PRISTINE._entries


def test_reserved_keys_are_refused_on_a_copy_too():
    bundle = parse_bundle({"five_steps.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()})
    fresh_starts.start(bundle, CLOCK, _engine(), DATA)
    with pytest.raises(Exception) as refused:
        fresh_starts.start(bundle, CLOCK, _engine(), {**DATA, "typename": "x"})
    assert "reserves" in str(refused.value)
