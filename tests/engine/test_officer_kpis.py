"""The officers' KPIs (engine.domain.kpi, engine.store.officer_rollups): the figures an officer's
day gives, the rollups kept by the changes equal a recount from the steps and the audit log after
any sequence of receipts, steps, returns, reassignments, supplements and apology letters (SQLite and
PostgreSQL), and the working-time quantiles read from the histogram."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from engine.domain import kpi
from engine.services import actions
from engine.services import definitions
from engine.services import dossiers
from engine.services import supervision
from engine.store import officer_rollups
from engine.store import rollups
from engine.store import statistics
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.conftest import vn
from tests.engine.test_actions import RETURNS
from tests.engine.test_rollups import FIRST_DAY
from tests.engine.test_rollups import UNITS
from tests.engine.test_rollups import Office
from tests.engine.test_rollups import scopes
from tests.engine.test_statistics import open_steps
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST

MARCH = (vn(2026, 3, 1), vn(2026, 4, 1))


def kept_equals_recount(rt) -> None:
    with rt.db.engine.connect() as conn:
        kept, recounted = officer_rollups.kept_rows(conn), officer_rollups.recount(conn)
    recounted = {key: counts for key, counts in recounted.items() if any(counts)}
    assert kept == recounted


class KpiOffice(Office):
    """Office's random day, plus returns sent back to the specialist and steps a leader reassigns."""

    def __init__(self, rt, clock, rng):
        super().__init__(rt, clock, rng)
        self.returns = definitions.deploy(rt, {"x.bpmn": RETURNS}, legal_limit="3d")

    def act(self) -> None:
        self.rng.choice([super().act] * 6 + [self.return_once, self.reassign])()

    def return_once(self) -> None:
        dossier = dossiers.start_dossier(
            self.rt, definition_id=self.returns.id, unit_code="00070", applicant_name="Trả Lại", actor=RECEPTION
        )
        [step] = open_steps(self.rt, dossier.id)
        # Now and then the specialist's step records a supplement asked (the library's decision).
        decision = "bo_sung" if self.rng.random() < 0.3 else "xong"
        dossiers.complete_work_item(self.rt, step.id, SPECIALIST, {"ket_qua": decision})
        self.clock.set(self.clock.now() + timedelta(minutes=50))
        [approval] = open_steps(self.rt, dossier.id)
        actions.return_to_previous(self.rt, approval.id, LEADER, "thiếu chữ ký")

    def reassign(self) -> None:
        items = [
            i for d in self.open if d.unit_code == "00070" for i in open_steps(self.rt, d.id) if i.role == "chuyen_vien"
        ]
        if items:
            item = self.rng.choice(items)
            if item.assignee is None:
                actions.reassign_work_item(self.rt, item.id, LEADER, "chuyen_vien_1", reason="cân đối công việc")
            else:
                actions.reassign_work_item(self.rt, item.id, LEADER, to_role="chuyen_vien", reason="cân đối")


def test_the_kpi_rollups_equal_a_recount_after_any_sequence_of_changes(runtime, clock):
    rng = random.Random(20)
    clock.set(FIRST_DAY + timedelta(hours=7))
    office = KpiOffice(runtime, clock, rng)
    for round_ in range(140):
        clock.set(clock.now() + timedelta(minutes=rng.choice((23, 95, 180, 420, 1000))))
        office.act()
        if round_ % 35 == 34:
            kept_equals_recount(runtime)
    with runtime.db.engine.connect() as conn:
        kept = officer_rollups.kept_rows(conn)
    figures = {
        name: sum(counts[kpi.COLUMNS.index(name)] for counts in kept.values())
        for name in ("returns_caused", "reassigned", "apologies", "supplements", "dossiers", "step_late")
    }
    assert all(figures.values()), figures  # every kind of change happened and was counted
    with runtime.db.read_session() as s:  # the dashboard's officers' table reads the same rows
        for name, scope in scopes(clock.now()).items():
            assert statistics.by_officer(s, scope) == statistics.by_officer(s, scope, recount=True), name
    _each_procedure_adds_up_to_the_whole(runtime, scopes(clock.now()))
    with runtime.db.engine.begin() as conn:
        day_rows = officer_rollups.rebuild(conn)
    kept_equals_recount(runtime)
    assert day_rows > 10


def _each_procedure_adds_up_to_the_whole(rt, periods) -> None:
    """A procedure's KPIs are read from its own daily rows: every figure of every officer and
    commune, summed over the procedures, is the figure of all of them; and the officers' table of
    one procedure is the one its steps give."""
    keys = ("five_steps", "escalate_to_leader", "returns")
    with rt.db.read_session() as s:
        for name, scope in periods.items():
            if scope.procedure:
                continue
            whole = officer_rollups.window(s, scope.units, rollups.local_day(scope.start), rollups.local_day(scope.end))
            summed: dict = {}
            for key in keys:
                part = officer_rollups.window(
                    s,
                    scope.units,
                    rollups.local_day(scope.start),
                    rollups.local_day(scope.end),
                    statistics.definition_ids(key),
                )
                one = replace(scope, procedure=key)
                assert statistics.by_officer(s, one) == statistics.by_officer(s, one, recount=True), (name, key)
                for cell, counts in part.items():
                    sums = summed.setdefault(cell, [0] * len(kpi.COLUMNS))
                    summed[cell] = [a + b for a, b in zip(sums, counts)]
            assert {c: v for c, v in summed.items() if any(v)} == {c: v for c, v in whole.items() if any(v)}, name


def test_an_officers_month_in_figures(runtime, clock):
    """The specialist completes three steps of two dossiers: one returned (and done again), one
    late: dossiers 2, steps 3, returns caused 1; the leader's apology letter counts for the officer
    holding the late step and once for the commune."""
    office = KpiOffice(runtime, clock, random.Random(1))
    clock.set(vn(2026, 3, 2, 8, 0))
    office.return_once()  # the specialist's step, returned by the leader
    clock.set(vn(2026, 3, 2, 10, 0))
    [back] = open_steps(runtime, _last_dossier(runtime))
    dossiers.complete_work_item(runtime, back.id, SPECIALIST, {"ket_qua": "xong"})
    late = dossiers.start_dossier(
        runtime, definition_id=office.returns.id, unit_code="00070", applicant_name="Trễ", actor=RECEPTION
    )
    [step] = open_steps(runtime, late.id)
    if step.assignee is None:
        dossiers.claim_work_item(runtime, step.id, SPECIALIST)
    clock.set(vn(2026, 3, 20, 9, 0))
    assert step.due_at < clock.now()
    dossiers.reappoint_dossier(runtime, late.id, LEADER, vn(2026, 3, 31, 16, 0), "quá tải")
    dossiers.complete_work_item(runtime, step.id, SPECIALIST, {"ket_qua": "xong"})

    tables = supervision.officer_kpis(runtime, statistics.Scope(frozenset(UNITS), *MARCH))
    officer = next(r for r in tables.officers if r.key == "chuyen_vien_1")
    assert (officer.dossiers, officer.steps_done, officer.step_late, officer.returns_caused, officer.apologies) == (
        2,
        3,
        1,
        1,
        1,
    )
    assert officer.median_minutes is not None and officer.p90_minutes >= officer.median_minutes
    hoan_kiem = next(r for r in tables.units if r.key == "00070")
    assert (hoan_kiem.dossiers, hoan_kiem.apologies, hoan_kiem.returns_caused) == (2, 1, 1)
    name, lines = supervision.officer_kpi_lines(
        runtime, statistics.Scope(frozenset(UNITS), *MARCH), "chuyen_vien_1", "step_late"
    )
    assert [line.dossier_code for line in lines] == [late.code] and lines[0].working_minutes > 8 * 60
    _, returned = supervision.officer_kpi_lines(
        runtime, statistics.Scope(frozenset(UNITS), *MARCH), "chuyen_vien_1", "returns_caused"
    )
    assert [(line.actor, line.reason) for line in returned] == [("lanh_dao_1", "thiếu chữ ký")]
    kept_equals_recount(runtime)

    # The same month for the one procedure these dossiers belong to, and for another one.
    returns = statistics.Scope(frozenset(UNITS), *MARCH, procedure="returns")
    assert supervision.officer_kpis(runtime, returns) == tables
    other = statistics.Scope(frozenset(UNITS), *MARCH, procedure="five_steps")
    assert [r.key for r in supervision.officer_kpis(runtime, other).officers] == []
    assert all(r.dossiers == r.apologies == 0 for r in supervision.officer_kpis(runtime, other).units)
    assert supervision.officer_kpi_lines(runtime, other, "chuyen_vien_1", "step_late")[1] == []
    assert supervision.officer_kpi_lines(runtime, other, "chuyen_vien_1", "returns_caused")[1] == []
    assert len(supervision.officer_kpi_lines(runtime, returns, "chuyen_vien_1", "steps")[1]) == 3


def _last_dossier(rt) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(DossierRecord.id).order_by(DossierRecord.id.desc()).limit(1))


def test_quantiles_from_the_histogram_fall_within_the_bucket_of_the_exact_ones():
    rng = random.Random(3)
    for _ in range(200):
        values = [int(rng.lognormvariate(5, 1.5)) for _ in range(rng.randint(1, 60))]
        histogram = [0] * kpi.BUCKETS
        for v in values:
            histogram[kpi.bucket_of(v)] += 1
        for q in (0.5, 0.9):
            exact, estimate = kpi.exact_quantile(values, q), kpi.quantile(histogram, q)
            assert kpi.bucket_of(estimate) in (kpi.bucket_of(exact), kpi.bucket_of(exact) + 1) or (
                exact > kpi.BUCKET_BOUNDS[-1] and estimate == kpi.BUCKET_BOUNDS[-1]
            )
    assert kpi.quantile([0] * kpi.BUCKETS, 0.5) is None and kpi.exact_quantile([], 0.9) is None


def test_a_completed_step_keeps_its_working_time(runtime, clock):
    office = KpiOffice(runtime, clock, random.Random(2))
    clock.set(vn(2026, 3, 2, 11, 0))  # Monday
    dossier = dossiers.start_dossier(
        runtime, definition_id=office.returns.id, unit_code="00070", applicant_name="A", actor=RECEPTION
    )
    [step] = open_steps(runtime, dossier.id)
    clock.set(vn(2026, 3, 3, 9, 30))  # Tuesday: 1 h before noon, 4 h afternoon, 1.5 h
    dossiers.complete_work_item(runtime, step.id, SPECIALIST, {"ket_qua": "xong"})
    with runtime.db.read_session() as s:
        assert s.get(WorkItemRecord, step.id).working_minutes == 60 + 240 + 90
