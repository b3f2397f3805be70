"""Diagram layout for step tables: the table as a graph (start, tasks, gateways, end events),
ranked left to right by longest path, placed in one swimlane per role, with edge waypoints that
route loops through a corridor below the lanes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field

from configurator.step_tables.table import START_ID
from configurator.step_tables.table import gateway_id
from engine.domain.graphs import forward_edges

TASK_SIZE, GATEWAY_SIZE, EVENT_SIZE = (100, 80), (50, 50), (36, 36)
COLUMN_WIDTH, ROW_HEIGHT, LANE_LABEL, MARGIN = 150, 120, 30, 20
POOL_X, POOL_Y = 100, 60


@dataclass
class Node:
    id: str
    type: str  # start | task | gateway | end
    lane: str = ""
    step: dict = field(default_factory=dict)
    rank: int = 0
    row: int = 0  # row inside the lane
    bounds: tuple = (0, 0, 0, 0)

    @property
    def size(self) -> tuple[int, int]:
        return {"task": TASK_SIZE, "gateway": GATEWAY_SIZE}.get(self.type, EVENT_SIZE)


@dataclass
class Edge:
    id: str
    source: str
    target: str
    when: str | None = None
    label: str | None = None
    default: bool = False
    back: bool = False
    waypoints: list = field(default_factory=list)


def _build_graph(table: dict) -> tuple[dict[str, Node], list[Edge]]:
    nodes = {START_ID: Node(START_ID, "start")}
    edges = [Edge("Flow_1", START_ID, table["steps"][0]["id"])]
    for step in table["steps"]:
        kind = "end" if step.get("kind") == "end" else "task"
        nodes[step["id"]] = Node(step["id"], kind, step.get("role", ""), step)
        source = step["id"]
        if len(step.get("next", [])) > 1:
            source = gateway_id(step["id"])
            nodes[source] = Node(source, "gateway", step.get("role", ""))
            edges.append(Edge(f"Flow_{len(edges) + 1}", step["id"], source))
        for entry in step.get("next", []):
            edges.append(
                Edge(
                    f"Flow_{len(edges) + 1}",
                    source,
                    entry["to"],
                    entry.get("when"),
                    entry.get("label"),
                    bool(entry.get("default")),
                )
            )
    _inherit_lanes(nodes, edges)
    return nodes, edges


def _inherit_lanes(nodes: dict[str, Node], edges: list[Edge]) -> None:
    """Start, gateways and end events sit in the lane of their (first) predecessor."""
    nodes[START_ID].lane = next(n.lane for n in nodes.values() if n.type == "task")
    for _ in nodes:
        changed = False
        for edge in edges:
            target, source = nodes[edge.target], nodes[edge.source]
            if not target.lane and source.lane:
                target.lane, changed = source.lane, True
        if not changed:
            break


def _mark_back_edges(nodes: dict[str, Node], edges: list[Edge]) -> None:
    outgoing = defaultdict(list)
    for edge in edges:
        outgoing[edge.source].append(edge.target)
    forward = forward_edges([START_ID], outgoing)
    reached = {START_ID} | {target for targets in forward.values() for target in targets}
    for edge in edges:  # edges of nodes the start never reaches stay forward: validation reports those
        edge.back = edge.source in reached and edge.target not in forward.get(edge.source, ())


def _assign_ranks(nodes: dict[str, Node], edges: list[Edge]) -> list[str]:
    """Longest path from the start over forward edges; returns node ids in rank order."""
    forward = [e for e in edges if not e.back]
    indegree = defaultdict(int)
    for edge in forward:
        indegree[edge.target] += 1
    order, ready = [], [START_ID]
    while ready:
        node_id = ready.pop(0)
        order.append(node_id)
        for edge in (e for e in forward if e.source == node_id):
            nodes[edge.target].rank = max(nodes[edge.target].rank, nodes[node_id].rank + 1)
            indegree[edge.target] -= 1
            if indegree[edge.target] == 0:
                ready.append(edge.target)
    return order


@dataclass
class Layout:
    lanes: list[str]
    lane_rows: dict[str, int]
    lane_bounds: dict[str, tuple] = field(default_factory=dict)
    pool: tuple = (0, 0, 0, 0)
    corridor_y: float = 0
    content_x: float = 0


def _place_nodes(nodes: dict[str, Node], order: list[str], lanes: list[str], back: int) -> Layout:
    used: dict[tuple, int] = defaultdict(int)
    for node_id in order:
        node = nodes[node_id]
        node.row = used[(node.lane, node.rank)]
        used[(node.lane, node.rank)] += 1
    rows = {lane: max([n for (ln, _), n in used.items() if ln == lane] or [1]) for lane in lanes}
    layout = Layout(lanes, rows, content_x=POOL_X + LANE_LABEL + MARGIN)
    columns = max(n.rank for n in nodes.values()) + 1
    width = LANE_LABEL + 2 * MARGIN + columns * COLUMN_WIDTH
    y = POOL_Y
    corridor = 20 + 12 * back if back else 0
    for index, lane in enumerate(lanes):
        height = rows[lane] * ROW_HEIGHT + (corridor if index == len(lanes) - 1 else 0)
        layout.lane_bounds[lane] = (POOL_X + LANE_LABEL, y, width - LANE_LABEL, height)
        y += height
    layout.pool = (POOL_X, POOL_Y, width, y - POOL_Y)
    layout.corridor_y = y - corridor + 10
    for node in nodes.values():
        w, h = node.size
        cx = layout.content_x + node.rank * COLUMN_WIDTH + COLUMN_WIDTH / 2
        cy = layout.lane_bounds[node.lane][1] + node.row * ROW_HEIGHT + ROW_HEIGHT / 2
        node.bounds = (cx - w / 2, cy - h / 2, w, h)
    return layout


def _global_row(node: Node, layout: Layout) -> int:
    before = layout.lanes[: layout.lanes.index(node.lane)]
    return sum(layout.lane_rows[lane] for lane in before) + node.row


def _right(node: Node) -> tuple:
    x, y, w, h = node.bounds
    return (x + w, y + h / 2)


def _left(node: Node) -> tuple:
    x, y, w, h = node.bounds
    return (x, y + h / 2)


def _boundary_x(rank: int, layout: Layout) -> float:
    return layout.content_x + rank * COLUMN_WIDTH


def _forward_waypoints(source: Node, target: Node, layout: Layout, occupied: set) -> list:
    start, end = _right(source), _left(target)
    if start[1] == end[1]:
        return [start, end]
    row = _global_row(source, layout)
    source_row_clear = all((row, r) not in occupied for r in range(source.rank + 1, target.rank))
    # Turn just before the target unless that would cross a node on the source's row.
    turn_rank = target.rank if source_row_clear else source.rank + 1
    x = _boundary_x(turn_rank, layout)
    return [start, (x, start[1]), (x, end[1]), end]


def _clear_below(node: Node, layout: Layout, occupied: set) -> bool:
    row = _global_row(node, layout)
    return not any(r > row and rank == node.rank for r, rank in occupied)


def _back_waypoints(source: Node, target: Node, layout: Layout, occupied: set, k: int) -> list:
    """Loops go down to a corridor below every lane, left, and up into the target."""
    y = layout.corridor_y + 12 * k
    sx, sy, sw, sh = source.bounds
    tx, ty, tw, th = target.bounds
    if _clear_below(source, layout, occupied):
        out = [(sx + sw / 2, sy + sh), (sx + sw / 2, y)]
    else:
        # Between the source and the column boundary, where forward edges turn.
        x = _boundary_x(source.rank + 1, layout) - 10 - 5 * (k % 3)
        out = [_right(source), (x, sy + sh / 2), (x, y)]
    if _clear_below(target, layout, occupied):
        back_in = [(tx + tw / 2 + 10, y), (tx + tw / 2 + 10, ty + th)]
    else:
        x = _boundary_x(target.rank, layout) + 10 + 5 * (k % 3)
        back_in = [(x, y), (x, ty + th / 2), _left(target)]
    return out + back_in


def layout_graph(table: dict) -> tuple[dict[str, Node], list[Edge], Layout]:
    """The graph of a valid, normalised table with every node placed and every edge routed."""
    nodes, edges = _build_graph(table)
    _mark_back_edges(nodes, edges)
    order = _assign_ranks(nodes, edges)
    lanes = list(dict.fromkeys(s["role"] for s in table["steps"] if s.get("kind") != "end"))
    layout = _place_nodes(nodes, order, lanes, sum(e.back for e in edges))
    occupied = {(_global_row(n, layout), n.rank) for n in nodes.values()}
    back_count = 0
    for edge in edges:
        source, target = nodes[edge.source], nodes[edge.target]
        if edge.back:
            edge.waypoints = _back_waypoints(source, target, layout, occupied, back_count)
            back_count += 1
        else:
            edge.waypoints = _forward_waypoints(source, target, layout, occupied)
    return nodes, edges, layout
