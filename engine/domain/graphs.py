"""Small graph helpers for process diagrams (plain ids, no BPMN library)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

#: weight(node, counted) -> (the node's weight, what the path has counted after it)
Weight = Callable[[str, frozenset[str]], tuple[int, frozenset[str]]]
#: per node: what the path counted -> (best total so far, (previous node, what it had counted) or None)
_States = dict[str, dict[frozenset[str], tuple[int, tuple[str, frozenset[str]] | None]]]


def forward_edges(starts: Iterable[str], out: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """The edges reachable from `starts` without the back edges of a depth-first walk, so that
    loops (a supplement request, a leader's return) are counted once when paths are measured
    and drawn left to right when laid out."""
    forward: dict[str, list[str]] = defaultdict(list)
    state: dict[str, int] = {}  # 1 = on the walk's stack, 2 = done
    for start in starts:
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(out.get(start, ())))]
        while stack:
            node, children = stack[-1]
            target = next(children, None)
            if target is None:
                state[node] = 2
                stack.pop()
            elif state.get(target) != 1:
                forward[node].append(target)
                if target not in state:
                    state[target] = 1
                    stack.append((target, iter(out.get(target, ()))))
    return dict(forward)


def reachable(sources: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(sources)
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return seen


def heaviest_path(
    forward: Mapping[str, Sequence[str]],
    starts: Sequence[str],
    weight: Weight,
    *,
    counted: frozenset[str] = frozenset(),
    ends: Callable[[str], bool] | None = None,
    states_per_node: int | None = None,
) -> tuple[list[str], int]:
    """The path from one of `starts` with the greatest total weight, and that total: the longest
    budgeted path of a procedure, for the modeller's check against the legal limit and for a
    running dossier's forecast. `forward` is the flow without its back edges (forward_edges), so a
    supplement or return loop counts once.

    A node's weight may depend on what the path already counted (a budget group weighs its budget
    once per path), so the walk keeps, per node, the best total for each set counted so far (the
    `states_per_node` best, when given, to bound pathological diagrams). The path ends where
    `ends` holds (anywhere when None: weights are never negative, so that is at a last node)."""
    order = _topological(starts, forward)
    states: _States = defaultdict(dict)
    for start in starts:
        _enter(states, weight, start, counted, 0, None)
    for node in order:
        best = sorted(states[node].items(), key=lambda kv: -kv[1][0])[:states_per_node]
        for groups, (total, _) in best:
            for target in forward.get(node, ()):
                _enter(states, weight, target, groups, total, (node, groups))
    finals = [
        (total, node, groups)
        for node in order
        if ends is None or ends(node)
        for groups, (total, _) in states[node].items()
    ]
    if not finals:
        return [], 0
    total, node, groups = max(finals, key=lambda final: final[0])
    return _trace(states, node, groups), total


def _enter(states: _States, weight: Weight, node: str, groups: frozenset[str], total: int, came_from) -> None:
    node_weight, groups = weight(node, groups)
    current = states[node].get(groups)
    if current is None or total + node_weight > current[0]:
        states[node][groups] = (total + node_weight, came_from)


def _topological(starts: Sequence[str], forward: Mapping[str, Sequence[str]]) -> list[str]:
    nodes = reachable(starts, forward)
    indegree = {n: 0 for n in nodes}
    for node in nodes:
        for target in forward.get(node, ()):
            indegree[target] += 1
    ready = [n for n in starts if indegree.get(n) == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for target in forward.get(node, ()):
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return order


def _trace(states: _States, node: str | None, groups: frozenset[str] | None) -> list[str]:
    path = []
    while node is not None and groups is not None:
        path.append(node)
        came_from = states[node][groups][1]
        node, groups = came_from if came_from is not None else (None, None)
    return path[::-1]
