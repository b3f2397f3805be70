"""A dossier runs through its process, persisted between every step, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.domain.assignment import Actor
from engine.domain.errors import ConflictError
from engine.domain.errors import InvalidAction
from engine.domain.errors import PermissionDenied
from engine.domain.model import DossierStatus
from engine.domain.model import RunState
from engine.services import dossiers
from engine.services import timers
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.conftest import vn
from tests.factories import LEADER
from tests.factories import OTHER_COMMUNE
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import SPECIALIST_2
from tests.factories import add_units
from tests.factories import deploy_fixture


@pytest.fixture
def five(runtime):
    add_units(runtime)
    return deploy_fixture(runtime, "five_steps")


def open_items(rt, dossier_id):
    with rt.db.session() as s:
        return list(
            s.scalars(
                select(WorkItemRecord).where(
                    WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(["open", "claimed"])
                )
            )
        )


def reload(rt, dossier_id) -> DossierRecord:
    with rt.db.session() as s:
        return s.get(DossierRecord, dossier_id)


def start(rt, definition, **kw):
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION, **kw
    )


def test_start_issues_code_appointment_and_first_work_item(runtime, five, clock):
    dossier = start(runtime, five)

    assert dossier.code == "01.00070-260302-0001"
    # 3 working days from Monday 08:00 is Wednesday 17:00 (the end of the third working day).
    assert dossier.appointment_at == vn(2026, 3, 4, 17, 0)
    [item] = open_items(runtime, dossier.id)
    assert (item.element_id, item.role, item.unit_code, item.state) == ("tiep_nhan", "mot_cua", "00070", "open")
    assert item.due_at == vn(2026, 3, 2, 12, 0)  # a 4h budget from 08:00
    assert item.warn_at == vn(2026, 3, 2, 11, 0)  # 75% of the budget
    assert reload(runtime, dossier.id).status == DossierStatus.ACCEPTED


def test_daily_sequence_restarts_each_day(runtime, five, clock):
    first = start(runtime, five)
    second = start(runtime, five)
    clock.advance(days=1)
    third = start(runtime, five)
    assert [first.code[-11:], second.code[-11:], third.code[-11:]] == ["260302-0001", "260302-0002", "260303-0001"]


def test_full_path_to_processed_with_classifications(runtime, five, clock):
    dossier = start(runtime, five)
    steps = [(RECEPTION, {}), (SPECIALIST, {"hop_le": True}), (SPECIALIST, {}), (LEADER, {}), (RECEPTION, {})]
    for actor, data in steps:
        clock.advance(hours=1)
        [item] = open_items(runtime, dossier.id)
        dossiers.complete_work_item(runtime, item.id, actor, data)

    done = reload(runtime, dossier.id)
    assert (done.run_state, done.status) == (RunState.COMPLETED, DossierStatus.PROCESSED)
    assert done.classification == "early"
    with runtime.db.session() as s:
        items = list(
            s.scalars(select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier.id).order_by(WorkItemRecord.id))
        )
        handovers = list(
            s.scalars(
                select(AuditEventRecord)
                .where(AuditEventRecord.dossier_id == dossier.id, AuditEventRecord.action == "handover")
                .order_by(AuditEventRecord.id)
            )
        )
    assert [i.element_id for i in items] == ["tiep_nhan", "tham_dinh", "du_thao", "ky_duyet", "tra_ket_qua"]
    # Steps finished on their due day are on time; tham_dinh (due Tuesday) finished Monday is early.
    assert [i.classification for i in items] == ["on_time", "early", "on_time", "on_time", "on_time"]
    assert [(h.giver, h.receiver) for h in handovers] == [
        ("mot_cua_1", "mot_cua"),
        ("mot_cua_1", "chuyen_vien"),
        ("chuyen_vien_1", "chuyen_vien"),
        ("chuyen_vien_1", "lanh_dao"),
        ("lanh_dao_1", "mot_cua"),
    ]


def test_gateway_default_ends_in_refusal_status(runtime, five, clock):
    dossier = start(runtime, five)
    [item] = open_items(runtime, dossier.id)
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
    [item] = open_items(runtime, dossier.id)
    dossiers.complete_work_item(runtime, item.id, SPECIALIST, {"hop_le": False})
    done = reload(runtime, dossier.id)
    assert (done.run_state, done.status) == (RunState.COMPLETED, DossierStatus.NOT_ACCEPTED)
    assert done.classification is None  # a refusal is not an on-time statistic


def test_wrong_role_wrong_unit_and_second_completion_are_refused(runtime, five, clock):
    dossier = start(runtime, five)
    [item] = open_items(runtime, dossier.id)
    with pytest.raises(PermissionDenied, match="needs role 'mot_cua'"):
        dossiers.complete_work_item(runtime, item.id, SPECIALIST, {})
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
    with pytest.raises(ConflictError, match="already completed by mot_cua_1"):
        dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
    [item] = open_items(runtime, dossier.id)
    with pytest.raises(PermissionDenied, match="does not work in unit 00070"):
        dossiers.complete_work_item(runtime, item.id, OTHER_COMMUNE, {"hop_le": True})


def test_claimed_step_belongs_to_its_assignee(runtime, five, clock):
    dossier = start(runtime, five)
    [item] = open_items(runtime, dossier.id)
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
    [item] = open_items(runtime, dossier.id)
    dossiers.claim_work_item(runtime, item.id, SPECIALIST)
    with pytest.raises(InvalidAction, match="already claimed by chuyen_vien_1"):
        dossiers.claim_work_item(runtime, item.id, SPECIALIST_2)
    with pytest.raises(PermissionDenied, match="assigned to chuyen_vien_1"):
        dossiers.complete_work_item(runtime, item.id, SPECIALIST_2, {"hop_le": True})
    dossiers.unclaim_work_item(runtime, item.id, SPECIALIST)
    dossiers.complete_work_item(runtime, item.id, SPECIALIST_2, {"hop_le": True})
    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["du_thao"]


def test_stale_form_is_a_conflict_and_writes_nothing(runtime, five, clock):
    dossier = start(runtime, five)
    [item] = open_items(runtime, dossier.id)
    seen_version = item.version
    dossiers.claim_work_item(runtime, item.id, RECEPTION)
    before = reload(runtime, dossier.id)
    with pytest.raises(ConflictError, match="changed since you opened it"):
        dossiers.complete_work_item(runtime, item.id, RECEPTION, {}, expected_version=seen_version)
    after = reload(runtime, dossier.id)
    assert (after.version, after.state) == (before.version, before.state)
    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["tiep_nhan"]


def test_boundary_timer_fires_on_the_injected_clock(runtime, five, clock):
    dossier = start(runtime, five)
    [item] = open_items(runtime, dossier.id)
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
    # The reminder is due 6 working hours after 08:00 Monday = 15:00 Monday.
    assert reload(runtime, dossier.id).next_timer_at == vn(2026, 3, 2, 15, 0, 1)
    clock.set(vn(2026, 3, 2, 14, 59))
    assert timers.fire_due_timers(runtime) == 0
    clock.set(vn(2026, 3, 2, 15, 1))
    assert timers.fire_due_timers(runtime) == 1
    assert timers.fire_due_timers(runtime) == 0  # never twice
    d = reload(runtime, dossier.id)
    assert d.next_timer_at is None
    [item] = open_items(runtime, dossier.id)
    assert item.element_id == "tham_dinh"  # non-interrupting: the step is still open
    dossiers.complete_work_item(runtime, item.id, SPECIALIST, {"hop_le": True})
    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["du_thao"]


def test_suspended_dossier_does_not_move(runtime, five, clock):
    dossier = start(runtime, five)
    [item] = open_items(runtime, dossier.id)
    dossiers.suspend_dossier(runtime, dossier.id, LEADER, "chờ ý kiến cơ quan khác")
    with pytest.raises(InvalidAction, match="suspended"):
        dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
    dossiers.resume_dossier(runtime, dossier.id, LEADER)
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
    assert [i.element_id for i in open_items(runtime, dossier.id)] == ["tham_dinh"]


def test_a_dossier_keeps_how_it_was_received_and_an_unknown_channel_is_refused(runtime, five, clock):
    assert reload(runtime, start(runtime, five).id).channel == "counter"
    assert reload(runtime, start(runtime, five, channel="post").id).channel == "post"
    with pytest.raises(InvalidAction, match="unknown receipt channel 'fax'") as refused:
        start(runtime, five, channel="fax")
    assert refused.value.field == "channel"
    with runtime.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(DossierRecord)) == 2


def test_cancel_withdraws_open_items(runtime, five, clock):
    dossier = start(runtime, five)
    with pytest.raises(PermissionDenied, match="one-stop desk or a leader of unit 00070"):
        dossiers.cancel_dossier(runtime, dossier.id, SPECIALIST, "công dân rút hồ sơ", withdrawn=True)
    with pytest.raises(InvalidAction, match="needs a reason"):
        dossiers.cancel_dossier(runtime, dossier.id, RECEPTION, "  ", withdrawn=True)
    dossiers.cancel_dossier(runtime, dossier.id, RECEPTION, "công dân rút hồ sơ", withdrawn=True)
    d = reload(runtime, dossier.id)
    assert (d.run_state, d.status) == (RunState.CANCELLED, DossierStatus.STOPPED)
    assert open_items(runtime, dossier.id) == []
    with runtime.db.read_session() as s:
        event = s.scalar(
            select(AuditEventRecord).where(
                AuditEventRecord.dossier_id == dossier.id, AuditEventRecord.action == "withdraw"
            )
        )
    assert (event.actor, event.detail["reason"]) == ("mot_cua_1", "công dân rút hồ sơ")


def test_message_and_interrupting_timer_escalate_to_leader(runtime, clock):
    add_units(runtime)
    definition = deploy_fixture(runtime, "escalate_to_leader")
    dossier = start(runtime, definition)
    assert reload(runtime, dossier.id).status == DossierStatus.SUPPLEMENT_REQUESTED
    assert open_items(runtime, dossier.id) == []
    with pytest.raises(InvalidAction, match="nothing in this dossier waits for 'khong_co'"):
        dossiers.send_message(runtime, dossier.id, "khong_co", RECEPTION)
    dossiers.send_message(runtime, dossier.id, "bo_sung_xong", RECEPTION, {"giay_to": "đủ"})
    [item] = open_items(runtime, dossier.id)
    assert item.element_id == "xu_ly"
    clock.advance(timedelta(hours=4, minutes=1))
    assert timers.fire_due_timers(runtime) == 1
    [item] = open_items(runtime, dossier.id)
    assert (item.element_id, item.role) == ("lanh_dao_xu_ly", "lanh_dao")
    with runtime.db.session() as s:
        withdrawn = s.scalar(select(WorkItemRecord).where(WorkItemRecord.element_id == "xu_ly"))
    assert withdrawn.state == "cancelled"


def test_supplement_wait_stops_the_legal_clock_and_moves_the_appointment(runtime, clock):
    """The library's reception step: 'bo_sung' sends the dossier to wait for the citizen (status 5)."""
    from configurator import library

    add_units(runtime)
    [birth] = [p for p in library.procedures() if p.key == "dang_ky_khai_sinh"]
    definition = library.load_one(runtime, birth)
    dossier = start(runtime, definition)
    appointment = reload(runtime, dossier.id).appointment_at
    [item] = open_items(runtime, dossier.id)
    reception = type(RECEPTION)("mot_cua_1", frozenset({"mot_cua"}), "00070")
    dossiers.complete_work_item(runtime, item.id, reception, {"ket_qua": "bo_sung"})
    waiting = reload(runtime, dossier.id)
    [wait_item] = open_items(runtime, dossier.id)
    assert (waiting.status, wait_item.element_id, wait_item.due_at) == (5, "yeu_cau_bo_sung", None)

    clock.advance(days=2)  # Monday 08:00 -> Wednesday 08:00: two working days of waiting
    dossiers.complete_work_item(runtime, wait_item.id, reception, {"da_bo_sung_day_du": True})
    resumed = reload(runtime, dossier.id)
    assert resumed.status == 2
    assert runtime_calendar_between(runtime, appointment, resumed.appointment_at) == 2 * 480


def runtime_calendar_between(rt, a, b):
    with rt.db.session() as s:
        return rt.calendars.for_unit(s, "00070").between(a, b)


OTHER_COMMUNE_LEADER = Actor("lanh_dao_x", frozenset({"lanh_dao"}), "00073")


def test_the_appointment_moves_once_and_statistics_keep_both_dates(runtime, five, clock):
    dossier = start(runtime, five)
    original = reload(runtime, dossier.id).appointment_at
    for not_a_leader in (SPECIALIST, OTHER_COMMUNE_LEADER):
        with pytest.raises(PermissionDenied, match="only a leader of unit 00070"):
            dossiers.reappoint_dossier(runtime, dossier.id, not_a_leader, vn(2026, 3, 9, 17, 0), "Chờ xác minh")
    with pytest.raises(InvalidAction, match="later than the original"):
        dossiers.reappoint_dossier(runtime, dossier.id, LEADER, original - timedelta(hours=1), "Chờ xác minh")
    dossiers.reappoint_dossier(runtime, dossier.id, LEADER, vn(2026, 3, 9, 17, 0), "Chờ kết quả xác minh")
    with pytest.raises(InvalidAction, match="already been moved once"):
        dossiers.reappoint_dossier(runtime, dossier.id, LEADER, vn(2026, 3, 10, 17, 0), "Lần hai")
    d = reload(runtime, dossier.id)
    assert (d.original_appointment_at, d.appointment_at, d.re_appointment_reason) == (
        original,
        vn(2026, 3, 9, 17, 0),
        "Chờ kết quả xác minh",
    )


def written(rt, dossier_id):
    """What a refused action could have changed: the dossier's dates and state, its steps, its log."""
    with rt.db.session() as s:
        d = s.get(DossierRecord, dossier_id)
        dossier = (
            d.appointment_at,
            d.original_appointment_at,
            d.re_appointment_reason,
            d.apology_check_at,
            d.run_state,
            d.status,
            d.version,
        )
        items = [(i.id, i.state, i.assignee) for i in s.scalars(select(WorkItemRecord).order_by(WorkItemRecord.id))]
        events = len(s.scalars(select(AuditEventRecord.id)).all())
    return dossier, items, events


def test_a_new_appointment_not_ahead_or_not_after_the_original_is_refused_and_changes_nothing(runtime, five, clock):
    dossier = start(runtime, five)
    original = reload(runtime, dossier.id).appointment_at
    assert original == vn(2026, 3, 4, 17, 0)
    before = written(runtime, dossier.id)
    for new_appointment, why in (
        (vn(2026, 3, 4, 16, 0), "later than the original"),
        (original, "later than the original"),
        (vn(2026, 3, 2, 7, 0), "later than now"),
    ):
        with pytest.raises(InvalidAction, match=why) as refused:
            dossiers.reappoint_dossier(runtime, dossier.id, LEADER, new_appointment, "Chờ xác minh")
        assert refused.value.field == "new_appointment"
    clock.set(vn(2026, 3, 5, 10, 0))  # Thursday: the original appointment was missed yesterday
    for new_appointment in (vn(2026, 3, 5, 9, 0), vn(2026, 3, 5, 10, 0)):
        with pytest.raises(InvalidAction, match="later than now") as refused:
            dossiers.reappoint_dossier(runtime, dossier.id, LEADER, new_appointment, "Chờ xác minh")
        assert refused.value.field == "new_appointment"
    assert written(runtime, dossier.id) == before
    dossiers.reappoint_dossier(runtime, dossier.id, LEADER, vn(2026, 3, 6, 17, 0), "  Chờ xác minh  ")
    moved = reload(runtime, dossier.id)
    assert (moved.appointment_at, moved.re_appointment_reason) == (vn(2026, 3, 6, 17, 0), "Chờ xác minh")


BLANK_REASONS = {
    "apology letter": (
        lambda rt, d, item: dossiers.reappoint_dossier(rt, d.id, LEADER, vn(2026, 3, 9, 17, 0), " "),
        "reason",
    ),
    "stop": (lambda rt, d, item: dossiers.cancel_dossier(rt, d.id, RECEPTION, "\n "), "reason"),
    "applicant's withdrawal": (
        lambda rt, d, item: dossiers.cancel_dossier(rt, d.id, RECEPTION, "", withdrawn=True),
        "reason",
    ),
    "refusal at reception": (
        lambda rt, d, item: dossiers.complete_work_item(
            rt, item.id, RECEPTION, {"ket_qua": "tu_choi", "ly_do_tu_choi": "  "}
        ),
        "ly_do_tu_choi",
    ),
    "refusal after appraisal": (
        lambda rt, d, item: dossiers.complete_work_item(rt, item.id, RECEPTION, {"ket_qua": "khong_dat"}),
        "y_kien",
    ),
}


@pytest.mark.parametrize("action", BLANK_REASONS)
def test_what_the_citizen_is_told_in_writing_needs_a_reason_and_a_blank_one_writes_nothing(runtime, five, action):
    dossier = start(runtime, five)
    [item] = open_items(runtime, dossier.id)
    call, field = BLANK_REASONS[action]
    before = written(runtime, dossier.id)
    with pytest.raises(InvalidAction, match="needs a reason") as refused:
        call(runtime, dossier, item)
    assert refused.value.field == field
    assert written(runtime, dossier.id) == before


def test_a_refusal_with_its_reason_is_recorded(runtime, five):
    dossier = start(runtime, five)
    [item] = open_items(runtime, dossier.id)
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {"ket_qua": "khong_dat", "y_kien": "Không đủ điều kiện"})
    with runtime.db.session() as s:
        assert s.get(WorkItemRecord, item.id).outcome == {"ket_qua": "khong_dat", "y_kien": "Không đủ điều kiện"}


GROUPED = (
    (BPMN_DIR / "five_steps.bpmn")
    .read_text(encoding="utf-8")
    .replace(
        '<motcua:defaults warnAt="75%"/>',
        '<motcua:defaults warnAt="75%"/><motcua:budgetGroup id="xu_ly" budget="1d" name="Xử lý"/>',
    )
    .replace('<motcua:step role="chuyen_vien" budget="0.5d"/>', '<motcua:step role="chuyen_vien" budgetGroup="xu_ly"/>')
    .replace('<motcua:step role="lanh_dao" budget="4h"/>', '<motcua:step role="lanh_dao" budgetGroup="xu_ly"/>')
)


def test_steps_sharing_a_budget_share_one_due_time(runtime, clock):
    from engine.services import definitions

    add_units(runtime)
    definition = definitions.deploy(runtime, {"grouped.bpmn": GROUPED.encode()})
    dossier = start(runtime, definition)
    for actor, data in ((RECEPTION, {}), (SPECIALIST, {"hop_le": True})):
        [item] = open_items(runtime, dossier.id)
        dossiers.complete_work_item(runtime, item.id, actor, data)
    [drafting] = open_items(runtime, dossier.id)  # created Monday 08:00: the group's day ends 17:00
    clock.advance(hours=3)
    dossiers.complete_work_item(runtime, drafting.id, SPECIALIST, {})
    [signing] = open_items(runtime, dossier.id)
    assert drafting.due_at == signing.due_at == vn(2026, 3, 2, 17, 0)
