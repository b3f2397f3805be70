"""Delegate/resolve, reassign and return-to-previous on a work item, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.domain.assignment import Actor
from engine.domain.assignment import StepHolding
from engine.domain.assignment import offered_actions
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.services import actions
from engine.services import definitions
from engine.services import dossiers
from engine.store.records import AuditEventRecord
from engine.store.records import OutboxRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from tests.conftest import vn
from tests.factories import LEADER
from tests.factories import OTHER_COMMUNE
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import SPECIALIST_2
from tests.factories import add_units
from tests.factories import deploy_fixture

OTHER_LEADER = Actor("lanh_dao_x", frozenset({"lanh_dao"}), "00073")

RETURNS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xmlns:motcua="https://motcua.vn/schema/bpmn/1.0"
                  id="defs_returns" targetNamespace="https://motcua.vn/tests">
  <bpmn:process id="returns" name="Returns" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="xu_ly" name="X\xe1\xbb\xad l\xc3\xbd">
      <bpmn:extensionElements><motcua:step role="chuyen_vien" budget="1d"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f_back</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="duyet" name="Duy\xe1\xbb\x87t">
      <bpmn:extensionElements><motcua:step role="lanh_dao" budget="4h"/></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="duyet_gw" default="f_ok">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f_back</bpmn:outgoing><bpmn:outgoing>f_ok</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="xong"><bpmn:incoming>f_ok</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="xu_ly"/>
    <bpmn:sequenceFlow id="f2" sourceRef="xu_ly" targetRef="duyet"/>
    <bpmn:sequenceFlow id="f3" sourceRef="duyet" targetRef="duyet_gw"/>
    <bpmn:sequenceFlow id="f_back" sourceRef="duyet_gw" targetRef="xu_ly">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">ket_qua == 'tra_lai'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_ok" sourceRef="duyet_gw" targetRef="xong"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def five(runtime):
    add_units(runtime)
    with runtime.db.session() as s:
        s.add(
            UserRecord(
                username="chuyen_vien_off", full_name="off", unit_code="00070", roles="chuyen_vien", active=False
            )
        )
    return deploy_fixture(runtime, "five_steps")


def start(rt, definition):
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )


def open_item(rt, dossier_id) -> WorkItemRecord:
    with rt.db.session() as s:
        [item] = s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(["open", "claimed"])
            )
        )
        return item


def item_row(rt, item_id) -> WorkItemRecord:
    with rt.db.session() as s:
        return s.get(WorkItemRecord, item_id)


def events(rt, action):
    with rt.db.session() as s:
        return list(
            s.scalars(select(AuditEventRecord).where(AuditEventRecord.action == action).order_by(AuditEventRecord.id))
        )


def messages(rt):
    with rt.db.session() as s:
        return list(s.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))


def snapshot(rt):
    """Everything an action could write: refusals must leave it unchanged."""
    with rt.db.session() as s:
        items = [
            (i.id, i.assignee, i.owner, i.delegation_state, i.state, i.version, i.on_behalf_of)
            for i in s.scalars(select(WorkItemRecord).order_by(WorkItemRecord.id))
        ]
        counts = [s.scalar(select(func.count()).select_from(t)) for t in (AuditEventRecord, OutboxRecord)]
    return items, counts


@pytest.fixture
def appraisal(runtime, five):
    """A dossier at 'tham_dinh', claimed by chuyen_vien_1."""
    dossier = start(runtime, five)
    dossiers.complete_work_item(runtime, open_item(runtime, dossier.id).id, RECEPTION, {})
    item = open_item(runtime, dossier.id)
    dossiers.claim_work_item(runtime, item.id, SPECIALIST)
    return item_row(runtime, item.id)


# -- notifications --------------------------------------------------------------------------------


def test_a_hand_over_message_gives_the_due_time_in_the_units_local_time(runtime, five, clock):
    dossier = start(runtime, five)
    clock.set(vn(2026, 3, 2, 9, 0))
    dossiers.complete_work_item(runtime, open_item(runtime, dossier.id).id, RECEPTION, {})
    appraisal = open_item(runtime, dossier.id)  # one working day from Monday 09:00
    assert appraisal.due_at == vn(2026, 3, 3, 9, 0)  # 02:00 UTC
    dossiers.claim_work_item(runtime, appraisal.id, SPECIALIST)
    actions.delegate_work_item(runtime, appraisal.id, SPECIALIST, "chuyen_vien_2")
    actions.reassign_work_item(runtime, appraisal.id, LEADER, to_role="chuyen_vien", reason="Cân đối việc")
    bodies = [m.body for m in messages(runtime)]
    assert len(bodies) == 3  # the delegate, then both specialists of the pool
    for body in bodies:
        assert "Hạn xử lý: 09:00 ngày 03/03/2026." in body
        assert "02:00" not in body and "+00:00" not in body and "T02" not in body


# -- delegate / resolve ---------------------------------------------------------------------------


def test_delegate_resolve_then_the_owner_completes(runtime, appraisal):
    # Given chuyen_vien_1 holds the step; when they delegate it to chuyen_vien_2
    actions.delegate_work_item(runtime, appraisal.id, SPECIALIST, "chuyen_vien_2", "kiểm tra giúp")
    row = item_row(runtime, appraisal.id)
    assert (row.owner, row.assignee, row.delegation_state, row.state) == (
        "chuyen_vien_1",
        "chuyen_vien_2",
        "pending",
        "claimed",
    )
    [event] = events(runtime, "delegate")
    assert (event.actor, event.giver, event.receiver, event.on_behalf_of) == (
        "chuyen_vien_1",
        "chuyen_vien_1",
        "chuyen_vien_2",
        None,
    )
    assert event.detail["note"] == "kiểm tra giúp"
    assert [(m.recipient, m.channel) for m in messages(runtime)] == [("chuyen_vien_2", "in_app")]
    # The owner cannot complete while the delegate holds it
    with pytest.raises(PermissionDenied, match="assigned to chuyen_vien_2"):
        dossiers.complete_work_item(runtime, appraisal.id, SPECIALIST, {"hop_le": True})

    # When the delegate resolves, the step goes back to its owner
    actions.resolve_work_item(runtime, appraisal.id, SPECIALIST_2, {"hop_le": True}, "đã kiểm tra")
    row = item_row(runtime, appraisal.id)
    assert (row.owner, row.assignee, row.delegation_state) == ("chuyen_vien_1", "chuyen_vien_1", "resolved")
    [event] = events(runtime, "resolve")
    assert (event.actor, event.giver, event.receiver) == ("chuyen_vien_2", "chuyen_vien_2", "chuyen_vien_1")
    assert event.detail["data"] == {"hop_le": True}
    assert messages(runtime)[-1].recipient == "chuyen_vien_1"

    # Then the owner completes the step and the dossier moves on
    dossiers.complete_work_item(runtime, appraisal.id, SPECIALIST, {"hop_le": True})
    assert item_row(runtime, appraisal.id).completed_by == "chuyen_vien_1"
    assert open_item(runtime, appraisal.dossier_id).element_id == "du_thao"


def test_a_leader_delegates_on_the_assignees_behalf(runtime, appraisal):
    actions.delegate_work_item(runtime, appraisal.id, LEADER, "chuyen_vien_2")
    [event] = events(runtime, "delegate")
    assert (event.actor, event.on_behalf_of, event.giver, event.receiver) == (
        "lanh_dao_1",
        "chuyen_vien_1",
        "chuyen_vien_1",
        "chuyen_vien_2",
    )
    assert item_row(runtime, appraisal.id).owner == "chuyen_vien_1"


@pytest.mark.parametrize(
    "actor, to, error, message",
    [
        (SPECIALIST_2, "chuyen_vien_2", PermissionDenied, "only chuyen_vien_1 or a leader of unit 00070"),
        (OTHER_LEADER, "chuyen_vien_2", PermissionDenied, "only chuyen_vien_1 or a leader of unit 00070"),
        (SPECIALIST, "lanh_dao_1", InvalidAction, "lanh_dao_1 does not have role 'chuyen_vien'"),
        (SPECIALIST, "chuyen_vien_x", InvalidAction, "chuyen_vien_x does not work in unit 00070"),
        (SPECIALIST, "chuyen_vien_off", InvalidAction, "chuyen_vien_off is not an active user"),
        (SPECIALIST, "nobody", NotFound, "unknown user 'nobody'"),
        (SPECIALIST, "chuyen_vien_1", InvalidAction, "already assigned to chuyen_vien_1"),
    ],
)
def test_delegation_refusals_write_nothing(runtime, appraisal, actor, to, error, message):
    before = snapshot(runtime)
    with pytest.raises(error, match=message):
        actions.delegate_work_item(runtime, appraisal.id, actor, to)
    assert snapshot(runtime) == before


def test_an_unclaimed_or_already_delegated_step_cannot_be_delegated(runtime, appraisal):
    dossiers.unclaim_work_item(runtime, appraisal.id, SPECIALIST)
    with pytest.raises(InvalidAction, match="claim it before delegating"):
        actions.delegate_work_item(runtime, appraisal.id, SPECIALIST, "chuyen_vien_2")
    dossiers.claim_work_item(runtime, appraisal.id, SPECIALIST)
    actions.delegate_work_item(runtime, appraisal.id, SPECIALIST, "chuyen_vien_2")
    before = snapshot(runtime)
    with pytest.raises(InvalidAction, match="already delegated to chuyen_vien_2"):
        actions.delegate_work_item(runtime, appraisal.id, LEADER, "chuyen_vien_1")
    with pytest.raises(PermissionDenied, match="only the delegate chuyen_vien_2 may resolve"):
        actions.resolve_work_item(runtime, appraisal.id, SPECIALIST)
    assert snapshot(runtime) == before


def test_a_delegated_step_cannot_be_released_to_the_pool(runtime, appraisal):
    """Releasing would leave a delegation with nobody holding it; it must be resolved first."""
    actions.delegate_work_item(runtime, appraisal.id, SPECIALIST, "chuyen_vien_2")
    before = snapshot(runtime)
    for actor in (SPECIALIST_2, LEADER):
        with pytest.raises(InvalidAction, match="resolved back to chuyen_vien_1 first"):
            dossiers.unclaim_work_item(runtime, appraisal.id, actor)
    assert snapshot(runtime) == before


def _accepts(runtime, name: str, item_id: int, actor) -> bool:
    attempts = {
        "complete": lambda: dossiers.complete_work_item(runtime, item_id, actor, {"hop_le": True}),
        "claim": lambda: dossiers.claim_work_item(runtime, item_id, actor),
        "unclaim": lambda: dossiers.unclaim_work_item(runtime, item_id, actor),
        "delegate": lambda: actions.delegate_work_item(runtime, item_id, actor, "chuyen_vien_3"),
        "resolve": lambda: actions.resolve_work_item(runtime, item_id, actor),
        "reassign": lambda: actions.reassign_work_item(runtime, item_id, actor, "chuyen_vien_3", reason="thử"),
    }
    try:
        attempts[name]()
    except (InvalidAction, PermissionDenied):
        return False
    return True


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # a property of the rules, not of the store
@pytest.mark.parametrize("action", ["complete", "claim", "unclaim", "delegate", "resolve", "reassign"])
@pytest.mark.parametrize("holding", ["claimed", "pool", "delegated"])
@pytest.mark.parametrize("actor", [SPECIALIST, SPECIALIST_2, LEADER, OTHER_LEADER, RECEPTION], ids=lambda a: a.username)
def test_a_button_is_offered_exactly_when_the_engine_accepts_the_action(runtime, appraisal, holding, actor, action):
    """The desk shows the actions offered_actions() allows; each must succeed, and no other."""
    with runtime.db.session() as s:
        s.add(UserRecord(username="chuyen_vien_3", full_name="C3", unit_code="00070", roles="chuyen_vien"))
    if holding == "pool":
        dossiers.unclaim_work_item(runtime, appraisal.id, SPECIALIST)
    elif holding == "delegated":
        actions.delegate_work_item(runtime, appraisal.id, SPECIALIST, "chuyen_vien_2")
    offered = offered_actions(actor, StepHolding.of(item_row(runtime, appraisal.id)))
    assert _accepts(runtime, action, appraisal.id, actor) == offered[action]


def test_resolving_an_undelegated_step_is_refused(runtime, appraisal):
    with pytest.raises(InvalidAction, match="not delegated"):
        actions.resolve_work_item(runtime, appraisal.id, SPECIALIST)


def test_the_delegate_cannot_complete_a_pending_delegation(runtime, appraisal):
    actions.delegate_work_item(runtime, appraisal.id, SPECIALIST, "chuyen_vien_2")
    with pytest.raises(PermissionDenied, match="resolved"):
        dossiers.complete_work_item(runtime, appraisal.id, SPECIALIST_2, {"hop_le": True})


# -- reassign -------------------------------------------------------------------------------------


def test_a_leader_reassigns_to_a_person_ending_any_delegation(runtime, appraisal):
    actions.delegate_work_item(runtime, appraisal.id, SPECIALIST, "chuyen_vien_2")
    actions.reassign_work_item(runtime, appraisal.id, LEADER, "chuyen_vien_1", reason="cân đối công việc")
    row = item_row(runtime, appraisal.id)
    assert (row.assignee, row.owner, row.delegation_state, row.state) == ("chuyen_vien_1", None, None, "claimed")
    [event] = events(runtime, "reassign")
    assert (event.actor, event.giver, event.receiver, event.detail["reason"]) == (
        "lanh_dao_1",
        "chuyen_vien_2",
        "chuyen_vien_1",
        "cân đối công việc",
    )
    assert messages(runtime)[-1].recipient == "chuyen_vien_1"


def test_a_leader_sends_a_step_back_to_its_role_pool(runtime, appraisal):
    actions.reassign_work_item(runtime, appraisal.id, LEADER, to_role="chuyen_vien", reason="nghỉ ốm")
    row = item_row(runtime, appraisal.id)
    assert (row.assignee, row.state) == (None, "open")
    [event] = events(runtime, "reassign")
    assert (event.giver, event.receiver) == ("chuyen_vien_1", "chuyen_vien")
    assert sorted(m.recipient for m in messages(runtime)) == ["chuyen_vien_1", "chuyen_vien_2"]
    dossiers.claim_work_item(runtime, appraisal.id, SPECIALIST_2)  # anyone of the role may take it now


@pytest.mark.parametrize(
    "actor, kwargs, error, message",
    [
        (SPECIALIST, {"to_username": "chuyen_vien_2"}, PermissionDenied, "only a leader of unit 00070"),
        (OTHER_LEADER, {"to_username": "chuyen_vien_2"}, PermissionDenied, "only a leader of unit 00070"),
        (LEADER, {"to_username": "chuyen_vien_x"}, InvalidAction, "does not work in unit 00070"),
        (LEADER, {"to_username": "mot_cua_1"}, InvalidAction, "mot_cua_1 does not have role 'chuyen_vien'"),
        (LEADER, {"to_role": "lanh_dao"}, InvalidAction, "only to that pool"),
        (LEADER, {"to_username": "chuyen_vien_2", "to_role": "chuyen_vien"}, InvalidAction, "either a person"),
        (LEADER, {"to_username": "chuyen_vien_2", "reason": " "}, InvalidAction, "needs a reason"),
    ],
)
def test_reassignment_refusals_write_nothing(runtime, appraisal, actor, kwargs, error, message):
    before = snapshot(runtime)
    with pytest.raises(error, match=message):
        actions.reassign_work_item(runtime, appraisal.id, actor, **{"reason": "lý do", **kwargs})
    assert snapshot(runtime) == before


def test_other_commune_specialist_cannot_receive_or_act(runtime, appraisal):
    with pytest.raises(PermissionDenied):
        actions.delegate_work_item(runtime, appraisal.id, OTHER_COMMUNE, "chuyen_vien_2")


# -- return to the previous step ------------------------------------------------------------------


@pytest.fixture
def returns(runtime, five):
    return definitions.deploy(runtime, {"x.bpmn": RETURNS})


def at_approval(rt, definition):
    dossier = start(rt, definition)
    dossiers.complete_work_item(rt, open_item(rt, dossier.id).id, SPECIALIST, {"ket_qua": "xong"})
    return open_item(rt, dossier.id)


def test_return_sends_the_step_back_to_who_did_it(runtime, returns, clock):
    approval = at_approval(runtime, returns)
    assert approval.element_id == "duyet"
    clock.advance(hours=1)

    [reopened] = actions.return_to_previous(runtime, approval.id, LEADER, "thiếu chữ ký")

    done = item_row(runtime, approval.id)
    assert (done.state, done.completed_by) == ("completed", "lanh_dao_1")
    assert done.outcome == {"ket_qua": "tra_lai", "ly_do_tra_lai": "thiếu chữ ký"}
    row = item_row(runtime, reopened.id)
    assert (row.element_id, row.assignee, row.state, row.due_at is not None) == (
        "xu_ly",
        "chuyen_vien_1",
        "claimed",
        True,
    )
    [event] = events(runtime, "return")
    assert (event.actor, event.giver, event.receiver, event.work_item_id) == (
        "lanh_dao_1",
        "lanh_dao_1",
        "chuyen_vien_1",
        reopened.id,
    )
    assert event.detail == {"reason": "thiếu chữ ký", "returned_from": "duyet", "caused_by": "chuyen_vien_1"}
    [message] = messages(runtime)
    assert message.recipient == "chuyen_vien_1" and "thiếu chữ ký" in message.body

    # The specialist fixes it and the leader approves: the dossier ends.
    dossiers.complete_work_item(runtime, reopened.id, SPECIALIST, {"ket_qua": "xong"})
    again = open_item(runtime, approval.dossier_id)
    dossiers.complete_work_item(runtime, again.id, LEADER, {"ket_qua": "dong_y"})
    with runtime.db.session() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(WorkItemRecord).where(WorkItemRecord.state.in_(["open", "claimed"]))
            )
            == 0
        )


def test_a_step_without_a_return_path_is_refused_before_anything_changes(runtime, appraisal):
    before = snapshot(runtime)
    with pytest.raises(InvalidAction, match="this step has no return path in the template"):
        actions.return_to_previous(runtime, appraisal.id, SPECIALIST, "sai")
    assert snapshot(runtime) == before


@pytest.mark.parametrize(
    "actor, message",
    [
        (SPECIALIST, "needs role 'lanh_dao'"),
        (OTHER_LEADER, "does not work in unit 00070"),
    ],
)
def test_return_refusals_write_nothing(runtime, returns, actor, message):
    approval = at_approval(runtime, returns)
    before = snapshot(runtime)
    with pytest.raises(PermissionDenied, match=message):
        actions.return_to_previous(runtime, approval.id, actor, "sai")
    assert snapshot(runtime) == before


def test_a_step_released_to_the_pool_is_no_longer_held_on_anyones_behalf(runtime, appraisal):
    """A substitute who releases a step hands it to the role's pool, not back to the absent colleague."""
    with runtime.db.session() as s:
        s.get(WorkItemRecord, appraisal.id).on_behalf_of = "chuyen_vien_2"
    dossiers.unclaim_work_item(runtime, appraisal.id, SPECIALIST)
    row = item_row(runtime, appraisal.id)
    assert (row.assignee, row.state, row.on_behalf_of) == (None, "open", None)
