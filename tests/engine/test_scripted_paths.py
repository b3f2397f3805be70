"""Which changes run template code, read from the parsed template: the snapshot pass on SQLite is
skipped only where nothing the change runs is a template author's code."""

from __future__ import annotations

from engine.bpmn import scripted
from engine.bpmn.parser import parse_bundle
from tests.conftest import BPMN_DIR


def paths(name: str) -> scripted.ScriptedPaths:
    return scripted.paths_of(parse_bundle({f"{name}.bpmn": (BPMN_DIR / f"{name}.bpmn").read_bytes()}, None))


def test_steps_followed_by_people_only_run_no_code_and_the_others_do():
    five = paths("five_steps")
    assert not five.on_start()
    assert five.after_step("tiep_nhan")  # the gateway after reception has conditions
    assert not five.after_step("du_thao")
    assert not five.after_step("tra_ket_qua")
    assert five.after_timers()  # the reminder timer runs a script


def test_a_timer_leading_to_a_person_runs_no_code_but_reaching_a_timer_does():
    escalate = paths("escalate_to_leader")
    assert not escalate.on_start()  # reaching the message catch evaluates nothing
    assert escalate.after_message("bo_sung_xong")  # the step it opens arms a timer: its expression runs
    assert not escalate.after_step("xu_ly")
    assert not escalate.after_timers()


def test_an_unknown_step_or_event_counts_as_code():
    five = paths("five_steps")
    assert five.after_step("khong_co")
    assert five.after_message("khong_co")


def test_a_receipt_runs_code_when_its_reception_step_is_followed_by_code():
    assert paths("five_steps").first_steps() == ["tiep_nhan"]
    assert paths("five_steps").on_reception()  # the gateway after reception
    assert paths("escalate_to_leader").first_steps() == []  # it waits for a message first
    assert paths("escalate_to_leader").on_reception()  # not one reception step: the write refuses it
