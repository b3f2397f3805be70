"""Template versions: the diff between two versions, and migrating a running dossier safely."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from configurator import drafts
from configurator import versions
from engine.domain.errors import EngineError
from engine.domain.errors import Reason
from engine.services import definitions
from engine.services import dossiers
from engine.store import open_stock
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import add_units

FIVE = (BPMN_DIR / "five_steps.bpmn").read_text(encoding="utf-8")
ACTORS = {"mot_cua": RECEPTION, "chuyen_vien": SPECIALIST, "lanh_dao": LEADER}


def with_check_step(bpmn: str) -> str:
    """v2: the leader's budget drops to 2h and a check step (kiem_tra) comes before signing."""
    bpmn = bpmn.replace('<motcua:step role="lanh_dao" budget="4h"/>', '<motcua:step role="lanh_dao" budget="2h"/>')
    bpmn = bpmn.replace(
        "<bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>",
        "<bpmn:incoming>f5b</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>",
    )
    bpmn = bpmn.replace(
        '<bpmn:sequenceFlow id="f5" sourceRef="du_thao" targetRef="ky_duyet"/>',
        '<bpmn:sequenceFlow id="f5" sourceRef="du_thao" targetRef="kiem_tra"/>'
        '<bpmn:sequenceFlow id="f5b" sourceRef="kiem_tra" targetRef="ky_duyet"/>',
    )
    bpmn = bpmn.replace(
        '<bpmn:userTask id="ky_duyet"',
        '<bpmn:userTask id="kiem_tra" name="Kiểm tra">'
        '<bpmn:extensionElements><motcua:step role="chuyen_vien" budget="2h"/></bpmn:extensionElements>'
        "<bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f5b</bpmn:outgoing></bpmn:userTask>\n"
        '    <bpmn:userTask id="ky_duyet"',
    )
    return bpmn.replace(
        "<bpmn:flowNodeRef>du_thao</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>du_thao</bpmn:flowNodeRef><bpmn:flowNodeRef>kiem_tra</bpmn:flowNodeRef>",
    )


def without_appraisal(bpmn: str) -> str:
    """v3: the appraisal step (tham_dinh) and its reminder timer are gone; reception goes to the gateway."""
    for pattern in (
        r'<bpmn:userTask id="tham_dinh".*?</bpmn:userTask>',
        r"<bpmn:boundaryEvent .*?</bpmn:boundaryEvent>",
        r'<bpmn:scriptTask id="nhac_viec".*?</bpmn:scriptTask>',
        r'<bpmn:endEvent id="remind_end">.*?</bpmn:endEvent>',
        r'<bpmn:sequenceFlow id="f_remind[^/]*/>',
        r'<bpmn:sequenceFlow id="f3"[^/]*/>',
        r"<bpmn:flowNodeRef>(tham_dinh|nhac_viec)</bpmn:flowNodeRef>",
    ):
        bpmn = re.sub(pattern, "", bpmn, flags=re.S)
    bpmn = bpmn.replace('sourceRef="tiep_nhan" targetRef="tham_dinh"', 'sourceRef="tiep_nhan" targetRef="hop_le_gw"')
    return bpmn.replace(
        "<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>",
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>",
    )


def deploy(rt, bpmn: str, **kwargs):
    return definitions.deploy(rt, {"five_steps.bpmn": bpmn.encode("utf-8")}, **kwargs)


@pytest.fixture
def rt(runtime):
    add_units(runtime)
    return runtime


def open_item(rt, dossier_id: int) -> WorkItemRecord:
    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
            )
        ).one()


def complete(rt, dossier_id: int, data=None) -> WorkItemRecord:
    item = open_item(rt, dossier_id)
    dossiers.complete_work_item(rt, item.id, ACTORS[item.role], data)
    return item


def start(rt, definition):
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )


def test_diff_lists_the_added_step_the_rewired_flow_and_the_changed_budget(rt):
    deploy(rt, FIVE)
    deploy(rt, with_check_step(FIVE))
    diff = versions.diff_versions(rt, "five_steps", 1, 2)
    assert [(e.element_id, e.name, e.type) for e in diff.added] == [("kiem_tra", "Kiểm tra", "UserTask")]
    assert diff.removed == []
    assert [(e.element_id, e.changes) for e in diff.changed] == [("du_thao", ("flows: ['ky_duyet'] -> ['kiem_tra']",))]
    assert diff.budgets == [versions.PolicyChange("ky_duyet", "budget", "4h", "2h")]
    assert versions.diff_versions(rt, "five_steps", 2, 2).empty


def test_diff_names_removed_elements(rt):
    deploy(rt, FIVE)
    deploy(rt, without_appraisal(FIVE))
    diff = versions.diff_versions(rt, "five_steps", 1, 2)
    assert [e.element_id for e in diff.removed] == ["nhac_viec", "nhac_viec_timer", "remind_end", "tham_dinh"]
    assert [(e.element_id, e.changes) for e in diff.changed] == [
        ("tiep_nhan", ("flows: ['tham_dinh'] -> ['hop_le_gw']",))
    ]


def test_a_dossier_at_the_first_step_migrates_and_finishes_on_the_new_version(rt):
    v1 = deploy(rt, FIVE)
    v2 = deploy(rt, with_check_step(FIVE))
    dossier = start(rt, v1)
    first = open_item(rt, dossier.id)
    check = versions.migration_check(rt, dossier.id, v2.id)
    assert (check.ok, check.reasons) == (True, [])

    versions.migrate_dossier(rt, dossier.id, v2.id, LEADER)
    with rt.db.read_session() as s:  # the open stock moved to the new version with it
        assert open_stock.rows(s) == open_stock.recount(s)
        assert {row[1] for row in open_stock.rows(s)} == {v2.id}

    with rt.db.read_session() as s:
        assert s.get(DossierRecord, dossier.id).definition_id == v2.id
        event = s.scalars(select(AuditEventRecord).where(AuditEventRecord.action == "migrate")).one()
    assert (event.actor, event.detail["from_definition"], event.detail["to_definition"]) == (
        "lanh_dao_1",
        "five_steps v1",
        "five_steps v2",
    )
    assert open_item(rt, dossier.id).id == first.id  # the open step keeps its work item and deadline
    steps = [complete(rt, dossier.id, {"hop_le": True}) for _ in range(6)]
    assert [(s.element_id, s.budget_minutes) for s in steps] == [
        ("tiep_nhan", 240),
        ("tham_dinh", 480),
        ("du_thao", 240),
        ("kiem_tra", 120),
        ("ky_duyet", 120),
        ("tra_ket_qua", 240),
    ]
    with rt.db.read_session() as s:
        assert s.get(DossierRecord, dossier.id).run_state == "completed"
    # A dossier nobody migrates stays on its version and runs the old steps.
    other = start(rt, v1)
    assert [complete(rt, other.id, {"hop_le": True}).element_id for _ in range(5)] == [
        "tiep_nhan",
        "tham_dinh",
        "du_thao",
        "ky_duyet",
        "tra_ket_qua",
    ]


def test_migration_is_refused_when_the_open_step_was_removed(rt):
    v1 = deploy(rt, FIVE)
    dossier = start(rt, v1)
    complete(rt, dossier.id)  # now at tham_dinh, its reminder timer armed
    v2 = deploy(rt, without_appraisal(FIVE))
    check = versions.migration_check(rt, dossier.id, v2.id)
    reasons = [str(r) for r in check.reasons]
    assert not check.ok
    assert any(r.startswith("step tham_dinh (ready) was removed") for r in reasons), reasons
    assert any("nhac_viec_timer (waiting) was removed" in r for r in reasons)
    assert "step tiep_nhan (completed) was changed in the target version (outputs)" in reasons
    assert not any("BoundaryEventSplit" in r for r in reasons)  # SpiffWorkflow's helpers stay hidden
    with pytest.raises(versions.MigrationRefused) as refused:
        versions.migrate_dossier(rt, dossier.id, v2.id, LEADER)
    assert isinstance(refused.value, EngineError) and "tham_dinh" in str(refused.value)
    with rt.db.read_session() as s:
        assert s.get(DossierRecord, dossier.id).definition_id == v1.id
        assert not s.scalars(select(AuditEventRecord).where(AuditEventRecord.action == "migrate")).all()
    assert open_item(rt, dossier.id).element_id == "tham_dinh"


def test_migration_is_refused_when_a_completed_step_changed_but_allowed_when_only_later_ones_did(rt):
    v1 = deploy(rt, FIVE)
    dossier = start(rt, v1)
    for _ in range(3):
        complete(rt, dossier.id, {"hop_le": True})  # now at ky_duyet; du_thao is done
    v2 = deploy(rt, with_check_step(FIVE))  # du_thao now leads to kiem_tra
    check = versions.migration_check(rt, dossier.id, v2.id)
    assert not check.ok and any("du_thao (completed) was changed" in str(r) for r in check.reasons)


def test_migration_target_must_be_a_published_version_of_the_same_template(rt):
    v1 = deploy(rt, FIVE)
    dossier = start(rt, v1)
    saved = drafts.save_draft(rt, "five_steps", with_check_step(FIVE).encode())
    draft = versions.version_of(rt, "five_steps", saved.version)
    other = definitions.deploy(rt, {"two.bpmn": FIVE.replace('id="five_steps"', 'id="other_steps"').encode()})
    assert versions.migration_check(rt, dossier.id, draft.id).reasons == [
        Reason.of("%(key)s v%(version)s is %(state)s, not published", key="five_steps", version=2, state="draft")
    ]
    assert "another template" in str(versions.migration_check(rt, dossier.id, other.id).reasons[0])
    assert "already runs" in str(versions.migration_check(rt, dossier.id, v1.id).reasons[0])


def test_retire_a_version_by_number(rt):
    deploy(rt, FIVE)
    deploy(rt, with_check_step(FIVE))
    versions.retire_version(rt, "five_steps", 1)
    assert [(d.version, d.status) for d in versions.list_versions(rt, "five_steps")] == [
        (1, "retired"),
        (2, "published"),
    ]


def test_the_migrate_command_checks_then_moves_every_movable_dossier(rt, monkeypatch):
    from click.testing import CliRunner

    from web.cli import main

    v1 = deploy(rt, FIVE)
    waiting, advanced = start(rt, v1), start(rt, v1)
    for _ in range(4):
        complete(rt, advanced.id, {"hop_le": True})
    v2 = deploy(rt, with_check_step(FIVE))
    monkeypatch.setenv("DATABASE_URL", rt.db.url)
    monkeypatch.setattr(versions, "MIGRATION_BATCH", 1)  # one dossier per batch: the walk goes on past a refusal

    check = CliRunner().invoke(main, ["processes", "migrate", "five_steps", "--from", "1", "--to", "2"])
    assert check.exit_code == 0, check.output
    assert f"{advanced.code}: stays on v1: step du_thao (completed) was changed" in check.output
    assert "2 dossier(s) on five_steps v1: 1 can move to v2 (check only" in check.output
    with rt.db.read_session() as s:
        assert s.get(DossierRecord, waiting.id).definition_id == v1.id

    moved = CliRunner().invoke(main, ["processes", "migrate", "five_steps", "--from", "1", "--to", "2", "--apply"])
    assert moved.exit_code == 0 and "moved 1, 0 changed meanwhile" in moved.output, moved.output
    with rt.db.read_session() as s:
        assert s.get(DossierRecord, waiting.id).definition_id == v2.id
        assert s.get(DossierRecord, advanced.id).definition_id == v1.id
