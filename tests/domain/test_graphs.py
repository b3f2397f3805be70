"""The longest budgeted path, written once for the modeller's check and the dossier's forecast."""

from __future__ import annotations

from engine.domain.graphs import forward_edges
from engine.domain.graphs import heaviest_path

# start -> receive -> check -> (return to receive | sign -> end); check and sign share a budget group.
FLOW = {"start": ["receive"], "receive": ["check"], "check": ["receive", "sign", "end"], "sign": ["end"]}
BUDGETS = {"receive": 60, "check": 240, "sign": 120}
GROUP = {"check": "appraisal", "sign": "appraisal"}
GROUP_BUDGET = 300


def weight(node: str, counted: frozenset[str]) -> tuple[int, frozenset[str]]:
    group = GROUP.get(node)
    if group is None:
        return BUDGETS.get(node, 0), counted
    return (0, counted) if group in counted else (GROUP_BUDGET, counted | {group})


def test_a_return_loop_counts_once_and_a_budget_group_once_per_path():
    forward = forward_edges(["start"], FLOW)
    path, minutes = heaviest_path(forward, ["start"], weight, ends=lambda node: node == "end")
    assert minutes == 60 + GROUP_BUDGET
    assert path[:3] == ["start", "receive", "check"] and path[-1] == "end"


def test_what_remains_after_a_step_leaves_out_what_the_path_already_counted():
    forward = forward_edges(["start"], FLOW)

    def after_check(node: str, counted: frozenset[str]) -> tuple[int, frozenset[str]]:
        return (0, counted) if node == "check" else weight(node, counted)

    assert heaviest_path(forward, ["check"], after_check, counted=frozenset({"appraisal"}))[1] == 0
    assert heaviest_path(forward, ["check"], after_check)[1] == GROUP_BUDGET  # the group not yet counted


def test_no_end_reached_is_an_empty_path():
    assert heaviest_path({"a": ["b"]}, ["a"], weight, ends=lambda node: node == "end") == ([], 0)
