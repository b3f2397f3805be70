"""The supervisor's statistics: counts, on-time rate, per commune / procedure / officer, drill-down
lists, the escalation log and the at-risk projection, on dossiers run by the engine (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.domain.assignment import Actor
from engine.services import dossiers
from engine.services import sla
from engine.services import supervision
from engine.store import statistics
from engine.store.records import UnitRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from tests.conftest import vn
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import add_units
from tests.factories import deploy_fixture

# One officer holding every role of the five-step process in Phường Cửa Nam.
CUA_NAM = Actor("can_bo_x", frozenset({"mot_cua", "chuyen_vien", "lanh_dao"}), "00073")
# A commune of another province (Hồ Chí Minh City), with its own officer.
SAI_GON = Actor("can_bo_79", frozenset({"mot_cua", "chuyen_vien", "lanh_dao"}), "26734")
HOAN_KIEM_BY_ROLE = {"mot_cua": RECEPTION, "chuyen_vien": SPECIALIST, "lanh_dao": LEADER}
MARCH = (vn(2026, 3, 1), vn(2026, 4, 1))


def add_more_units(rt) -> None:
    """The factory's units and officers (unless a fixture added them), Cửa Nam's officer, Sài Gòn."""
    with rt.db.read_session() as s:
        present = s.get(UnitRecord, "00070") is not None
    if not present:
        add_units(rt)
    with rt.db.session() as s:
        s.add(UnitRecord(code="79", name="Thành phố Hồ Chí Minh", kind="province", parent_code=None, agency_code="79"))
        s.flush()
        s.add(UnitRecord(code="26734", name="Phường Sài Gòn", kind="commune", parent_code="79", agency_code="79.26734"))
        s.add(
            UserRecord(
                username=CUA_NAM.username, full_name="Lê Văn X", unit_code="00073", roles="chuyen_vien lanh_dao mot_cua"
            )
        )
        s.add(
            UserRecord(
                username=SAI_GON.username,
                full_name="Phạm Thị Y",
                unit_code="26734",
                roles="chuyen_vien lanh_dao mot_cua",
            )
        )


def start(rt, definition, unit="00070", name="Nguyễn Văn A", channel="counter"):
    actor = {"00070": RECEPTION, "00073": CUA_NAM, "26734": SAI_GON}[unit]
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code=unit, applicant_name=name, actor=actor, channel=channel
    )


def open_steps(rt, dossier_id) -> list[WorkItemRecord]:
    with rt.db.session() as s:
        return list(
            s.scalars(
                select(WorkItemRecord).where(
                    WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(["open", "claimed"])
                )
            )
        )


def work(rt, dossier, steps: int = 99, valid: bool = True) -> None:
    """Complete up to `steps` steps of a dossier, each by an officer of its commune holding the role."""
    for _ in range(steps):
        items = open_steps(rt, dossier.id)
        if not items:
            return
        item = items[0]
        actor = (
            HOAN_KIEM_BY_ROLE[item.role]
            if dossier.unit_code == "00070"
            else (CUA_NAM if dossier.unit_code == "00073" else SAI_GON)
        )
        dossiers.complete_work_item(rt, item.id, actor, {"hop_le": valid})


@dataclass
class Month:
    """The dossiers of test_month, by what happened to them."""

    early: object
    on_time: object
    late: object
    not_due: object
    overdue: object
    rejected: object
    elsewhere: object


def build_month(rt, clock) -> Month:
    """March 2026, five-step process (3 working days; received Monday 08:00, due Wednesday 17:00).

    Monday 08:00: six dossiers received (four in Hoàn Kiếm, one in Cửa Nam, one in Sài Gòn);
    09:00 one is finished (early) and one rejected at the check. Wednesday 10:00 one is finished
    on its due day (on time) and a new one received. Thursday 09:00 the Cửa Nam dossier is
    finished (late); one Hoàn Kiếm dossier is still untouched (overdue)."""
    add_more_units(rt)
    five = deploy_fixture(rt, "five_steps")
    clock.set(vn(2026, 3, 2, 8, 0))
    early, on_time, overdue, rejected = (start(rt, five, name=n) for n in ("An", "Bình", "Dũng", "Giang"))
    late = start(rt, five, unit="00073", name="Cường")
    elsewhere = start(rt, five, unit="26734", name="Hà")
    clock.set(vn(2026, 3, 2, 9, 0))
    work(rt, early)
    work(rt, rejected, valid=False)
    work(rt, elsewhere)
    clock.set(vn(2026, 3, 4, 10, 0))
    work(rt, on_time)
    not_due = start(rt, five, name="Em")
    clock.set(vn(2026, 3, 5, 9, 0))
    work(rt, late)
    return Month(early, on_time, late, not_due, overdue, rejected, elsewhere)


def hanoi(procedure: str | None = None) -> statistics.Scope:
    return statistics.Scope(frozenset({"00070", "00073"}), *MARCH, procedure=procedure)


def test_counts_rate_and_tables(runtime, clock):
    build_month(runtime, clock)
    now = clock.now()
    with runtime.db.read_session() as s:
        total = statistics.summary(s, hanoi(), now)
        communes = {row.key: row.figures for row in statistics.by_commune(s, hanoi(), now)}
        procedures = statistics.by_procedure(s, hanoi(), now)
        officers = {
            (o.username, o.full_name): (o.steps_done, o.step_early, o.step_on_time, o.step_late)
            for o in statistics.by_officer(s, hanoi())
        }

    assert total == statistics.Figures(
        received=6, received_counter=6, not_due=1, overdue=1, early=1, on_time=1, late=1, withdrawn_stopped=1
    )
    assert (total.in_progress, total.done, total.on_time_rate) == (2, 3, pytest.approx(2 / 3))
    assert communes == {
        "00070": statistics.Figures(
            received=5, received_counter=5, not_due=1, overdue=1, early=1, on_time=1, withdrawn_stopped=1
        ),
        "00073": statistics.Figures(received=1, received_counter=1, late=1),
    }
    assert [(row.key, row.label, row.figures) for row in procedures] == [("five_steps", "Five steps", total)]
    # Steps carry the classification stored when each was completed: Hoàn Kiếm's reception took
    # the on-time dossier's first step on Wednesday (late, due Monday 12:00), every other first
    # step the same day; the checks done two days ahead of their 1-day budget are early.
    assert officers == {
        ("mot_cua_1", "mot_cua_1"): (5, 0, 4, 1),
        ("chuyen_vien_1", "chuyen_vien_1"): (5, 3, 2, 0),
        ("lanh_dao_1", "lanh_dao_1"): (2, 0, 2, 0),
        ("can_bo_x", "Lê Văn X"): (5, 1, 3, 1),
    }


def test_a_range_counts_what_happened_within_it(runtime, clock):
    """Up to Tuesday night: six received, the early one and the rejection finished, the rest in
    progress and not yet due (nothing was due before Wednesday 17:00)."""
    build_month(runtime, clock)
    scope = statistics.Scope(frozenset({"00070", "00073"}), vn(2026, 3, 2), vn(2026, 3, 4))
    with runtime.db.read_session() as s:
        figures = statistics.summary(s, scope, clock.now())
    assert figures == statistics.Figures(received=5, received_counter=5, not_due=3, early=1, withdrawn_stopped=1)


def test_scope_filters_commune_and_procedure(runtime, clock):
    build_month(runtime, clock)
    now = clock.now()
    with runtime.db.read_session() as s:
        assert statistics.summary(s, hanoi().narrowed(unit="00073"), now) == statistics.Figures(
            received=1, received_counter=1, late=1
        )
        assert statistics.summary(s, hanoi(procedure="khong_co"), now) == statistics.Figures()
        saigon = statistics.Scope(frozenset({"26734"}), *MARCH)
        assert statistics.summary(s, saigon, now) == statistics.Figures(received=1, received_counter=1, early=1)
        assert [o.username for o in statistics.by_officer(s, saigon)] == ["can_bo_79"]
        # Narrowing to a commune outside the scope leaves nothing, never the other commune.
        assert statistics.summary(s, hanoi().narrowed(unit="26734"), now) == statistics.Figures()


def test_drill_down_lists_the_dossiers_behind_each_number(runtime, clock):
    month = build_month(runtime, clock)
    now = clock.now()
    with runtime.db.read_session() as s:
        total = statistics.summary(s, hanoi(), now)
        for bucket in statistics.BUCKETS:
            lines = statistics.dossiers(s, hanoi(), bucket, now)
            assert len(lines) == total.value(bucket), bucket
        codes = {
            b: [line.code for line in statistics.dossiers(s, hanoi(), b, now)]
            for b in ("late", "overdue", "early", "not_due")
        }
        [late] = statistics.dossiers(s, hanoi(), "late", now)
    assert codes == {
        "late": [month.late.code],
        "overdue": [month.overdue.code],
        "early": [month.early.code],
        "not_due": [month.not_due.code],
    }
    assert (late.procedure, late.unit, late.classification, late.appointment_at) == (
        "Five steps",
        "Phường Cửa Nam",
        "late",
        vn(2026, 3, 4, 17, 0),
    )
    assert late.margin_minutes < 0
    with pytest.raises(ValueError):
        statistics.bucket_condition("all", hanoi(), now)


def test_escalation_log_lists_the_sla_levels_fired(runtime, clock):
    month = build_month(runtime, clock)
    sla.sweep(runtime)
    with runtime.db.read_session() as s:
        log = statistics.escalations(s, hanoi())
        outside = statistics.escalations(s, statistics.Scope(frozenset({"26734"}), *MARCH))
    # Thursday 09:00: both untouched reception steps (the dossier received Monday, due Monday
    # 12:00; the one received Wednesday 10:00, due 15:00) were warned and breached, and both
    # dossiers, whose remaining steps no longer fit before their appointments, had their apology asked.
    assert {(line.dossier_code, line.step, line.action, line.level) for line in log} == {
        (month.overdue.code, "Tiếp nhận", "sla_warning", 1),
        (month.overdue.code, "Tiếp nhận", "sla_breach", 2),
        (month.not_due.code, "Tiếp nhận", "sla_warning", 1),
        (month.not_due.code, "Tiếp nhận", "sla_breach", 2),
        (month.overdue.code, None, "apology_requested", None),
        (month.not_due.code, None, "apology_requested", None),
    }
    assert all(line.at == clock.now() and line.unit == "Phường Hoàn Kiếm" for line in log)
    assert outside == []


def test_at_risk_projects_the_remaining_budgets(runtime, clock):
    """Thursday 09:00: the dossier received Wednesday 10:00 (appointment Monday 10:00) has not been
    taken in: its 2.5 days of later steps end Monday 14:00, after the appointment. One received
    Monday 14:00 is one working day from its appointment, but its last step fits: it is on track
    and not listed (a fixed "one day before" threshold used to list it); one received now fits
    exactly and is not at risk either."""
    add_more_units(runtime)
    five = deploy_fixture(runtime, "five_steps")
    clock.set(vn(2026, 3, 2, 14, 0))
    near = start(runtime, five, name="Gần hạn")
    clock.set(vn(2026, 3, 4, 10, 0))
    behind = start(runtime, five, name="Chậm")
    clock.set(vn(2026, 3, 5, 8, 30))
    work(runtime, near, steps=4)
    clock.set(vn(2026, 3, 5, 9, 0))
    fresh = start(runtime, five, name="Mới")
    now = clock.now()

    risks = supervision.at_risk(runtime, hanoi(), now)

    assert [(r.dossier.code, r.reasons) for r in risks] == [
        (behind.code, (supervision.APOLOGY_DUE,)),
    ]
    [behind_risk] = risks
    assert behind_risk.remaining_minutes == 1200 and behind_risk.projected_finish == vn(2026, 3, 9, 14, 0)
    assert behind_risk.shortfall_minutes == 180
    assert {near.code, fresh.code}.isdisjoint(r.dossier.code for r in risks)
    assert supervision.at_risk(runtime, statistics.Scope(frozenset({"26734"}), *MARCH), now) == []


# -- one definition per figure: the edges ---------------------------------------------------------------


@dataclass
class Edges:
    """Dossiers around the first week of March 2026 (see build_edges)."""

    finished_in_february: object
    carried_then_late: object
    carried_untouched: object
    paused_since_february: object
    paused_until_march_10: object
    due_after_the_week: object
    withdrawn: object
    online: object
    by_post: object


def build_edges(rt, clock) -> Edges:
    """Five-step dossiers (3 working days) and supplement-first ones (the escalation fixture with a
    1-day limit: status 5 from reception until the citizen's supplement arrives), Hoàn Kiếm:

    Thu 26 Feb 08:00: three received (one finished Friday, one finished late Tue 3 Mar, one never
    touched); Fri 27 Feb: one waiting for a supplement that never comes. Mon 2 Mar: one waiting
    for a supplement until Tue 10 Mar; Tue 3 Mar: one received online, one by post; one received
    and withdrawn Wed 4 Mar; Wed 4 Mar 08:00: one due Fri 6 Mar 17:00, still open. Now: Wed 11 Mar 09:00."""
    add_more_units(rt)
    five = deploy_fixture(rt, "five_steps")
    supplement_first = deploy_fixture(rt, "escalate_to_leader", legal_limit="1d")
    clock.set(vn(2026, 2, 26, 8, 0))
    finished_in_february, carried_then_late, carried_untouched = (start(rt, five, name=n) for n in ("A", "B", "C"))
    clock.set(vn(2026, 2, 27, 8, 0))
    work(rt, finished_in_february)
    paused_since_february = start(rt, supplement_first, name="D")
    clock.set(vn(2026, 3, 2, 8, 0))
    paused_until_march_10 = start(rt, supplement_first, name="E")
    clock.set(vn(2026, 3, 3, 9, 0))
    work(rt, carried_then_late)
    online = start(rt, five, name="F", channel="online")
    by_post = start(rt, five, name="G", channel="post")
    withdrawn = start(rt, five, name="H")
    clock.set(vn(2026, 3, 4, 8, 0))
    dossiers.cancel_dossier(rt, withdrawn.id, RECEPTION, "công dân rút hồ sơ", withdrawn=True)
    due_after_the_week = start(rt, five, name="I")
    clock.set(vn(2026, 3, 10, 10, 0))
    dossiers.send_message(rt, paused_until_march_10.id, "bo_sung_xong", RECEPTION, {"giay_to": "đủ"})
    clock.set(vn(2026, 3, 11, 9, 0))
    return Edges(
        finished_in_february,
        carried_then_late,
        carried_untouched,
        paused_since_february,
        paused_until_march_10,
        due_after_the_week,
        withdrawn,
        online,
        by_post,
    )


def codes_by_figure(rt, scope, now) -> dict[str, set[str]]:
    with rt.db.read_session() as s:
        return {
            bucket: {line.code for line in statistics.dossiers(s, scope, bucket, now)} for bucket in statistics.BUCKETS
        }


def hoan_kiem(start, end, procedure=None) -> statistics.Scope:
    return statistics.Scope(frozenset({"00070"}), start, end, procedure)


def test_march_counts_carried_over_paused_and_withdrawn_apart(runtime, clock):
    edges = build_edges(runtime, clock)
    codes = codes_by_figure(runtime, hoan_kiem(*MARCH), clock.now())
    code = lambda *ds: {d.code for d in ds}  # noqa: E731

    # Received before March and open on 1 March; the dossier finished in February is in no figure.
    assert codes["carried_over"] == code(edges.carried_then_late, edges.carried_untouched, edges.paused_since_february)
    assert codes["received"] == code(
        edges.paused_until_march_10, edges.online, edges.by_post, edges.withdrawn, edges.due_after_the_week
    )
    assert (codes["received_online"], codes["received_post"]) == (code(edges.online), code(edges.by_post))
    # Received before the period and finished inside it: done (late), in March's figures.
    assert codes["late"] == codes["done"] == code(edges.carried_then_late)
    assert codes["withdrawn_stopped"] == code(edges.withdrawn)
    # Waiting for a supplement since 27 Feb, its appointment long past: paused, not overdue.
    assert codes["paused"] == code(edges.paused_since_february)
    assert codes["overdue"] == code(edges.carried_untouched, edges.online, edges.by_post, edges.due_after_the_week)
    # The supplement came on 10 March: the appointment moved by the wait (to 11 March 10:00), still ahead.
    assert codes["not_due"] == code(edges.paused_until_march_10)
    assert codes["in_progress"] == codes["not_due"] | codes["overdue"]
    assert all(edges.finished_in_february.code not in listed for listed in codes.values())


def test_a_period_ending_in_the_past_is_read_at_its_end_not_now(runtime, clock):
    """1 to 5 March, read on 11 March: the dossiers due on Friday 6 March were not yet due at the end
    of Thursday 5 (they are overdue now); the one whose supplement came on 10 March was still paused."""
    edges = build_edges(runtime, clock)
    first_week = hoan_kiem(vn(2026, 3, 1), vn(2026, 3, 6))
    codes = codes_by_figure(runtime, first_week, clock.now())
    with runtime.db.read_session() as s:
        figures = statistics.summary(s, first_week, clock.now())

    assert codes["not_due"] == {edges.due_after_the_week.code, edges.online.code, edges.by_post.code}
    assert codes["paused"] == {edges.paused_since_february.code, edges.paused_until_march_10.code}
    assert codes["overdue"] == {edges.carried_untouched.code}
    assert figures == statistics.Figures(
        carried_over=3,
        received=5,
        received_counter=3,
        received_online=1,
        received_post=1,
        not_due=3,
        overdue=1,
        paused=2,
        late=1,
        withdrawn_stopped=1,
    )
    assert figures.on_time_rate == 0.0


SCOPES = {
    "february": (frozenset({"00070"}), vn(2026, 2, 1), vn(2026, 3, 1), None),
    "march": (frozenset({"00070"}), *MARCH, None),
    "first week": (frozenset({"00070"}), vn(2026, 3, 1), vn(2026, 3, 6), None),
    "a day, now inside it": (frozenset({"00070"}), vn(2026, 3, 11), vn(2026, 3, 12), None),
    "2026": (frozenset({"00070", "00073"}), vn(2026, 1, 1), vn(2027, 1, 1), None),
    "march, five steps": (frozenset({"00070"}), *MARCH, "five_steps"),
    "march, supplement first": (frozenset({"00070"}), *MARCH, "escalate_to_leader"),
    "march, Cửa Nam": (frozenset({"00073"}), *MARCH, None),
}


def test_the_figures_add_up_and_each_list_holds_exactly_its_dossiers(runtime, clock):
    """carried over + received = done + withdrawn / stopped + in progress + paused, for every scope and
    period; each dossier is on each side once, and every figure's list is the dossiers it counts."""
    build_edges(runtime, clock)
    now = clock.now()
    for name, args in SCOPES.items():
        scope = statistics.Scope(*args)
        codes = codes_by_figure(runtime, scope, now)
        with runtime.db.read_session() as s:
            figures = statistics.summary(s, scope, now)
        assert figures.balances, name
        for bucket, listed in codes.items():
            assert len(listed) == figures.value(bucket), (name, bucket)
        opening = codes["carried_over"] | codes["received"]
        closing = [codes[b] for b in ("done", "withdrawn_stopped", "in_progress", "paused")]
        assert not codes["carried_over"] & codes["received"], name
        assert set().union(*closing) == opening and sum(map(len, closing)) == len(opening), name
        assert codes["received"] == codes["received_counter"] | codes["received_online"] | codes["received_post"]
        assert codes["done"] == codes["early"] | codes["on_time"] | codes["late"]


def test_every_figure_has_one_definition_and_one_condition(runtime, clock):
    from dataclasses import fields

    from engine.domain import figures

    assert tuple(f.name for f in fields(statistics.Figures)) == figures.COUNTED
    for key in figures.LISTABLE:
        statistics.bucket_condition(key, hanoi(), clock.now())  # raises for a figure without SQL
    assert all(f.name and f.meaning.endswith(".") for f in figures.FIGURES + figures.STEP_FIGURES)


def test_the_dashboard_benchmark_runs_and_prints_a_json_summary_last():
    """benchmarks/dashboard.py --sqlite at a tiny size: its SQL and naive Python counts agree (it asserts
    that itself) and it ends with one JSON object, as the other benchmarks do."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "dashboard.py"
    done = subprocess.run(
        [sys.executable, str(script), "--sqlite"],
        env={**os.environ, "BENCH_DOSSIERS": "1500"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dossiers"] == 1500 and result["month"]["received"] > 0
    assert {"dashboard_ms", "naive_python_ms", "ratio_vs_naive", "at_risk_ms"} <= result.keys()
