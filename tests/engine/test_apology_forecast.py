"""The apology request follows the forecast of the remaining work, not a fixed offset: a dossier
on track is never flagged; one whose remaining path no longer fits its appointment is, once per
appointment, as soon as that is known; a calendar change makes the sweep look again."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from engine.domain.assignment import Actor
from engine.domain.forecast import OpenStepOutlook
from engine.domain.forecast import forecast
from engine.services import administration
from engine.services import definitions
from engine.services import dossiers
from engine.services import sla
from engine.services import supervision
from engine.store import statistics
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.conftest import vn
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import add_units

FIVE_STEPS = (BPMN_DIR / "five_steps.bpmn").read_text(encoding="utf-8")
# One working day in all: 2h + 2h + 1h + 2h + 1h = 8h, the whole legal limit.
ONE_DAY = (
    FIVE_STEPS.replace('legalLimit="3d"', 'legalLimit="1d"')
    .replace('role="mot_cua" budget="4h" status="2"', 'role="mot_cua" budget="2h" status="2"')
    .replace('role="chuyen_vien" budget="1d"', 'role="chuyen_vien" budget="2h"')
    .replace('budget="0.5d"', 'budget="1h"')
    .replace('role="lanh_dao" budget="4h"', 'role="lanh_dao" budget="2h"')
    .replace('role="mot_cua" budget="4h"/>', 'role="mot_cua" budget="1h"/>')
)
# Five working days of legal limit for three days of budgets: two days to spare.
ROOMY = FIVE_STEPS.replace('legalLimit="3d"', 'legalLimit="5d"').replace('id="five_steps"', 'id="roomy"')
ADMIN = Actor("quan_tri", frozenset({"admin"}), None)
DATA = {"tham_dinh": {"hop_le": True}}


def _start(rt, text: str, name: str, unit: str = "00070"):
    definition = definitions.deploy(rt, {"p.bpmn": text.encode()})
    return dossiers.start_dossier(rt, definition_id=definition.id, unit_code=unit, applicant_name=name, actor=RECEPTION)


def _open_item(rt, dossier_id: int) -> WorkItemRecord:
    with rt.db.read_session() as s:
        return s.scalar(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
            )
        )


def _complete_current(rt, dossier_id: int):
    item = _open_item(rt, dossier_id)
    actor = {"mot_cua": RECEPTION, "chuyen_vien": SPECIALIST, "lanh_dao": LEADER}[item.role]
    if item.state == "open":
        dossiers.claim_work_item(rt, item.id, actor)
    dossiers.complete_work_item(rt, item.id, actor, DATA.get(item.element_id, {}))


def _requests(rt) -> list[AuditEventRecord]:
    with rt.db.read_session() as s:
        return list(s.scalars(select(AuditEventRecord).where(AuditEventRecord.action == "apology_requested")))


def _dossier(rt, dossier_id: int) -> DossierRecord:
    with rt.db.read_session() as s:
        return s.get(DossierRecord, dossier_id)


def test_a_one_day_dossier_received_monday_morning_on_track_is_never_flagged(runtime, clock):
    add_units(runtime)
    dossier = _start(runtime, ONE_DAY, "Đúng hạn")  # Monday 08:00: appointment Monday 17:00
    assert _dossier(runtime, dossier.id).appointment_at == vn(2026, 3, 2, 17, 0)
    assert sla.sweep(runtime)["apology"] == 0  # seconds after receipt: on track
    for at in ((9, 0), (11, 0), (13, 30), (15, 0), (16, 30)):
        clock.set(vn(2026, 3, 2, *at))
        _complete_current(runtime, dossier.id)
        assert sla.sweep(runtime)["apology"] == 0
    assert _dossier(runtime, dossier.id).run_state == "completed"
    assert _requests(runtime) == []


def test_the_same_dossier_with_its_first_step_two_hours_late_is_flagged_once_as_soon_as_it_cannot_fit(runtime, clock):
    add_units(runtime)
    dossier = _start(runtime, ONE_DAY, "Trễ bước đầu")
    # Reception is due 10:00; the 6 hours after it still fit until then, not a minute later.
    clock.set(vn(2026, 3, 2, 10, 0))
    assert sla.sweep(runtime)["apology"] == 0
    clock.set(vn(2026, 3, 2, 10, 1))
    assert sla.sweep(runtime)["apology"] == 1
    assert sla.sweep(runtime)["apology"] == 0
    clock.set(vn(2026, 3, 2, 12, 0))
    _complete_current(runtime, dossier.id)  # two hours late: the next steps no longer fit either
    assert sla.sweep(runtime)["apology"] == 0  # one request per appointment

    [event] = _requests(runtime)
    assert event.dossier_id == dossier.id and event.detail["step"] == "Tiếp nhận"
    with runtime.db.read_session() as s:
        [message] = s.scalars(select(OutboxRecord).where(OutboxRecord.dedupe_key.like("apology:%")))
    assert message.recipient == LEADER.username
    # Local time, the step it hangs on, what is left and what remains before the appointment.
    assert "hẹn trả 17:00 ngày 02/03/2026" in message.body
    assert "bước «Tiếp nhận» trễ 1 phút; còn lại 6 giờ làm việc, hẹn trả còn 5 giờ 59 phút" in message.body
    assert "cần ban hành ngay" in message.body  # one working day before the appointment has passed
    with runtime.db.read_session() as s:
        assert supervision.apology_needed(runtime, s, dossier.id, clock.now()).step == "Thẩm định"


def test_a_day_off_added_to_the_calendar_flags_only_the_dossiers_that_no_longer_fit(runtime, clock):
    add_units(runtime)
    tight = _start(runtime, FIVE_STEPS, "Vừa khít")  # 3 days of budgets for a 3-day limit
    roomy = _start(runtime, ROOMY, "Dư thời gian")  # two days to spare
    clock.set(vn(2026, 3, 2, 9, 0))
    for dossier in (tight, roomy):
        _complete_current(runtime, dossier.id)
    assert sla.sweep(runtime)["apology"] == 0

    administration.add_calendar_days(
        runtime,
        ADMIN,
        calendar_code="01",
        date_from=date(2026, 3, 3),
        date_to=date(2026, 3, 3),
        kind="off",
        note="Nghỉ bù theo quyết định",
    )
    assert sla.sweep(runtime)["apology"] == 1
    assert [e.dossier_id for e in _requests(runtime)] == [tight.id]
    assert sla.sweep(runtime)["apology"] == 0  # no flood: nothing asked twice


def test_after_the_apology_letter_the_dossier_is_not_flagged_again(runtime, clock):
    add_units(runtime)
    dossier = _start(runtime, ONE_DAY, "Đã hẹn lại")
    clock.set(vn(2026, 3, 2, 11, 0))
    assert sla.sweep(runtime)["apology"] == 1
    dossiers.reappoint_dossier(runtime, dossier.id, LEADER, vn(2026, 3, 3, 17, 0), "Chờ xác minh")
    with runtime.db.read_session() as s:
        assert supervision.apology_needed(runtime, s, dossier.id, clock.now()) is None
    clock.set(vn(2026, 3, 3, 16, 0))  # late again for the new appointment: it can move only once
    _complete_current(runtime, dossier.id)
    assert sla.sweep(runtime)["apology"] == 0
    assert len(_requests(runtime)) == 1


def test_the_at_risk_list_shows_the_same_forecast_and_its_reason(runtime, clock):
    add_units(runtime)
    late = _start(runtime, ONE_DAY, "Trễ")
    on_track = _start(runtime, ROOMY, "Đúng hạn")
    clock.set(vn(2026, 3, 2, 11, 0))
    scope = statistics.Scope(frozenset({"00070"}), vn(2026, 3, 1, 0, 0), vn(2026, 3, 31, 0, 0))
    [risk] = supervision.at_risk(runtime, scope, clock.now())
    assert risk.dossier.id == late.id and on_track.id != risk.dossier.id
    assert risk.reasons == (supervision.APOLOGY_DUE,)
    assert (risk.forecast.step, risk.forecast.step_late_minutes, risk.remaining_minutes) == ("Tiếp nhận", 60, 360)
    assert risk.projected_finish == vn(2026, 3, 3, 9, 0) and risk.shortfall_minutes == 60


def _no_projection(monkeypatch):
    """Fail the test if the at-risk list projects a forecast itself instead of reading the sweep's."""

    def projected(*args):
        raise AssertionError("the at-risk list projected a forecast the sweep had stored")

    monkeypatch.setattr(supervision.Forecaster, "of", projected)


def test_the_at_risk_list_reads_the_sweeps_forecast_and_says_when_it_was_made(runtime, clock, monkeypatch):
    add_units(runtime)
    late = _start(runtime, ONE_DAY, "Trễ")
    scope = statistics.Scope(frozenset({"00070"}), vn(2026, 3, 1, 0, 0), vn(2026, 3, 31, 0, 0))
    clock.set(vn(2026, 3, 2, 11, 0))
    [projected] = supervision.at_risk(runtime, scope, clock.now())  # not forecast yet: projected here
    assert projected.forecast_at == clock.now()
    assert sla.sweep(runtime)["apology"] == 1
    clock.set(vn(2026, 3, 2, 14, 0))
    with monkeypatch.context() as patched:
        _no_projection(patched)
        [stored] = supervision.at_risk(runtime, scope, clock.now())
    # The sweep's figures as of 11:00, when it made them; the letter's deadline read against now.
    assert stored.dossier.id == late.id and stored.reasons == (supervision.APOLOGY_DUE,)
    assert stored.forecast_at == vn(2026, 3, 2, 11, 0)
    assert stored.forecast == projected.forecast
    assert (stored.remaining_minutes, stored.shortfall_minutes) == (360, 60)


def test_a_dossier_changed_since_the_sweeps_forecast_is_projected_again(runtime, clock, monkeypatch):
    """Its stored forecast is for what it was: until the sweep looks again the list projects it, and
    a re-appointed dossier is forecast against its new appointment."""
    add_units(runtime)
    dossier = _start(runtime, ONE_DAY, "Đã hẹn lại")
    scope = statistics.Scope(frozenset({"00070"}), vn(2026, 3, 1, 0, 0), vn(2026, 3, 31, 0, 0))
    clock.set(vn(2026, 3, 2, 11, 0))
    assert sla.sweep(runtime)["apology"] == 1
    dossiers.reappoint_dossier(runtime, dossier.id, LEADER, vn(2026, 3, 3, 17, 0), "Chờ xác minh")
    assert supervision.at_risk(runtime, scope, clock.now()) == []  # fits the new appointment
    sla.sweep(runtime)
    assert supervision.at_risk(runtime, scope, clock.now()) == []
    clock.set(vn(2026, 3, 3, 16, 0))  # the step after reception is 4 hours late for the new one
    _complete_current(runtime, dossier.id)
    [changed] = supervision.at_risk(runtime, scope, clock.now())
    assert changed.reasons == (supervision.CANNOT_FIT,) and changed.forecast_at == clock.now()
    assert sla.sweep(runtime)["apology"] == 0  # the appointment moves only once
    clock.set(vn(2026, 3, 3, 16, 30))
    with monkeypatch.context() as patched:
        _no_projection(patched)
        [stored] = supervision.at_risk(runtime, scope, clock.now())
    assert stored.reasons == (supervision.CANNOT_FIT,) and stored.forecast_at == vn(2026, 3, 3, 16, 0)


def test_an_appointment_at_the_start_of_tomorrow_has_no_working_time_left_but_has_not_passed(runtime):
    """The evening before an 08:00 appointment the leader reads 'no working time left', not 'passed'."""
    add_units(runtime)
    late_step = OpenStepOutlook("tham_dinh", "Thẩm định", vn(2026, 3, 2, 15, 0), 120, 60)
    with runtime.db.read_session() as s:
        calendar = runtime.calendars.for_unit(s, "00070")
    evening = forecast(calendar, vn(2026, 3, 2, 17, 30), vn(2026, 3, 3, 8, 0), [late_step])
    after = forecast(calendar, vn(2026, 3, 3, 8, 30), vn(2026, 3, 3, 8, 0), [late_step])
    assert evening.misses and evening.minutes_left == 0 and not evening.appointment_passed
    assert "không còn giờ làm việc nào trước hạn trả" in sla.forecast_reason_vi(evening)
    assert after.appointment_passed and "đã quá hạn trả" in sla.forecast_reason_vi(after)
