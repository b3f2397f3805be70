"""The step-table page's grid: a template as rows (step, name, role, budget, next step, condition)
and back, then built into BPMN with lanes and a layout and saved as the template's draft.

A row with a step id starts a step; a row whose step id is empty adds one more next step (with
its condition) to the step above, as in the CSV format of `configurator.step_tables.table`. What the
grid does not show (forms, portal status, escalations, edge labels, table settings) travels in
hidden JSON so that reading a template into the grid and building it again keeps it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from configurator import drafts
from configurator.drafts import SavedDraft
from configurator.library import LIBRARY
from configurator.step_tables.bpmn import build_bpmn
from configurator.step_tables.bpmn import step_table_from_bpmn
from configurator.step_tables.table import StepTableError
from configurator.step_tables.table import normalise_table
from engine.domain import deadlines
from engine.domain.errors import EngineError
from engine.domain.errors import NotFound
from engine.domain.errors import Reason
from engine.services.runtime import Runtime
from engine.store import catalogue_records
from engine.store import repositories

COLUMNS = ("step_id", "name", "role", "budget", "next", "condition", "default", "end", "extra")
SETTINGS = ("name", "procedure_code", "legal_limit")
BLANK_ROWS = 4
TRUE = {"on", "x", "1", "true", "yes", "có"}
STEP_EXTRAS = ("form", "status", "escalations", "warn_at", "budget_group", "clock_start", "priority")


@dataclass
class StepGrid:
    """What the page shows: the table settings, the rows, and why the grid starts empty."""

    settings: dict
    rows: list[dict]
    note: str | None = None
    problems: list[str] = field(default_factory=list)


def grid_for(rt: Runtime, key: str) -> StepGrid:
    """The newest version of the template as rows; an empty grid for a procedure not modelled yet
    (or drawn with more than a chain of tasks and decisions)."""
    with rt.db.read_session() as s:
        latest = repositories.latest_definition(s, key)
        entry = catalogue_records.procedure_by_key(s, key)
    if latest is None and entry is None:
        raise NotFound("no procedure or process template has the code '%(key)s'", field="key", key=key)
    settings = {
        "name": entry.name if entry else latest.name,
        "procedure_code": (entry.code if entry else None) or "",
        "legal_limit": _days(entry.legal_limit_days) if entry else "",
        "roles": _shared_roles(),
        "budget_groups": [],
        "defaults": {},
    }
    if latest is None:
        return StepGrid(settings, blank_rows(BLANK_ROWS))
    try:
        table = step_table_from_bpmn(drafts.version_bpmn(rt, key, latest.version))
    except StepTableError:
        return StepGrid(
            settings,
            blank_rows(BLANK_ROWS),
            note=(
                f"Phiên bản {latest.version} có sơ đồ phức tạp hơn một chuỗi bước, không đọc thành bảng được; "
                "bảng dưới đây sẽ tạo sơ đồ mới."
            ),
        )
    settings.update({k: table.get(k, settings.get(k) or "") for k in SETTINGS})
    settings.update(
        roles={**settings["roles"], **table["roles"]},
        budget_groups=table["budget_groups"],
        defaults=table.get("defaults", {}),
    )
    return StepGrid(settings, rows_from_table(table) + blank_rows(BLANK_ROWS))


def rows_from_table(table: dict) -> list[dict]:
    rows = []
    for step in normalise_table(table)["steps"]:
        extra = {k: step[k] for k in STEP_EXTRAS if k in step}
        edges = step.get("next") or [{}]
        for index, edge in enumerate(edges):
            row = _row(next=edge.get("to", ""), condition=edge.get("when", ""), default=bool(edge.get("default")))
            if edge.get("label"):
                row["extra"] = {"label": edge["label"]}
            if index == 0:
                row.update(
                    step_id=step["id"],
                    name=step.get("name", ""),
                    role=step.get("role", ""),
                    budget=step.get("budget", ""),
                    end=step.get("kind") == "end",
                    extra={**extra, **row["extra"]},
                )
            rows.append(row)
    return rows


def read_form(form: Mapping[str, str], count: int) -> tuple[dict, list[dict]]:
    """The settings and rows posted by the page (fields `row-N-<column>`, N from 0)."""
    settings = {k: (form.get(k) or "").strip() for k in SETTINGS}
    for name in ("roles", "budget_groups", "defaults"):
        settings[name] = _json_field(form.get(name), name, {} if name != "budget_groups" else [])
    rows = []
    for n in range(count):
        row = {c: (form.get(f"row-{n}-{c}") or "").strip() for c in COLUMNS}
        row["default"], row["end"] = row["default"].lower() in TRUE, row["end"].lower() in TRUE
        row["extra"] = _json_field(row["extra"], f"dòng {n + 1}: dữ liệu ẩn", {})
        rows.append(row)
    return settings, rows


def table_from_rows(key: str, settings: dict, rows: list[dict]) -> dict:
    """The step table the rows describe; StepTableError names each bad row (from 1)."""
    steps, problems, step = [], [], None
    for number, row in enumerate(rows, start=1):
        if not any(row.get(c) for c in COLUMNS if c != "extra"):
            continue
        if row["step_id"]:
            step = _step(row)
            steps.append(step)
        elif step is None:
            problems.append(
                Reason.of("row %(row)s: a row with only a next step must come under a row with a step id", row=number)
            )
            continue
        elif any(row.get(c) for c in ("name", "role", "budget", "end")):
            problems.append(
                Reason.of(
                    "row %(row)s: step '%(step)s' is described above; a further row gives only a "
                    "next step and its condition",
                    row=number,
                    step=step["id"],
                )
            )
        if row["next"]:
            step["next"].append(
                {
                    "to": row["next"],
                    "when": row["condition"] or None,
                    "label": row["extra"].get("label"),
                    "default": row["default"],
                }
            )
        elif row["condition"]:
            problems.append(Reason.of("row %(row)s: has a condition but no next step", row=number))
    if problems:
        raise StepTableError(problems)
    roles = dict(settings.get("roles") or {})
    for used in {s.get("role") for s in steps if s.get("role")} - roles.keys():
        roles[used] = used  # a new role: its lane is named by its id until someone names it
    return {
        "process_id": key,
        **{k: settings.get(k) or None for k in SETTINGS},
        "roles": roles,
        "budget_groups": settings.get("budget_groups") or [],
        "defaults": settings.get("defaults") or {},
        "steps": steps,
    }


def build_draft(rt: Runtime, key: str, settings: dict, rows: list[dict]) -> SavedDraft:
    """Build the BPMN (lanes, layout) of the rows and store it as the template's draft."""
    bpmn = build_bpmn(table_from_rows(key, settings, rows))
    return drafts.save_draft(rt, key, bpmn)


def _step(row: dict) -> dict:
    extra = {k: v for k, v in row["extra"].items() if k in STEP_EXTRAS}
    step = {"id": row["step_id"], "name": row["name"] or None, **extra, "next": []}
    if row["end"]:
        step["kind"] = "end"
    else:
        step.update(role=row["role"] or None, budget=row["budget"] or None)
    return step


def _row(**values) -> dict:
    row = {c: "" for c in COLUMNS}
    row.update(default=False, end=False, extra={})
    row.update(values)
    return row


def blank_rows(count: int) -> list[dict]:
    return [_row() for _ in range(count)]


def _json_field(text: str | None, name: str, empty):
    if not text:
        return empty
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise EngineError("%(field_name)s: not valid JSON", field=name, field_name=name) from None
    if not isinstance(value, type(empty)):
        raise EngineError("%(field_name)s: wrong kind of value", field=name, field_name=name)
    return value


def _days(days: float | None) -> str:
    if days is None:
        return ""
    if days == deadlines.SAME_DAY:
        return deadlines.SAME_DAY_TEXT
    return f"{int(days)}d" if float(days).is_integer() else f"{days}d"


def _shared_roles() -> dict[str, str]:
    """The library's shared role names, so a lane gets a readable name."""
    path = LIBRARY / "_shared" / "roles.json"
    return dict(json.loads(path.read_text(encoding="utf-8")).get("roles", {})) if path.exists() else {}
