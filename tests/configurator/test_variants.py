"""Rollout to every commune, per-commune overrides within the legal limit, the drift report."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from configurator import variants
from engine.domain.assignment import Actor
from engine.domain.errors import InvalidAction
from engine.services import definitions
from engine.services import dossiers
from engine.store import variant_records
from engine.store.records import AuditEventRecord
from engine.store.records import UnitRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.factories import RECEPTION
from tests.factories import add_units

FIVE = (BPMN_DIR / "five_steps.bpmn").read_bytes()


@pytest.fixture
def hanoi(runtime):
    from web import seed

    seed.seed_units(runtime)
    add_units(runtime)  # the test users of Hoàn Kiếm (00070)
    return runtime


def test_rolling_out_to_126_communes_parses_once_and_reports_progress(hanoi):
    definition = definitions.deploy(hanoi, {"five.bpmn": FIVE})
    hanoi.specs = type(hanoi.specs)()  # a fresh cache: count this rollout's parses only
    seen = []
    report = variants.rollout(hanoi, definition.id, progress=lambda done, total: seen.append((done, total)))
    assert (report.units, report.parses) == (126, 1)
    assert seen[-1] == (126, 126)
    with hanoi.db.read_session() as s:
        assert variant_records.count_variants(s, "five_steps") == 126
    v2 = definitions.deploy(hanoi, {"five.bpmn": FIVE.replace(b'budget="4h" status="2"', b'budget="2h" status="2"')})
    variants.rollout(hanoi, v2.id, unit_codes=["00070"])
    drift = {d.unit_code: [str(x) for x in d.differences] for d in variants.drift_report(hanoi, "five_steps")}
    assert drift == {code: ["runs version 1, newest is 2"] for code in drift if code != "00070"} and len(drift) == 125


def test_overrides_assign_role_holders_and_budgets_for_new_dossiers(hanoi):
    definition = definitions.deploy(hanoi, {"five.bpmn": FIVE})
    variants.rollout(hanoi, definition.id, unit_codes=["00070", "00073"])
    variants.set_overrides(hanoi, "five_steps", "00070", roles={"mot_cua": "mot_cua_1"}, budgets={"tiep_nhan": "2h"})
    here = dossiers.start_dossier(
        hanoi, definition_id=definition.id, unit_code="00070", applicant_name="A", actor=RECEPTION
    )
    there = dossiers.start_dossier(
        hanoi, definition_id=definition.id, unit_code="00073", applicant_name="B", actor=RECEPTION
    )
    with hanoi.db.read_session() as s:
        mine = s.scalar(select(WorkItemRecord).where(WorkItemRecord.dossier_id == here.id))
        other = s.scalar(select(WorkItemRecord).where(WorkItemRecord.dossier_id == there.id))
    assert (mine.assignee, mine.state, mine.budget_minutes) == ("mot_cua_1", "claimed", 120)
    assert (other.assignee, other.state, other.budget_minutes) == (None, "open", 240)
    drift = {d.unit_code: [str(x) for x in d.differences] for d in variants.drift_report(hanoi, "five_steps")}
    assert drift == {"00070": ["role mot_cua held by mot_cua_1", "step tiep_nhan budget 2h"]}


def test_overrides_that_break_the_template_or_the_law_are_refused_and_not_saved(hanoi):
    definition = definitions.deploy(hanoi, {"five.bpmn": FIVE})
    variants.rollout(hanoi, definition.id, unit_codes=["00070"])
    with pytest.raises(variants.OverrideError) as info:
        variants.set_overrides(
            hanoi,
            "five_steps",
            "00070",
            roles={"thu_quy": "mot_cua_1", "lanh_dao": "chuyen_vien_1"},
            budgets={"khong_co": "1h", "tham_dinh": "mot ngay"},
        )
    assert {
        "role 'thu_quy' is not used by the template",
        "chuyen_vien_1 cannot hold role 'lanh_dao' in unit 00070",
        "khong_co: not a step of the template",
    } <= {str(p) for p in info.value.problems}
    with pytest.raises(variants.OverrideError, match="legal") as info:
        variants.set_overrides(hanoi, "five_steps", "00070", budgets={"tham_dinh": "3d"})
    with hanoi.db.read_session() as s:
        assert variant_records.variant_for(s, "five_steps", "00070").overrides == {}
        assert s.get(UnitRecord, "00070") is not None


def test_a_dossier_runs_the_version_rolled_out_to_its_commune_whatever_version_was_asked(hanoi):
    v1 = definitions.deploy(hanoi, {"five.bpmn": FIVE})
    v2 = definitions.deploy(hanoi, {"five.bpmn": FIVE.replace(b'budget="4h" status="2"', b'budget="2h" status="2"')})
    variants.rollout(hanoi, v1.id, unit_codes=["00070"])
    variants.rollout(hanoi, v2.id, unit_codes=["00073"])
    here = dossiers.start_dossier(hanoi, definition_id=v2.id, unit_code="00070", applicant_name="A", actor=RECEPTION)
    there = dossiers.start_dossier(hanoi, definition_id=v1.id, unit_code="00073", applicant_name="B", actor=RECEPTION)
    assert (here.definition_id, there.definition_id) == (v1.id, v2.id)
    assert here.variant_id is not None and there.variant_id is not None


OPTIONAL_DRAFT = FIVE.replace(
    b'<motcua:step role="chuyen_vien" budget="0.5d"/>',
    b'<motcua:step role="chuyen_vien" budget="0.5d" optional="true"/>',
)


def _open_steps(rt, dossier_id) -> list[str]:
    with rt.db.read_session() as s:
        return [
            i.element_id
            for i in s.scalars(
                select(WorkItemRecord).where(
                    WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(["open", "claimed"])
                )
            )
        ]


def test_a_commune_skips_an_optional_step_and_its_dossiers_pass_it_with_a_record(hanoi):
    definition = definitions.deploy(hanoi, {"five.bpmn": OPTIONAL_DRAFT})
    variants.rollout(hanoi, definition.id, unit_codes=["00070", "00073"])
    variants.set_overrides(hanoi, "five_steps", "00070", skip=["du_thao"])
    assert [str(d) for d in variants.drift_report(hanoi, "five_steps")[0].differences] == ["step du_thao skipped"]
    here = dossiers.start_dossier(
        hanoi, definition_id=definition.id, unit_code="00070", applicant_name="A", actor=RECEPTION
    )
    there = dossiers.start_dossier(
        hanoi, definition_id=definition.id, unit_code="00073", applicant_name="B", actor=RECEPTION
    )
    for dossier in (here, there):
        for _ in range(2):  # reception, then appraisal (found valid)
            with hanoi.db.read_session() as s:
                item = s.scalar(
                    select(WorkItemRecord).where(
                        WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state.in_(["open", "claimed"])
                    )
                )
            dossiers.complete_work_item(hanoi, item.id, Actor.system(), {"hop_le": True})
    assert _open_steps(hanoi, here.id) == ["ky_duyet"]  # the draft step was passed
    assert _open_steps(hanoi, there.id) == ["du_thao"]  # the other commune drafts as the template says
    with hanoi.db.read_session() as s:
        skips = s.scalars(select(AuditEventRecord).where(AuditEventRecord.action == "skip")).all()
    assert [(e.dossier_id, e.element_id, e.actor) for e in skips] == [(here.id, "du_thao", "system")]


def test_only_a_step_the_template_marks_optional_may_be_skipped(hanoi):
    definition = definitions.deploy(hanoi, {"five.bpmn": FIVE})
    variants.rollout(hanoi, definition.id, unit_codes=["00070"])
    with pytest.raises(variants.OverrideError) as info:
        variants.set_overrides(hanoi, "five_steps", "00070", skip=["du_thao", "khong_co"])
    assert [str(p) for p in info.value.problems] == [
        "du_thao: the template does not mark this step optional, so no commune may skip it",
        "khong_co: not a step of the template",
    ]
    with hanoi.db.read_session() as s:
        assert variant_records.variant_for(s, "five_steps", "00070").overrides == {}


def _variant_rows(rt) -> list[tuple]:
    with rt.db.read_session() as s:
        return sorted(
            (v.template_key, v.unit_code, v.definition_id, v.overrides)
            for v in variant_records.list_variants(s, limit=100_000)
        )


def test_rolling_out_a_library_at_once_writes_the_rows_one_rollout_at_a_time_would(hanoi):
    five = definitions.deploy(hanoi, {"five.bpmn": FIVE})
    other = definitions.deploy(hanoi, {"other.bpmn": FIVE.replace(b'id="five_steps"', b'id="other_steps"')})
    for definition in (five, other):
        variants.rollout(hanoi, definition.id)
    variants.set_overrides(hanoi, "five_steps", "00070", budgets={"tiep_nhan": "2h"})
    one_at_a_time = _variant_rows(hanoi)
    v2 = definitions.deploy(hanoi, {"five.bpmn": FIVE.replace(b'budget="4h" status="2"', b'budget="2h" status="2"')})
    variants.rollout(hanoi, v2.id)
    v2_one_at_a_time = _variant_rows(hanoi)
    variants.rollout_many(hanoi, [five.id, other.id])  # back to v1, then v2 again with the whole library
    assert _variant_rows(hanoi) == one_at_a_time
    hanoi.specs = type(hanoi.specs)()  # a fresh cache: count this rollout's parses only

    reports = variants.rollout_many(hanoi, [v2.id, other.id])

    assert [(r.template_key, r.version, r.units, r.parses) for r in reports] == [
        ("five_steps", 2, 126, 1),
        ("other_steps", 1, 126, 1),
    ]
    assert _variant_rows(hanoi) == v2_one_at_a_time
    assert ("five_steps", "00070", v2.id, {"roles": {}, "budgets": {"tiep_nhan": "2h"}}) in v2_one_at_a_time


def test_a_library_rollout_with_an_unpublished_version_writes_nothing(hanoi):
    five = definitions.deploy(hanoi, {"five.bpmn": FIVE})
    other = definitions.deploy(hanoi, {"other.bpmn": FIVE.replace(b'id="five_steps"', b'id="other_steps"')})
    definitions.retire(hanoi, other.id)
    with pytest.raises(InvalidAction, match="only a published version can be rolled out"):
        variants.rollout_many(hanoi, [five.id, other.id])
    assert _variant_rows(hanoi) == []
