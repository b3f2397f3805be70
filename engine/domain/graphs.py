"""Small graph helpers for process diagrams (plain ids, no BPMN library)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping


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
