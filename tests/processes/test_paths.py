"""Every library procedure, driven through its real paths on a frozen clock, persisted and
reloaded between steps: approved, supplement then approved, refused at reception, returned by
the leader, and late with an apology and a new appointment."""

from __future__ import annotations

import ast
import json
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from configurator import library
from engine.domain import deadlines
from engine.domain import decisions
from engine.domain.assignment import Actor
from engine.domain.model import DossierStatus
from engine.services import dossiers
from engine.store.records import AuditEventRecord
from engine.store.records import DossierPauseRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import add_units

PROCEDURES = library.procedures()
UNIT = "00070"
FINANCIAL_OBLIGATION = DossierStatus.FINANCIAL_OBLIGATION.value
# Path-specific answers: the plan (step id -> targets by visit, as in `drive`) that takes each
# procedure through its financial-obligation steps (status 6). Every procedure with such a step
# must be listed; its other steps follow their default flows.
FINANCIAL_OBLIGATION_PATHS = {
    "dang_ky_dat_dai_cap_giay_chung_nhan_lan_dau": {"kiem_tra_dieu_kien": ["xac_dinh_nghia_vu_tai_chinh"]},
}


def table_of(procedure) -> dict:
    steps = json.loads((procedure.folder / "v1" / "steps.json").read_text(encoding="utf-8"))["steps"]
    return {step["id"]: step for step in steps}


def clock_pausing_steps(procedure) -> list[str]:
    """Steps the procedure excludes from its time limit (`"pause": "clock"`, e.g. a public posting)."""
    return [step_id for step_id, step in table_of(procedure).items() if step.get("pause") == "clock"]


def compared(condition: str) -> tuple[str, str]:
    """`ket_qua == 'bo_sung'` -> ('ket_qua', 'bo_sung')."""
    node = ast.parse(condition, mode="eval").body
    return node.left.id, node.comparators[0].value


def answers(step: dict, form: dict, target: str | None) -> dict:
    """Form data that routes `step` to `target` (None: the default flow)."""
    data = {name: field["enum"][0] for name, field in form.get("properties", {}).items() if "enum" in field}
    data.update({name: True for name, field in form.get("properties", {}).items() if field.get("type") == "boolean"})
    # numbers a decision table reads (pages, copies): their smallest allowed value
    data.update(
        {
            name: field.get("minimum", 1)
            for name, field in form.get("properties", {}).items()
            if field.get("type") == "integer"
        }
    )
    edges = step["next"] if isinstance(step.get("next"), list) else []
    for edge in edges:
        if edge.get("when") and edge["to"] == target:
            field, value = compared(edge["when"])
            data[field] = value
            return data
    avoided: dict[str, set] = {}
    for edge in edges:
        if edge.get("when"):
            field, value = compared(edge["when"])
            avoided.setdefault(field, set()).add(value)
    for field, values in avoided.items():
        spec = form["properties"][field]
        options = spec.get("enum") or ([True, False] if spec.get("type") == "boolean" else [])
        data[field] = next(v for v in options if v not in values)
    return data


def drive(
    rt, clock, procedure, definition, plan: dict[str, list[str]], step_minutes: int = 20, before_last=None
) -> DossierRecord:
    """Start a dossier and work it to its end, following `plan` (step id -> targets by visit)."""
    table, forms = table_of(procedure), procedure.forms("v1")
    reception = Actor("mot_cua_1", frozenset({"mot_cua"}), UNIT)
    dossier = dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code=UNIT, applicant_name="Nguyễn Thị Thử", actor=reception
    )
    for _ in range(60):
        with rt.db.read_session() as s:
            item = s.scalar(
                select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state == "open")
            )
        if item is None:
            if not _answer_a_wait(rt, dossier.id, forms):
                break
            continue
        clock.advance(minutes=step_minutes)
        step = table[item.element_id]
        visits = plan.get(item.element_id, [])
        target = visits.pop(0) if visits else None
        if before_last and item.element_id == "tra_ket_qua":
            before_last(dossier)
        actor = Actor(f"{item.role}_1", frozenset({item.role}), UNIT)
        data = answers(step, forms.get(item.form_key, {}), target)
        if decisions.is_refusal(data):  # a refusal always says why (it is printed for the citizen)
            data[decisions.REFUSAL_REASON_FIELD[data["ket_qua"]]] = "Không đủ điều kiện theo quy định"
        dossiers.complete_work_item(rt, item.id, actor, data)
    with rt.db.read_session() as s:
        return s.get(DossierRecord, dossier.id)


def _answer_a_wait(rt, dossier_id: int, forms: dict) -> bool:
    """The other agency's system answers the step that waits for it (a liên thông receive task),
    with what that step's form asks for; False when nothing waits."""
    waits = dossiers.message_waits(rt, dossier_id)
    if not waits:
        return False
    wait = waits[0]
    dossiers.send_message(rt, dossier_id, wait.event, Actor.system(), answers({}, forms.get(wait.element_id, {}), None))
    return True


def history(rt, dossier_id):
    with rt.db.read_session() as s:
        items = list(
            s.scalars(select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id).order_by(WorkItemRecord.id))
        )
        handovers = list(
            s.scalars(
                select(AuditEventRecord).where(
                    AuditEventRecord.dossier_id == dossier_id, AuditEventRecord.action == "handover"
                )
            )
        )
        pauses = list(s.scalars(select(DossierPauseRecord).where(DossierPauseRecord.dossier_id == dossier_id)))
    return items, handovers, pauses


@pytest.mark.parametrize("procedure", PROCEDURES, ids=[p.key for p in PROCEDURES])
def test_paths_of_every_library_procedure(sqlite_database, clock, procedure):
    from engine.services.runtime import Runtime

    rt = Runtime(db=sqlite_database, clock=clock)
    add_units(rt)
    definition = library.load_one(rt, procedure)

    # Approved: every step on its default flow, to the result returned.
    done = drive(rt, clock, procedure, definition, {})
    items, handovers, _ = history(rt, done.id)
    assert (done.run_state, done.status) == ("completed", DossierStatus.RESULT_RETURNED)
    assert done.classification in ("early", "on_time")
    assert len(handovers) == len(items) and all(h.receiver for h in handovers)
    assert all(i.classification for i in items if i.due_at is not None)

    # Supplement requested at reception, then accepted: the wait moves the appointment.
    clock.advance(days=1)
    supplemented = drive(rt, clock, procedure, definition, {"tiep_nhan": ["yeu_cau_bo_sung"]}, step_minutes=60)
    items, _, pauses = history(rt, supplemented.id)
    assert supplemented.status == DossierStatus.RESULT_RETURNED
    assert [i.element_id for i in items][:3] == ["tiep_nhan", "yeu_cau_bo_sung", "tiep_nhan"]
    waits = [p for p in pauses if not p.kind.startswith("step:")]  # a posting step pauses on its own
    assert [p.kind for p in waits] == ["supplement_requested"] and waits[0].ended_at is not None
    assert {p.kind for p in pauses} - {"supplement_requested"} == {f"step:{s}" for s in clock_pausing_steps(procedure)}
    assert supplemented.appointment_at > supplemented.received_at

    # Refused at reception.
    clock.advance(days=1)
    refused = drive(rt, clock, procedure, definition, {"tiep_nhan": ["tu_choi"]})
    assert (refused.run_state, refused.status, refused.classification) == ("completed", 3, None)

    # Returned by the leader to the specialist, then approved.
    clock.advance(days=1)
    returned = drive(rt, clock, procedure, definition, {"ky_duyet": ["tham_dinh"]})
    items, _, _ = history(rt, returned.id)
    assert [i.element_id for i in items].count("tham_dinh") == 2
    assert returned.status == DossierStatus.RESULT_RETURNED

    # Late: the leader issues the apology a working day ahead, the result comes after the original
    # appointment but before the new one; statistics keep both dates.
    clock.advance(days=1)

    def apologise_then_run_late(dossier):
        with rt.db.session() as s:
            calendar = rt.calendars.for_unit(s, UNIT)
            current = s.get(DossierRecord, dossier.id)
            original = current.appointment_at
        clock.set(deadlines.apology_deadline(calendar, original))
        leader = Actor("lanh_dao_1", frozenset({"lanh_dao"}), UNIT)
        dossiers.reappoint_dossier(rt, dossier.id, leader, calendar.add(original, 2 * 480), "Chờ kết quả xác minh")
        clock.set(calendar.add(original, 60))

    late = drive(rt, clock, procedure, definition, {}, before_last=apologise_then_run_late)
    assert late.original_appointment_at < late.completed_at <= late.appointment_at
    assert late.re_appointment_reason == "Chờ kết quả xác minh"
    assert late.classification in ("early", "on_time")
    items, _, _ = history(rt, late.id)
    assert items[-1].classification == "late"  # the last step itself ran past its own budget
    assert clock.now() - late.received_at > timedelta(hours=1)


def financial_steps(procedure) -> list[str]:
    return [step_id for step_id, step in table_of(procedure).items() if step.get("status") == FINANCIAL_OBLIGATION]


WITH_FINANCIAL_OBLIGATION = [p for p in PROCEDURES if financial_steps(p)]


def test_every_procedure_with_a_financial_obligation_step_has_a_path_through_it():
    assert sorted(p.key for p in WITH_FINANCIAL_OBLIGATION) == sorted(FINANCIAL_OBLIGATION_PATHS)


@pytest.mark.parametrize("procedure", WITH_FINANCIAL_OBLIGATION, ids=[p.key for p in WITH_FINANCIAL_OBLIGATION])
def test_the_financial_obligation_stops_the_legal_clock(sqlite_database, clock, procedure):
    from engine.services.runtime import Runtime

    rt = Runtime(db=sqlite_database, clock=clock)
    add_units(rt)
    definition = library.load_one(rt, procedure)
    plan = {step: list(targets) for step, targets in FINANCIAL_OBLIGATION_PATHS[procedure.key].items()}

    paid = drive(rt, clock, procedure, definition, plan, step_minutes=60)

    items, _, pauses = history(rt, paid.id)
    assert (paid.run_state, paid.status) == ("completed", DossierStatus.RESULT_RETURNED)
    assert paid.classification in ("early", "on_time")
    assert set(financial_steps(procedure)) <= {i.element_id for i in items}
    kinds = [p.kind for p in pauses]
    assert kinds.count("financial_obligation") == 1 and all(p.ended_at is not None for p in pauses)
    assert {k for k in kinds if k.startswith("step:")} == {f"step:{s}" for s in clock_pausing_steps(procedure)}
    with rt.db.session() as s:
        calendar = rt.calendars.for_unit(s, UNIT)
        started = s.scalar(
            select(AuditEventRecord).where(AuditEventRecord.dossier_id == paid.id, AuditEventRecord.action == "start")
        )
    first_appointment = started.detail["appointment_at"]
    waited = sum(calendar.between(p.started_at, p.ended_at) for p in pauses)
    assert waited > 0  # the posting, the tax authority and the payment moved the appointment by their length
    assert paid.appointment_at == calendar.add(datetime.fromisoformat(first_appointment), waited)
