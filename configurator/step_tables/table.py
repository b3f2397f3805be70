"""Step-table authoring: a procedure described as a table of steps becomes an executable BPMN
with swimlanes and a diagram layout, and such a BPMN reads back into the table.

Most commune procedures are a chain of steps, each worked by one role within a time budget,
with a few decisions. IT staff write the table as JSON (`step_table_from_json`) or as a
spreadsheet saved as CSV (`step_table_from_csv`), call `build_bpmn`, and open the result in any
BPMN editor. `step_table_from_bpmn` reads the diagram back, also after it was edited, as long
as it stays a chain of tasks with exclusive gateways.

CSV format (UTF-8, first row = header; column order is free, only ``step_id`` is required)::

    step_id,name,role,budget,next,condition,label,default,kind,status,budget_group,form
    @process_id,dang_ky_khai_sinh
    @name,Đăng ký khai sinh
    @procedure_code,1.001193
    @legal_limit,3d
    @role,Bộ phận Một cửa,mot_cua
    @role,Công chức Tư pháp - Hộ tịch,tu_phap
    tiep_nhan,Tiếp nhận hồ sơ,mot_cua,0.5d,bo_sung,ket_qua == 'bo_sung',Thiếu hồ sơ,,,2
    ,,,,tu_choi,ket_qua == 'tu_choi'
    ,,,,tham_dinh,,,x
    tham_dinh,Thẩm định,tu_phap,1d,hoan_thanh,,,,,,,tham_dinh
    hoan_thanh,Hoàn thành,,,,,,,end,9

* One row per step, plus one more row for each further outgoing edge: a row whose ``step_id``
  is empty (or repeats the step above) only adds an edge ``next`` / ``condition`` / ``label``
  / ``default`` to that step.
* ``condition`` is a Python expression over the dossier data (``ket_qua == 'tra_lai'``);
  ``default`` is marked with any of x, yes, true, 1, có. A step with several edges gets an
  exclusive gateway: give each edge a condition, and mark at most one as the default.
* ``kind`` is empty for a task and ``end`` for an end event; ``status`` is the portal status
  code (1-10) a task sets while open, or the one an end event sets.
* Optional columns: ``warn_at``, ``clock_start``, ``priority``, ``pause`` (``clock``: the legal
  clock stops while the step is open), ``optional`` (a commune may skip the step) and ``escalations``, written as
  ``after action target [priority]`` entries separated by ``;`` (``4h notify lanh_dao; 1d
  reassign lanh_dao 80``).
* Settings rows start with ``@`` in ``step_id``: ``@process_id``, ``@name``,
  ``@procedure_code``, ``@legal_limit`` (a duration, or ``same day`` / ``trong ngày`` / ``0d`` for a
  procedure settled the day its clock starts) and ``@warn_at`` take their value from the ``name``
  column; ``@role`` takes the display name from ``name`` and the id from ``role``;
  ``@budget_group`` takes ``budget_group`` (id), ``budget`` and ``name``; ``@defaults`` takes
  ``warn_at`` and ``escalations``. Rows whose ``step_id`` starts with ``#`` are comments.

This module owns the table model: reading and writing JSON and CSV, normalising and validating.
The diagram layout is in `layout`, the BPMN writer and reader in `bpmn`, the modeller's grid of
rows in `rows`; the package (`configurator.step_tables`) exports what callers use.

Size note: over 400 lines because the CSV format and the table checks must agree on one
vocabulary (the column names and the messages name the same keys); each function stays short.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re

from engine.domain import deadlines
from engine.domain.errors import Problems
from engine.domain.errors import Reason

START_ID = "StartEvent_1"

_NCNAME = re.compile(r"[^\W\d][\w.\-]*")
_DURATION = re.compile(r"(\d+(\.\d+)?[mhd]|P(?!$)(\d+(\.\d+)?[YMWD])*(T(?!$)(\d+(\.\d+)?[HMS])*)?)")
_WARN_AT = re.compile(r"(\d+(\.\d+)?%|\d+(\.\d+)?[mhd])")
_ACTIONS = ("notify", "reassign", "priority")
_TRUTHY = {"x", "yes", "y", "true", "1", "có", "co", "default", "mặc định"}
STEP_ATTRS = (
    ("role", "role"),
    ("budget", "budget"),
    ("budget_group", "budgetGroup"),
    ("warn_at", "warnAt"),
    ("clock_start", "clockStart"),
    ("priority", "priority"),
    ("form", "form"),
    ("status", "status"),
    ("pause", "pause"),
    ("optional", "optional"),
)
_INT_KEYS = ("status", "priority")


class StepTableError(Problems):
    """A step table (or a diagram read back as one) has problems; `problems` lists them all."""

    heading = "The step table has problems:\n- "
    separator = "\n- "


# --- normalising the table --------------------------------------------------------------------


def clean_cell(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if v is not None and v != "" and v != []}


def _as_int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return value  # left as is; validation names it


def normalise_escalation(raw: dict) -> dict:
    esc = clean_cell({k: raw.get(k) for k in ("after", "action", "target", "priority")})
    if "priority" in esc:
        esc["priority"] = _as_int(esc["priority"])
    return esc


def normalise_edge(raw) -> dict:
    if isinstance(raw, str):
        return {"to": raw}
    edge = clean_cell({"to": raw.get("to"), "when": raw.get("when"), "label": raw.get("label")})
    if raw.get("default"):
        edge["default"] = True
    return edge


def _normalise_next(value) -> list[dict]:
    if value in (None, "", []):
        return []
    items = value if isinstance(value, list) else [value]
    return [normalise_edge(item) for item in items]


def _normalise_step(raw: dict) -> dict:
    step = clean_cell({key: raw.get(key) for key in ("id", "name", *(k for k, _ in STEP_ATTRS))})
    for key in _INT_KEYS:
        if key in step:
            step[key] = _as_int(step[key])
    if "optional" in step:  # true / x / có ... in a table, "true" in the BPMN; absent when not
        flag = step.pop("optional")
        if flag is True or str(flag).strip().lower() in _TRUTHY:
            step["optional"] = "true"
        elif flag is not False and str(flag).strip().lower() not in ("false", "no", "0", "không"):
            step["optional"] = str(flag)  # kept so that validation names it
    if raw.get("kind") not in (None, "", "task"):
        step["kind"] = raw["kind"]
    escalations = [normalise_escalation(e) for e in raw.get("escalations") or []]
    if escalations:
        step["escalations"] = escalations
    edges = _normalise_next(raw.get("next"))
    if edges or step.get("kind") != "end":
        step["next"] = edges
    return step


def _normalise_defaults(raw: dict | None) -> dict:
    raw = raw or {}
    defaults = clean_cell({"warn_at": raw.get("warn_at")})
    escalations = [normalise_escalation(e) for e in raw.get("escalations") or []]
    if escalations:
        defaults["escalations"] = escalations
    return defaults


def normalise_table(obj: dict) -> dict:
    """Return the canonical form of a table: `next` is always a list of edge dicts, empty values
    are dropped, integers are integers. Does not validate."""
    if not isinstance(obj, dict):
        raise StepTableError([Reason.of("the step table must be an object with process_id, roles and steps")])
    table = clean_cell({k: obj.get(k) for k in ("process_id", "name", "procedure_code", "legal_limit")})
    if "legal_limit" in table:
        table["legal_limit"] = _canonical_legal_limit(table["legal_limit"])
    table["roles"] = dict(obj.get("roles") or {})
    table["budget_groups"] = [clean_cell(dict(g)) for g in obj.get("budget_groups") or []]
    defaults = _normalise_defaults(obj.get("defaults"))
    if defaults:
        table["defaults"] = defaults
    table["steps"] = [_normalise_step(s if isinstance(s, dict) else {"id": s}) for s in obj.get("steps") or []]
    return table


def _canonical_legal_limit(value):
    """'trong ngày', 'Same day' and '0d' all become 'same day' (the one spelling written to the
    BPMN); any other value stays as written, for the checks to name it."""
    try:
        return deadlines.SAME_DAY_TEXT if deadlines.is_same_day(deadlines.parse_legal_limit(value)) else value
    except ValueError:
        return value


def step_table_from_json(obj: dict | str | bytes) -> dict:
    """Read a step table from a JSON document (text) or an already loaded dict; see the module
    docstring and docs for the keys. Returns the normalised table (not yet validated)."""
    if isinstance(obj, (str, bytes)):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            raise StepTableError([Reason.of("not valid JSON: %(error)s", error=str(exc))]) from None
    return normalise_table(obj)


# --- CSV ---------------------------------------------------------------------------------------


def _parse_escalations(cell: str, where: Reason, problems: list[Reason]) -> list[dict]:
    escalations = []
    for entry in filter(None, (part.strip() for part in (cell or "").split(";"))):
        fields = entry.split()
        if len(fields) not in (3, 4):
            problems.append(
                Reason.of(
                    "%(where)s: escalation '%(entry)s' must be 'after action target [priority]'",
                    where=where,
                    entry=entry,
                )
            )
            continue
        escalations.append(dict(zip(("after", "action", "target", "priority"), fields)))
    return escalations


def _csv_setting(row: dict, table: dict, where: Reason, problems: list[Reason]) -> None:
    key = row["step_id"][1:]
    if key in ("process_id", "name", "procedure_code", "legal_limit"):
        table[key] = row.get("name", "")
    elif key == "warn_at":
        table.setdefault("defaults", {})["warn_at"] = row.get("name", "")
    elif key == "role":
        table["roles"][row.get("role", "")] = row.get("name", "")
    elif key == "budget_group":
        table["budget_groups"].append(
            {"id": row.get("budget_group", ""), "budget": row.get("budget", ""), "name": row.get("name", "")}
        )
    elif key == "defaults":
        defaults = table.setdefault("defaults", {})
        defaults.update(clean_cell({"warn_at": row.get("warn_at")}))
        defaults["escalations"] = _parse_escalations(row.get("escalations"), where, problems)
    else:
        problems.append(Reason.of("%(where)s: unknown setting '%(setting)s'", where=where, setting=row["step_id"]))


def _csv_edge(row: dict) -> dict | None:
    if not row.get("next"):
        return None
    return {
        "to": row["next"],
        "when": row.get("condition"),
        "label": row.get("label"),
        "default": (row.get("default") or "").strip().lower() in _TRUTHY,
    }


def _csv_step(row: dict, where: Reason, problems: list[Reason]) -> dict:
    step = {key: row.get(key) for key in ("id", "name", "kind", *(k for k, _ in STEP_ATTRS))}
    step["id"] = row["step_id"]
    step["escalations"] = _parse_escalations(row.get("escalations"), where, problems)
    step["next"] = []
    return step


_EDGE_COLUMNS = {"step_id", "next", "condition", "label", "default"}


def _csv_continuation(row: dict, step: dict | None, where: Reason, problems: list[Reason]) -> None:
    if step is None:
        problems.append(Reason.of("%(where)s: an edge row needs a step row above it", where=where))
        return
    extra = [k for k, v in row.items() if v and k not in _EDGE_COLUMNS]
    if extra:
        problems.append(
            Reason.of(
                "%(where)s: step '%(step)s' is already described above; leave %(columns)s empty "
                "on its further edge rows",
                where=where,
                step=step["id"],
                columns=", ".join(sorted(extra)),
            )
        )


def step_table_from_csv(text: str, **settings) -> dict:
    """Read a step table from CSV text (format in the module docstring).

    Args:
        text: the CSV document, header row first.
        settings: table keys (process_id, name, roles, ...) that override `@` rows.

    Returns:
        The normalised table (not yet validated).

    Raises:
        StepTableError: rows that cannot be read (each named with its row number).
    """
    table: dict = {"roles": {}, "budget_groups": [], "steps": []}
    problems: list[Reason] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "step_id" not in [f.strip() for f in reader.fieldnames]:
        raise StepTableError([Reason.of("the CSV needs a header row with a step_id column")])
    step = None
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        where = Reason.of("row %(row)s", row=number)
        if not any(row.values()) or row["step_id"].startswith("#"):
            continue
        if row["step_id"].startswith("@"):
            _csv_setting(row, table, where, problems)
            continue
        if not row["step_id"] or (step and row["step_id"] == step["id"]):
            _csv_continuation(row, step, where, problems)
        else:
            step = _csv_step(row, where, problems)
            table["steps"].append(step)
        if step is not None and (edge := _csv_edge(row)):
            step["next"].append(edge)
    if problems:
        raise StepTableError(problems)
    table.update(settings)
    return normalise_table(table)


def step_table_to_csv(table: dict) -> str:
    """Write a table as CSV in the format `step_table_from_csv` reads."""
    table = normalise_table(table)
    columns = [
        "step_id",
        "name",
        "role",
        "budget",
        "next",
        "condition",
        "label",
        "default",
        "kind",
        "status",
        "budget_group",
        "form",
        "warn_at",
        "clock_start",
        "priority",
        "pause",
        "optional",
        "escalations",
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for key in ("process_id", "name", "procedure_code", "legal_limit"):
        if key in table:
            writer.writerow({"step_id": f"@{key}", "name": table[key]})
    for role, display in table["roles"].items():
        writer.writerow({"step_id": "@role", "name": display, "role": role})
    for group in table["budget_groups"]:
        writer.writerow(
            {
                "step_id": "@budget_group",
                "budget_group": group.get("id"),
                "budget": group.get("budget"),
                "name": group.get("name"),
            }
        )
    if table.get("defaults"):
        writer.writerow(
            {
                "step_id": "@defaults",
                "warn_at": table["defaults"].get("warn_at"),
                "escalations": _format_escalations(table["defaults"].get("escalations")),
            }
        )
    for step in table["steps"]:
        _write_step_rows(writer, step)
    return out.getvalue()


def _format_escalations(escalations: list[dict] | None) -> str:
    return "; ".join(
        " ".join(str(e[k]) for k in ("after", "action", "target", "priority") if k in e) for e in escalations or []
    )


def _write_step_rows(writer: csv.DictWriter, step: dict) -> None:
    row = {k: step.get(k) for k in ("name", "kind", *(k for k, _ in STEP_ATTRS))}
    row.update(step_id=step["id"], escalations=_format_escalations(step.get("escalations")))
    edges = step.get("next") or [{}]
    for index, edge in enumerate(edges):
        edge_cells = {
            "next": edge.get("to"),
            "condition": edge.get("when"),
            "label": edge.get("label"),
            "default": "x" if edge.get("default") else "",
        }
        writer.writerow({**(row if index == 0 else {}), **edge_cells})


# --- validation --------------------------------------------------------------------------------


def _is_ncname(value) -> bool:
    return isinstance(value, str) and bool(_NCNAME.fullmatch(value))


def _is_duration(value) -> bool:
    return isinstance(value, str) and bool(_DURATION.fullmatch(value))


def _is_legal_limit(value) -> bool:
    return _is_duration(value) or (isinstance(value, str) and deadlines.is_same_day_text(value))


def _check_escalations(escalations: list[dict], where: Reason, problems: list[Reason]) -> None:
    for esc in escalations:
        if not _is_duration(esc.get("after")):
            problems.append(
                Reason.of(
                    "%(where)s: escalation 'after' '%(after)s' is not a duration", where=where, after=esc.get("after")
                )
            )
        if esc.get("action") not in _ACTIONS:
            problems.append(
                Reason.of(
                    "%(where)s: escalation action '%(action)s' is not one of %(actions)s",
                    where=where,
                    action=esc.get("action"),
                    actions=", ".join(_ACTIONS),
                )
            )
        if not esc.get("target"):
            problems.append(Reason.of("%(where)s: escalation has no target", where=where))


def _check_condition(when: str, where: Reason, problems: list[Reason]) -> None:
    try:
        ast.parse(when, mode="eval")
    except SyntaxError as exc:
        problems.append(
            Reason.of(
                "%(where)s: condition '%(condition)s' is not a Python expression (%(error)s)",
                where=where,
                condition=when,
                error=exc.msg,
            )
        )


def _check_edges(step: dict, ids: set[str], problems: list[Reason]) -> None:
    where, edges = _step_where(step), step.get("next", [])
    targets = [e.get("to") for e in edges]
    for edge in edges:
        if edge.get("to") not in ids:
            problems.append(
                Reason.of("%(where)s: next step '%(next)s' does not exist", where=where, next=edge.get("to"))
            )
        if edge.get("when"):
            _check_condition(edge["when"], where, problems)
    if len(set(targets)) != len(targets):
        problems.append(Reason.of("%(where)s: lists the same next step twice", where=where))
    if len(edges) == 1 and edges[0].get("when"):
        problems.append(Reason.of("%(where)s: a single next step cannot have a condition", where=where))
    if len(edges) < 2:
        return
    defaults = [e for e in edges if e.get("default")]
    conditional = [e for e in edges if e.get("when")]
    if not defaults and not conditional:
        problems.append(Reason.of("%(where)s: has several next steps but no conditions and no default", where=where))
    elif len(defaults) > 1:
        problems.append(
            Reason.of(
                "%(where)s: has %(count)s default next steps; at most one is allowed", where=where, count=len(defaults)
            )
        )
    for edge in edges:
        if edge.get("default") and edge.get("when"):
            problems.append(
                Reason.of(
                    "%(where)s: the default next step '%(next)s' cannot have a condition", where=where, next=edge["to"]
                )
            )
        elif not edge.get("default") and not edge.get("when") and conditional:
            problems.append(
                Reason.of(
                    "%(where)s: next step '%(next)s' needs a condition or default: true", where=where, next=edge["to"]
                )
            )


def _check_task(step: dict, table: dict, problems: list[Reason]) -> None:
    where = _step_where(step)
    if not step.get("role"):
        problems.append(Reason.of("%(where)s: has no role", where=where))
    elif table["roles"] and step["role"] not in table["roles"]:
        problems.append(Reason.of("%(where)s: role '%(role)s' is not in roles", where=where, role=step["role"]))
    elif not _is_ncname(step["role"]):
        problems.append(Reason.of("%(where)s: role '%(role)s' is not a valid XML name", where=where, role=step["role"]))
    if not step.get("budget"):
        problems.append(Reason.of("%(where)s: has no budget", where=where))
    elif not _is_duration(step["budget"]):
        problems.append(
            Reason.of(
                "%(where)s: budget '%(budget)s' is not a duration like 4h or 0.5d", where=where, budget=step["budget"]
            )
        )
    groups = {g.get("id") for g in table["budget_groups"]}
    if step.get("budget_group") and step["budget_group"] not in groups:
        problems.append(
            Reason.of(
                "%(where)s: budget group '%(group)s' is not in budget_groups", where=where, group=step["budget_group"]
            )
        )
    if step.get("warn_at") and not _WARN_AT.fullmatch(str(step["warn_at"])):
        problems.append(
            Reason.of("%(where)s: warn_at '%(warn_at)s' must be like 75%% or 2h", where=where, warn_at=step["warn_at"])
        )
    if step.get("clock_start") not in (None, "created", "claimed"):
        problems.append(Reason.of("%(where)s: clock_start must be created or claimed", where=where))
    if step.get("optional") not in (None, "true"):
        problems.append(
            Reason.of("%(where)s: optional must be true or false, not '%(value)s'", where=where, value=step["optional"])
        )
    if step.get("pause") not in (None, "clock"):
        problems.append(
            Reason.of(
                "%(where)s: pause must be 'clock' (the dossier's legal clock stops while the step is open)", where=where
            )
        )
    if not isinstance(step.get("priority", 0), int) or not 0 <= step.get("priority", 0) <= 100:
        problems.append(Reason.of("%(where)s: priority must be a whole number from 0 to 100", where=where))
    if not step.get("next"):
        problems.append(Reason.of("%(where)s: has no next step (finish the chain with a kind: end step)", where=where))
    _check_escalations(step.get("escalations", []), where, problems)


def _check_step(step: dict, table: dict, ids: set[str], problems: list[Reason]) -> None:
    where = _step_where(step)
    kind = step.get("kind", "task")
    if kind not in ("task", "end"):
        problems.append(Reason.of("%(where)s: kind '%(kind)s' must be task or end", where=where, kind=kind))
    elif kind == "task":
        _check_task(step, table, problems)
    elif step.get("next"):
        problems.append(Reason.of("%(where)s: an end step cannot have next steps", where=where))
    status = step.get("status")
    if status is not None and (not isinstance(status, int) or not 1 <= status <= 10):
        problems.append(
            Reason.of(
                "%(where)s: status %(status)s must be a portal status code from 1 to 10", where=where, status=status
            )
        )
    _check_edges(step, ids, problems)


def _step_where(step: dict) -> Reason:
    return Reason.of("step '%(step)s'", step=step.get("id"))


def _reachable(table: dict) -> set[str]:
    steps = {s["id"]: s for s in table["steps"]}
    seen, todo = set(), [table["steps"][0]["id"]]
    while todo:
        current = todo.pop()
        if current in seen or current not in steps:
            continue
        seen.add(current)
        todo.extend(e.get("to") for e in steps[current].get("next", []))
    return seen


def _check_ids(table: dict, problems: list[Reason]) -> set[str]:
    ids: set[str] = set()
    for step in table["steps"]:
        step_id = step.get("id")
        if not _is_ncname(step_id):
            problems.append(
                Reason.of(
                    "%(where)s: id is not a valid XML name (letters, digits, _ . -; not starting with a digit)",
                    where=_step_where(step),
                )
            )
        elif step_id in ids:
            problems.append(Reason.of("%(where)s: duplicate id", where=_step_where(step)))
        ids.add(step_id)
    reserved = ids & _generated_ids(table)
    problems.extend(
        Reason.of("%(where)s: id is reserved for the generated diagram", where=_step_where({"id": i}))
        for i in sorted(reserved)
    )
    return ids


def _check_process(table: dict, problems: list[Reason]) -> None:
    if not _is_ncname(table.get("process_id")):
        problems.append(
            Reason.of("process_id '%(process)s' is missing or not a valid XML name", process=table.get("process_id"))
        )
    for group in table["budget_groups"]:
        if not _is_ncname(group.get("id")) or not _is_duration(group.get("budget")):
            problems.append(
                Reason.of("budget group '%(group)s': needs an id and a budget like 7d", group=group.get("id"))
            )
    if table.get("legal_limit") and not _is_legal_limit(table["legal_limit"]):
        problems.append(
            Reason.of("legal_limit '%(limit)s' is not a duration like 3d, nor 'same day'", limit=table["legal_limit"])
        )
    _check_escalations(table.get("defaults", {}).get("escalations", []), Reason.of("defaults"), problems)


def validate_step_table(table: dict) -> list[Reason]:
    """Every problem of a (normalised) table, each naming its step; [] when it can be built."""
    problems: list[Reason] = []
    _check_process(table, problems)
    if not table["steps"]:
        return problems + [Reason.of("the table has no steps")]
    ids = _check_ids(table, problems)
    for step in table["steps"]:
        _check_step(step, table, ids, problems)
    if table["steps"][0].get("kind") == "end":
        problems.append(Reason.of("%(where)s: the first step must be a task", where=_step_where(table["steps"][0])))
    reachable = _reachable(table)
    problems.extend(
        Reason.of("%(where)s: cannot be reached from the first step", where=_step_where(s))
        for s in table["steps"]
        if s.get("id") not in reachable
    )
    return problems


def gateway_id(step_id: str) -> str:
    return f"Gateway_{step_id}"


def _generated_ids(table: dict) -> set[str]:
    pid = table.get("process_id")
    ids = {START_ID, f"Collaboration_{pid}", f"Participant_{pid}", f"LaneSet_{pid}", f"Diagram_{pid}", f"Plane_{pid}"}
    ids |= {gateway_id(s.get("id")) for s in table["steps"] if len(s.get("next", [])) > 1}
    ids |= {f"Lane_{r}" for r in {s.get("role") for s in table["steps"]} if r}
    edge_count = 1 + sum(len(s.get("next", [])) + (len(s.get("next", [])) > 1) for s in table["steps"])
    return ids | {f"Flow_{n}" for n in range(1, edge_count + 1)}


__all__ = [
    "START_ID",
    "StepTableError",
    "normalise_table",
    "step_table_from_json",
    "step_table_from_csv",
    "step_table_to_csv",
    "validate_step_table",
]
