"""Library procedures whose outcome depends on the case through a decision table (DMN): the
monthly social allowance's level by beneficiary group (coefficient x the 500,000 VND standard),
and the fee for certifying copies by page count (Circular 226/2016)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from configurator import library
from engine.bpmn import runner
from engine.domain.assignment import Actor
from engine.domain.model import DossierStatus
from engine.services import dossiers
from engine.services.runtime import Runtime
from engine.services.scripting import script_engine_for
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import add_units

UNIT = "00070"
ALLOWANCE = next(p for p in library.procedures() if p.key == "tro_cap_xa_hoi_hang_thang")
COPIES = next(p for p in library.procedures() if p.key == "chung_thuc_ban_sao_tu_ban_chinh")
STEP_DATA = {
    "tiep_nhan": {"ket_qua": "tiep_nhan", "ho_so_day_du": True},
    "xet_duyet": {"ket_qua": "dong_y"},
    "ky_duyet": {"ket_qua": "dong_y"},
    "tra_ket_qua": {},
}


def _open_item(rt, dossier_id):
    with rt.db.read_session() as s:
        return s.scalar(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        )


def _workflow_data(rt, dossier_id) -> dict:
    with rt.db.read_session() as s:
        dossier = s.get(DossierRecord, dossier_id)
        bundle = rt.bundle_for_definition(s, dossier.definition_id)
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
    run = runner.load(bundle, dossier.state, rt.clock, script_engine_for(calendar, rt.clock))
    tasks = run.human_tasks()
    return tasks[0].data if tasks else run.data


def run_allowance(rt, clock, definition, group: str) -> tuple[DossierRecord, dict]:
    """A dossier worked to its end; returns it and the data the council's step saw."""
    return run_procedure(rt, clock, ALLOWANCE, definition, {"ket_qua": "dat", "nhom_doi_tuong": group}, "xet_duyet")


def run_procedure(rt, clock, procedure, definition, appraisal: dict, seen_at: str) -> tuple[DossierRecord, dict]:
    """A dossier worked to its end with `appraisal` as the specialist's entry; returns it and the
    data the step `seen_at` (the one after the decision table) saw."""
    forms = procedure.forms(procedure.versions()[-1])
    dossier = dossiers.start_dossier(
        rt,
        definition_id=definition.id,
        unit_code=UNIT,
        applicant_name="Trần Văn Thử",
        actor=Actor("mot_cua_1", frozenset({"mot_cua"}), UNIT),
    )
    seen_by_council = {}
    for _ in range(20):
        item = _open_item(rt, dossier.id)
        if item is None:
            break
        clock.advance(minutes=30)
        if item.element_id == seen_at:
            seen_by_council = _workflow_data(rt, dossier.id)
        data = dict(STEP_DATA.get(item.element_id, {}))
        if item.element_id == "tham_dinh":
            data = dict(appraisal)
        enum = forms.get(item.form_key or "", {}).get("properties", {}).get("ket_qua", {}).get("enum")
        if enum and data.get("ket_qua") not in enum:
            data["ket_qua"] = next(
                v for v in enum if v not in ("bo_sung", "tu_choi", "tra_lai", "khong_dong_y", "khong_dat")
            )
        dossiers.complete_work_item(rt, item.id, Actor(f"{item.role}_1", frozenset({item.role}), UNIT), data)
    with rt.db.read_session() as s:
        return s.get(DossierRecord, dossier.id), seen_by_council


@pytest.fixture
def allowance(sqlite_database, clock):
    rt = Runtime(db=sqlite_database, clock=clock)
    add_units(rt)
    return rt, library.load_one(rt, ALLOWANCE)


def test_the_published_allowance_carries_its_decision_table(allowance):
    rt, definition = allowance
    from engine.services import definitions

    files = definitions.template_files(rt, definition.id)
    assert "muc_tro_cap_xa_hoi.dmn" in files


@pytest.mark.parametrize(
    "group,coefficient,amount",
    [
        ("nguoi_khuyet_tat_dac_biet_nang", 2.0, 1_000_000),
        ("nguoi_khuyet_tat_nang", 1.5, 750_000),
        ("nguoi_cao_tuoi_tu_80", 1.0, 500_000),
    ],
)
def test_a_group_in_the_table_gets_coefficient_times_the_standard_level(allowance, clock, group, coefficient, amount):
    rt, definition = allowance
    done, council = run_allowance(rt, clock, definition, group)
    assert (done.run_state, done.status) == ("completed", DossierStatus.RESULT_RETURNED)
    assert council["he_so"] == coefficient
    assert council["muc_tro_cap_vnd"] == amount == coefficient * 500_000
    assert "500.000" in council["can_cu_muc_tro_cap"]


def test_a_group_outside_the_table_is_left_to_the_council(allowance, clock):
    rt, definition = allowance
    done, council = run_allowance(rt, clock, definition, "don_than_ngheo")
    assert done.status == DossierStatus.RESULT_RETURNED
    assert council["he_so"] is None and council["muc_tro_cap_vnd"] is None
    assert "Hội đồng" in council["can_cu_muc_tro_cap"]


@pytest.fixture
def copies(sqlite_database, clock):
    rt = Runtime(db=sqlite_database, clock=clock)
    add_units(rt)
    return rt, library.load_one(rt, COPIES)


@pytest.mark.parametrize(
    "pages,copies_made,per_copy,total",
    [
        (1, 2, 2_000, 4_000),  # 2,000 a page for the first two pages
        (2, 1, 4_000, 4_000),
        (5, 3, 7_000, 21_000),  # 4,000 + 1,000 for each page from the third
        (300, 2, 200_000, 400_000),  # at most 200,000 a copy
    ],
)
def test_the_certification_fee_follows_the_page_count(copies, clock, pages, copies_made, per_copy, total):
    rt, definition = copies
    done, leader = run_procedure(
        rt,
        clock,
        COPIES,
        definition,
        {"ket_qua": "dat", "so_trang_ban_chinh": pages, "so_ban_sao": copies_made},
        "ky_duyet",
    )
    assert (done.run_state, done.status) == ("completed", DossierStatus.RESULT_RETURNED)
    assert (leader["phi_moi_ban_vnd"], leader["phi_chung_thuc_vnd"]) == (per_copy, total)


@pytest.mark.parametrize("procedure", [ALLOWANCE, COPIES], ids=lambda p: p.key)
def test_the_simulation_passes_the_decision_table(sqlite_database, clock, procedure):
    from configurator import simulation

    rt = Runtime(db=sqlite_database, clock=clock)
    add_units(rt)
    version = procedure.versions()[-1]
    files = {f"{procedure.key}.bpmn": procedure.bpmn(version), **procedure.decision_tables(version)}
    steps = simulation.simulate(rt, files, UNIT, clock.now(), process_id=procedure.key).steps
    assert [s.element_id for s in steps][-1] == "tra_ket_qua"


def test_the_simulation_passes_a_service_task(sqlite_database, clock):
    from pathlib import Path

    from configurator import simulation

    rt = Runtime(db=sqlite_database, clock=clock)
    add_units(rt)
    here = Path(__file__).resolve().parents[1] / "bpmn"
    files = {
        "a.bpmn": (here / "fee_and_notice.bpmn").read_bytes(),
        "le_phi.dmn": (here / "le_phi.dmn").read_bytes().replace(b"le_phi_vnd", b"le_phi_ket_qua"),
    }
    steps = simulation.simulate(rt, files, UNIT, clock.now()).steps
    assert [s.element_id for s in steps] == ["tiep_nhan", "tra_ket_qua"]
