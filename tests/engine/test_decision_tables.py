"""Business rule tasks: a template bundle with its DMN table runs the table inside the dossier's
change, and the table's cells are held to the same rules and run-time bounds as any expression."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from configurator.validation import validate_template
from engine.bpmn.script_env import MAX_OPERATIONS
from engine.domain.assignment import Actor
from engine.domain.errors import ExpressionError
from engine.domain.errors import TemplateError
from engine.services import definitions
from engine.services import dossiers
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import add_units

HERE = Path(__file__).resolve().parents[1] / "bpmn"
BPMN = (HERE / "fee_decision.bpmn").read_bytes()
DMN = (HERE / "le_phi.dmn").read_bytes()
CLERK = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")


def bundle(dmn: bytes = DMN) -> dict[str, bytes]:
    return {"fee_decision.bpmn": BPMN, "le_phi.dmn": dmn}


@pytest.fixture
def rt(runtime):
    add_units(runtime)
    return runtime


def _open_item(rt, dossier_id) -> WorkItemRecord:
    with rt.db.read_session() as s:
        return s.scalar(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        )


def _receive(rt, definition, data: dict):
    dossier = dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Lê Thị Phí", actor=CLERK
    )
    item = _open_item(rt, dossier.id)
    return dossier, item, lambda: dossiers.complete_work_item(rt, item.id, CLERK, data)


@pytest.mark.parametrize(
    "data,fee",
    [
        ({"hinh_thuc_nop": "truc_tuyen", "so_ban": 3}, 0),
        ({"hinh_thuc_nop": "truc_tiep", "so_ban": 3}, 15_000),
        ({"hinh_thuc_nop": "truc_tiep", "so_ban": 1}, 8_000),
    ],
)
def test_the_decision_table_decides_inside_the_dossier(rt, data, fee):
    definition = definitions.deploy(rt, bundle())
    dossier, _, complete = _receive(rt, definition, data)
    complete()
    following = _open_item(rt, dossier.id)
    assert following.element_id == "tra_ket_qua"
    from tests.processes.test_library_decisions import _workflow_data

    assert _workflow_data(rt, dossier.id)["le_phi_vnd"] == fee


def test_a_business_rule_task_without_its_table_is_refused_naming_the_task(rt):
    with pytest.raises(TemplateError) as info:
        definitions.deploy(rt, {"fee_decision.bpmn": BPMN})
    assert info.value.element_id == "tinh_phi"
    report = validate_template({"fee_decision.bpmn": BPMN})
    assert {(f.code, f.element_id) for f in report.errors} >= {("called-decision", "tinh_phi")}


@pytest.mark.parametrize(
    "cell,reason",
    [
        ("<text>so_ban * 5000</text>", "__import__('os')"),
        ("<text>so_ban * 5000</text>", "open('/etc/passwd')"),
    ],
)
def test_an_unsafe_cell_is_refused_at_publish_naming_the_cell(rt, cell, reason):
    bad = DMN.replace(cell.encode(), f"<text>{reason}</text>".encode())
    report = validate_template(bundle(bad))
    refused = [f for f in report.errors if f.code == "expression"]
    assert refused and refused[0].element_id == "out_nhieu_ban" and refused[0].file == "le_phi.dmn"
    assert refused[0].line
    with pytest.raises(TemplateError) as info:
        definitions.deploy(rt, bundle(bad))
    assert info.value.element_id == "out_nhieu_ban"


def test_an_unsafe_input_entry_is_refused_naming_the_entry():
    bad = DMN.replace(b"<text>&gt; 1</text>", b"<text>&gt; len(().__class__.__mro__)</text>")
    report = validate_template(bundle(bad))
    assert {f.element_id for f in report.errors if f.code == "expression"} == {"in_nhieu_ban"}


@pytest.mark.parametrize(
    "output,data,match",
    [
        ("[f'{1:&gt;100000}' for i in range(so_ban)]", {"so_ban": 10_000}, f"exceeded {MAX_OPERATIONS} operations"),
        ("'x' * so_ban", {"so_ban": 10**9}, "would build"),
    ],
)
def test_a_cell_is_bounded_at_run_time_like_any_expression(rt, output, data, match):
    heavy = DMN.replace(b"<text>so_ban * 5000</text>", f"<text>{output}</text>".encode())
    definition = definitions.deploy(rt, bundle(heavy))
    dossier, item, complete = _receive(rt, definition, {"hinh_thuc_nop": "truc_tiep", **data})
    with rt.db.read_session() as s:
        before = s.get(DossierRecord, dossier.id).version
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=match) as info:
        complete()
    assert time.perf_counter() - started < 5
    assert info.value.element_id == "tinh_phi"
    with rt.db.read_session() as s:
        assert s.get(DossierRecord, dossier.id).version == before  # nothing written
    assert _open_item(rt, dossier.id).id == item.id


def test_the_version_diff_names_the_rules_that_changed(rt):
    from configurator import versions

    first = definitions.deploy(rt, bundle())
    changed = DMN.replace(b"<text>8000</text>", b"<text>10000</text>").replace(
        b'<rule id="rule_truc_tuyen">',
        b'<rule id="rule_buu_chinh"><inputEntry id="in_bc"><text>"buu_chinh"</text>'
        b'</inputEntry><inputEntry id="in_bc2"><text>-</text></inputEntry><outputEntry id="out_bc"><text>12000</text>'
        b'</outputEntry></rule><rule id="rule_truc_tuyen">',
    )
    second = definitions.deploy(rt, bundle(changed))
    diff = versions.diff_versions(rt, "fee_decision", first.version, second.version)
    assert not diff.empty
    by_id = {c.element_id: c for c in diff.decisions}
    assert by_id["rule_mac_dinh"].type == "rule changed" and "8000 -> " in by_id["rule_mac_dinh"].changes[0]
    assert by_id["rule_buu_chinh"].type == "rule added"
    assert set(by_id) == {"rule_mac_dinh", "rule_buu_chinh"}
