"""The dashboard's daily rollups (engine.store.rollups) always give the figures a recount of the
dossiers gives (engine.store.statistics, recount=True), whatever happened to the dossiers, for
periods that ended and periods still running; and the migration's rebuild gives the rows the
changes kept (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import date
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from engine.commands.rollups import rollups_group
from engine.services import dossiers
from engine.services import sla
from engine.services import supervision
from engine.services.forecasts import Forecaster
from engine.services.runtime import Runtime
from engine.store import open_stock
from engine.store import rollups
from engine.store import statistics
from engine.store.database import Database
from engine.store.records import DossierRecord
from engine.store.records import FigureRollupRecord
from engine.store.records import OpenStockRecord
from tests.conftest import vn
from tests.engine.test_statistics import CUA_NAM
from tests.engine.test_statistics import SAI_GON
from tests.engine.test_statistics import add_more_units
from tests.engine.test_statistics import open_steps
from tests.engine.test_statistics import start
from tests.engine.test_statistics import work
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import deploy_fixture

UNITS = ("00070", "00073", "26734")
DESK = {"00070": RECEPTION, "00073": CUA_NAM, "26734": SAI_GON}
LEAD = {"00070": LEADER, "00073": CUA_NAM, "26734": SAI_GON}
FIRST_DAY = vn(2026, 2, 23)
DAYS = 16


def scopes(now) -> dict[str, statistics.Scope]:
    """Periods a supervisor asks for: ended, running, a day, a year, one procedure, one commune."""
    local = now.astimezone(rollups.LOCAL)
    today = vn(local.year, local.month, local.day)
    everywhere = frozenset(UNITS)
    return {
        "february": statistics.Scope(everywhere, vn(2026, 2, 1), vn(2026, 3, 1)),
        "march": statistics.Scope(everywhere, vn(2026, 3, 1), vn(2026, 4, 1)),
        "2026": statistics.Scope(everywhere, vn(2026, 1, 1), vn(2027, 1, 1)),
        "first week": statistics.Scope(everywhere, vn(2026, 2, 23), vn(2026, 3, 2)),
        # Two whole weeks across the month's end (read from their week rows), and a day before them.
        "two weeks across a month's end": statistics.Scope(everywhere, vn(2026, 2, 22), vn(2026, 3, 9)),
        "yesterday": statistics.Scope(everywhere, today - timedelta(days=1), today),
        "today": statistics.Scope(everywhere, today, today + timedelta(days=1)),
        "ten days to tomorrow": statistics.Scope(everywhere, today - timedelta(days=9), today + timedelta(days=1)),
        "five steps, Feb-Mar": statistics.Scope(everywhere, vn(2026, 2, 1), vn(2026, 4, 1), "five_steps"),
        "supplement first, until yesterday": statistics.Scope(
            everywhere, vn(2026, 2, 24), today - timedelta(days=1), "escalate_to_leader"
        ),
        "Cửa Nam, march": statistics.Scope(frozenset({"00073"}), vn(2026, 3, 1), vn(2026, 4, 1)),
    }


def as_compared(found: statistics.Tables) -> tuple:
    return (found.summary, {r.key: r.figures for r in found.communes}, {r.key: r.figures for r in found.procedures})


def assert_rollups_equal_a_recount(rt, now, when: str) -> None:
    with rt.db.read_session() as s:
        for name, scope in scopes(now).items():
            rolled, recounted = statistics.tables(s, scope, now), statistics.tables(s, scope, now, recount=True)
            assert as_compared(rolled) == as_compared(recounted), (when, name)
            assert rolled.summary.balances, (when, name)
    for name, scope in scopes(now).items():
        assert_trend_equals_a_recount(rt, scope, (when, name))


def assert_trend_equals_a_recount(rt, scope: statistics.Scope, where) -> None:
    """The trend chart's points (by week, by month past 26 weeks) hold the receipts and closures a
    count of each point's dossiers gives, and the period's own: the same numbers as the tables."""
    points = supervision.trend(rt, scope)
    bounds = [point.start for point in points] + [scope.end]
    with rt.db.read_session() as s:
        recounted = statistics.flows(s, scope, bounds, recount=True)
        whole = statistics.tables(s, scope, scope.end, recount=True).summary
    assert [point.figures for point in points] == recounted, where
    for name in statistics.FLOW:
        assert sum(point.figures.value(name) for point in points) == whole.value(name), (where, name)


class Office:
    """Dossiers received and handled at random: starts by every channel, steps done or refused,
    supplements that come or never do, withdrawals, stops and apology letters."""

    def __init__(self, rt, clock, rng: random.Random):
        self.rt, self.clock, self.rng = rt, clock, rng
        add_more_units(rt)
        self.five = deploy_fixture(rt, "five_steps")
        self.supplement_first = deploy_fixture(rt, "escalate_to_leader", legal_limit="1d")
        self.open: list = []
        self.waiting: list = []  # supplement-first dossiers whose supplement has not come
        self.reappointed: set[int] = set()

    def act(self) -> None:
        actions = [self.receive] * 4 + [self.step] * 5
        if self.open:
            actions += [self.stop, self.reappoint]
        if self.waiting:
            actions += [self.supplement] * 2
        self.rng.choice(actions)()

    def receive(self) -> None:
        definition = self.five if self.rng.random() < 0.7 else self.supplement_first
        dossier = start(
            self.rt,
            definition,
            unit=self.rng.choice(UNITS),
            channel=self.rng.choice(("counter", "counter", "online", "post")),
        )
        self.open.append(dossier)
        if definition is self.supplement_first and self.rng.random() < 0.8:
            self.waiting.append(dossier)

    def step(self) -> None:
        ready = [d for d in self.open if d not in self.waiting]
        if ready:
            dossier = self.rng.choice(ready)
            work(self.rt, dossier, steps=1, valid=self.rng.random() > 0.1)
            self._forget_if_closed(dossier)

    def stop(self) -> None:
        dossier = self.rng.choice(self.open)
        dossiers.cancel_dossier(
            self.rt, dossier.id, DESK[dossier.unit_code], "công dân rút hồ sơ", withdrawn=self.rng.random() < 0.5
        )
        self._forget(dossier)

    def supplement(self) -> None:
        dossier = self.waiting.pop(self.rng.randrange(len(self.waiting)))
        dossiers.send_message(self.rt, dossier.id, "bo_sung_xong", DESK[dossier.unit_code], {"giay_to": "đủ"})

    def reappoint(self) -> None:
        dossier = self.rng.choice(self.open)
        with self.rt.db.read_session() as s:
            row = s.get(DossierRecord, dossier.id)
        if dossier.id in self.reappointed or row.appointment_at is None or row.run_state != "running":
            return
        later = max(row.appointment_at, self.clock.now()) + timedelta(days=2)
        dossiers.reappoint_dossier(self.rt, dossier.id, LEAD[dossier.unit_code], later, "quá tải")
        self.reappointed.add(dossier.id)

    def _forget_if_closed(self, dossier) -> None:
        if not open_steps(self.rt, dossier.id):
            with self.rt.db.read_session() as s:
                if s.get(DossierRecord, dossier.id).completed_at is not None:
                    self._forget(dossier)

    def _forget(self, dossier) -> None:
        self.open.remove(dossier)
        if dossier in self.waiting:
            self.waiting.remove(dossier)


def test_the_rollups_equal_a_recount_after_any_sequence_of_changes(runtime, clock):
    rng = random.Random(14)
    clock.set(FIRST_DAY + timedelta(hours=7))
    office = Office(runtime, clock, rng)
    for day in range(DAYS):
        midnight = FIRST_DAY + timedelta(days=day + 1)
        while True:
            # Some changes land exactly on midnight: the day a closure counts on is the new one.
            step = timedelta(minutes=rng.choice((37, 95, 180, 420)))
            if clock.now() + step >= midnight:
                clock.set(midnight)
                office.act()
                break
            clock.set(clock.now() + step)
            office.act()
        assert_rollups_equal_a_recount(runtime, clock.now() + timedelta(hours=rng.choice((0, 3, 11))), f"day {day}")
    assert len(office.reappointed) >= 2 and len(office.waiting) >= 1


def test_the_open_stock_equals_a_recount_after_each_change(runtime, clock):
    """Every start, step, refusal, supplement asked and brought, stop (of waiting dossiers too) and
    apology letter leaves the open stock as a count of the open dossiers gives it, row by row
    (emptied rows gone), and the tables read from it agree with the direct count."""
    rng = random.Random(33)
    clock.set(FIRST_DAY + timedelta(hours=8))
    office = Office(runtime, clock, rng)
    kinds: set[str] = set()
    for n in range(90):
        clock.set(clock.now() + timedelta(minutes=rng.choice((25, 90, 300, 900))))
        before = len(office.waiting), len(office.open), len(office.reappointed)
        office.act()
        with runtime.db.read_session() as s:
            assert open_stock.rows(s) == open_stock.recount(s), f"change {n}"
        kinds.add(_kind_of_change(before, office))
    assert {"started", "supplement brought", "closed", "re-appointed"} <= kinds
    with runtime.db.read_session() as s:
        assert any(row[3] for row in open_stock.rows(s))  # some wait for the applicant
    assert_rollups_equal_a_recount(runtime, clock.now(), "end")


def _kind_of_change(before: tuple[int, int, int], office: Office) -> str:
    waiting, still_open, reappointed = before
    if len(office.reappointed) > reappointed:
        return "re-appointed"
    if len(office.open) > still_open:
        return "started"
    if len(office.open) < still_open:
        return "closed"
    return "supplement brought" if len(office.waiting) < waiting else "step"


def office_at_work(runtime, clock, *, seed: int, changes: int, gaps: tuple[int, ...]) -> None:
    """A commune's office making `changes` random changes from 8:00 on the first day, `gaps`
    minutes apart (one picked at random each time)."""
    rng = random.Random(seed)
    clock.set(FIRST_DAY + timedelta(hours=8))
    office = Office(runtime, clock, rng)
    for _ in range(changes):
        clock.set(clock.now() + timedelta(minutes=rng.choice(gaps)))
        office.act()


def test_the_rebuild_gives_the_rows_the_changes_kept(runtime, clock):
    office_at_work(runtime, clock, seed=7, changes=60, gaps=(40, 200, 700))
    kept = rollup_rows(runtime)
    with runtime.db.read_session() as s:
        stock = open_stock.rows(s)
    with runtime.db.engine.begin() as conn:
        day_rows = rollups.rebuild(conn)
        stock_rows = open_stock.rebuild(conn)
    assert rollup_rows(runtime) == kept and day_rows == sum(1 for row in kept if row[0] == "d") > 5
    with runtime.db.read_session() as s:
        assert open_stock.rows(s) == stock and stock_rows == len(stock) > 3


def rollup_rows(rt) -> list[tuple]:
    r = FigureRollupRecord
    columns = [r.__table__.c[name] for name in rollups.COLUMNS]
    with rt.db.read_session() as s:
        rows = s.execute(
            select(r.grain, r.day, r.unit_code, r.definition_id, *columns).order_by(
                r.grain, r.day, r.unit_code, r.definition_id
            )
        ).all()
    return [tuple(row) for row in rows if any(row[4:])]


@pytest.mark.parametrize(
    ("first", "last", "ranges"),
    [
        # A month is its month row; a year, its months.
        ((2026, 3, 1), (2026, 4, 1), [("m", (2026, 3, 1), (2026, 4, 1))]),
        ((2026, 1, 1), (2027, 1, 1), [("m", (2026, 1, 1), (2027, 1, 1))]),
        # Whole weeks (Monday to Sunday) from their week rows, the days around them from day rows.
        (
            (2026, 2, 22),
            (2026, 3, 12),
            [
                ("d", (2026, 2, 22), (2026, 2, 23)),
                ("w", (2026, 2, 23), (2026, 3, 9)),
                ("d", (2026, 3, 9), (2026, 3, 12)),
            ],
        ),
        # Around a whole month: weeks and days before it, days after it.
        (
            (2026, 2, 9),
            (2026, 4, 3),
            [
                ("w", (2026, 2, 9), (2026, 2, 23)),
                ("d", (2026, 2, 23), (2026, 3, 1)),
                ("m", (2026, 3, 1), (2026, 4, 1)),
                ("d", (2026, 4, 1), (2026, 4, 3)),
            ],
        ),
        # Less than a week: days only.
        ((2026, 3, 3), (2026, 3, 8), [("d", (2026, 3, 3), (2026, 3, 8))]),
    ],
)
def test_a_period_is_read_from_its_whole_months_whole_weeks_and_days(first, last, ranges):
    found = rollups.grain_ranges(date(*first), date(*last))
    assert found == [(grain, date(*start), date(*end)) for grain, start, end in ranges]
    assert rollups.grain_ranges(date(*first), date(*last), (rollups.MONTH,)) == rollups.window_ranges(
        date(*first), date(*last)
    )
    assert all(grain != rollups.WEEK for grain, _, _ in rollups.window_ranges(date(*first), date(*last)))


def test_the_week_rows_hold_the_sums_of_their_days(runtime, clock):
    """Each week row (keyed by its Monday) is kept with its days in the change's transaction."""
    office_at_work(runtime, clock, seed=21, changes=50, gaps=(60, 300, 900))
    rows = rollup_rows(runtime)
    weeks: dict[tuple, list[int]] = {}
    for grain, day, unit, definition_id, *counts in rows:
        if grain == rollups.DAY:
            key = (rollups.week_of(day), unit, definition_id)
            weeks[key] = [a + b for a, b in zip(weeks.get(key, [0] * len(counts)), counts)]
    kept = {
        (day, unit, definition_id): list(counts) for grain, day, unit, definition_id, *counts in rows if grain == "w"
    }
    assert kept == weeks and len({day for day, _, _ in kept}) >= 2
    assert all(day.weekday() == 0 for day, _, _ in kept)


def test_the_dashboard_reads_the_rollups_for_whole_days(runtime, clock):
    """A month's dashboard shows the rollups' figures: a receipt counted nowhere else shows in it."""
    add_more_units(runtime)
    five = deploy_fixture(runtime, "five_steps")
    clock.set(vn(2026, 3, 2, 8, 0))
    start(runtime, five)
    march = statistics.Scope(frozenset(UNITS), vn(2026, 3, 1), vn(2026, 4, 1))
    with runtime.db.session() as s:  # a receipt only the rollups know of
        s.execute(FigureRollupRecord.__table__.update().values(received=FigureRollupRecord.received + 1))
    board = supervision.dashboard(runtime, march, clock.now())
    with runtime.db.read_session() as s:
        recounted = statistics.tables(s, march, clock.now(), recount=True).summary
    assert (board.summary.received, recounted.received) == (2, 1)


def test_reports_are_read_from_the_database_given_for_them(database, clock):
    """MOTCUA_READ_DATABASE_URL (here the same database): the dashboard and the at-risk list are read
    through it, with the figures of the main one; on PostgreSQL it refuses writes."""
    db = Database(database.url, report_url=database.url)
    rt = Runtime(db=db, clock=clock, worker_id="test-worker")
    add_more_units(rt)
    five = deploy_fixture(rt, "five_steps")
    clock.set(vn(2026, 3, 2, 8, 0))
    work(rt, start(rt, five), steps=2)
    start(rt, five, unit="00073", channel="online")
    read_there: list[str] = []
    event.listen(
        db.report_engine, "before_cursor_execute", lambda conn, cursor, statement, *_: read_there.append(statement)
    )
    march = statistics.Scope(frozenset(UNITS), vn(2026, 3, 1), vn(2026, 4, 1))
    board = supervision.dashboard(rt, march, clock.now())
    supervision.at_risk(rt, march, clock.now())
    with db.read_session() as s:
        assert board.summary == statistics.tables(s, march, clock.now(), recount=True).summary
    assert board.summary.received == 2 and board.summary.received_online == 1
    assert any("figure_rollup" in statement for statement in read_there)
    assert sum("FROM dossier" in statement for statement in read_there) >= 2
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="read-only"), db.report_session() as s:
            s.execute(FigureRollupRecord.__table__.delete())
    db.dispose()


@pytest.mark.postgres
def test_the_province_benchmark_runs_and_its_rollups_equal_the_recount(postgres_template):
    """benchmarks/dashboard.py --quick on PostgreSQL at a small size: it checks the rollups against
    the direct count for a month, a year and last month itself, and ends with one JSON object."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "dashboard.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick"],
        env={**os.environ, "BENCH_DOSSIERS": "6000", "MOTCUA_BENCH_POSTGRES_URL": postgres_template},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (
        result["dossiers"] == 6000
        and result["periods"]["year"]["received"] > result["periods"]["month"]["received"] > 0
    )
    assert {"dashboard_p95_ms", "ratio_vs_direct_sql", "at_risk_p95_ms"} <= result.keys()


def live_at_risk(rt, scope, now) -> set[str]:
    """The at-risk list by projecting every open dossier with its appointment ahead (the rule)."""
    with rt.db.read_session() as s:
        forecaster = Forecaster(rt, s)
        return {
            d.code
            for d in statistics.open_dossiers(s, scope, now)
            if not forecaster.paused(d) and forecaster.of(d, now).misses
        }


def test_the_at_risk_list_skips_only_dossiers_the_sweep_saw_fitting_until_later(runtime, clock):
    """After the worker's sweep, dossiers forecast to fit until a later instant are not projected
    again; the list stays the one a projection of every open dossier gives, before the sweep,
    after it, and once the instant one of them stops fitting has passed without another sweep."""
    add_more_units(runtime)
    five = deploy_fixture(runtime, "five_steps")
    scope = statistics.Scope(frozenset(UNITS), vn(2026, 3, 1), vn(2026, 4, 1))
    clock.set(vn(2026, 3, 2, 14, 0))
    near = [start(runtime, five, unit=unit) for unit in UNITS]
    clock.set(vn(2026, 3, 4, 10, 0))
    behind = [start(runtime, five, unit=unit) for unit in UNITS]
    skipped = []
    for at in (vn(2026, 3, 4, 12, 0), vn(2026, 3, 5, 8, 30), vn(2026, 3, 5, 9, 0), vn(2026, 3, 6, 10, 0)):
        clock.set(at)
        if at == vn(2026, 3, 5, 8, 30):
            for dossier in near:
                work(runtime, dossier, steps=4)
        before = {r.dossier.code for r in supervision.at_risk(runtime, scope, clock.now())}
        assert before == live_at_risk(runtime, scope, clock.now()), at
        sla.ask_for_apologies(runtime)
        with runtime.db.read_session() as s:
            candidates = statistics.at_risk_candidates(s, scope, clock.now())
            open_ahead = statistics.open_dossiers(s, scope, clock.now())
        after = {r.dossier.code for r in supervision.at_risk(runtime, scope, clock.now())}
        assert after == before, at
        skipped.append(len(open_ahead) - len(candidates))
    assert before >= {d.code for d in behind}  # they did fall behind
    assert max(skipped) >= 3  # while they fitted, the sweep's forecast spared their projection


def test_the_at_risk_list_read_a_page_at_a_time_is_the_whole_lists_beginning(runtime, clock, monkeypatch):
    """Candidates read two at a time (supervision.AT_RISK_PAGE), the at-risk list's first n are the
    first n of the whole list, in the order of their appointments, whatever n."""
    add_more_units(runtime)
    five = deploy_fixture(runtime, "five_steps")
    scope = statistics.Scope(frozenset(UNITS), vn(2026, 3, 1), vn(2026, 4, 1))
    for hour in (8, 9, 10, 11, 13, 14, 15):
        clock.set(vn(2026, 3, 2, hour, 0))
        start(runtime, five, unit=UNITS[hour % 3])
    clock.set(vn(2026, 3, 4, 10, 0))
    whole = supervision.at_risk(runtime, scope, clock.now())
    monkeypatch.setattr(supervision, "AT_RISK_PAGE", 2)
    assert len(whole) >= 5 and [r.dossier.appointment_at for r in whole] == sorted(
        r.dossier.appointment_at for r in whole
    )
    for n in (1, 2, 3, 5, len(whole) + 1):
        shown = supervision.at_risk(runtime, scope, clock.now(), limit=n)
        assert [r.dossier.code for r in shown] == [r.dossier.code for r in whole[:n]], n


def test_the_rebuild_command_restores_the_figures_after_a_bulk_load(runtime, clock, monkeypatch):
    """Dossiers loaded around the engine are not in the rollups until `motcua rollups rebuild`."""
    add_more_units(runtime)
    five = deploy_fixture(runtime, "five_steps")
    clock.set(vn(2026, 3, 2, 8, 0))
    work(runtime, start(runtime, five), steps=9)
    start(runtime, five, unit="00073", channel="post")
    with runtime.db.session() as s:  # as a bulk import would leave them
        s.execute(FigureRollupRecord.__table__.delete())
        s.execute(OpenStockRecord.__table__.delete())
    march = statistics.Scope(frozenset(UNITS), vn(2026, 3, 1), vn(2026, 4, 1))
    monkeypatch.setenv("DATABASE_URL", runtime.db.url)
    done = CliRunner().invoke(rollups_group, ["rebuild"], catch_exceptions=False)
    assert done.exit_code == 0 and "recounted: 3 rows" in done.output  # receipts, the closure, its appointment day
    assert "open stock recounted: 1 rows" in done.output  # the dossier still open
    board = supervision.dashboard(runtime, march, clock.now())
    assert (board.summary.received, board.summary.received_post, board.summary.done) == (2, 1, 1)
    assert board.summary.not_due + board.summary.overdue == 1


@pytest.mark.postgres
def test_a_start_counts_its_receipt_in_the_statement_that_writes_its_rows(postgres_runtime, clock):
    """On PostgreSQL a start's figures and open count go in its rows' one statement (two round
    trips fewer than apart), and give what a recount gives, pause at the start or not."""
    clock.set(FIRST_DAY + timedelta(hours=8))
    add_more_units(postgres_runtime)
    five, supplement_first = (
        deploy_fixture(postgres_runtime, "five_steps"),
        deploy_fixture(postgres_runtime, "escalate_to_leader", legal_limit="1d"),
    )
    sent: list[str] = []
    event.listen(postgres_runtime.db.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    start(postgres_runtime, five, unit="00070", channel="online")
    alone = [sql for sql in sent if sql.startswith(("INSERT INTO figure_rollup", "INSERT INTO open_stock"))]
    assert alone == []
    assert any("figure_rollup" in sql and "open_stock" in sql for sql in sent)
    start(postgres_runtime, supplement_first, unit="00070")  # its start opens a pause: the count is written first
    with postgres_runtime.db.read_session() as s:
        assert open_stock.rows(s) == open_stock.recount(s)
    assert_rollups_equal_a_recount(postgres_runtime, clock.now(), "after the starts")
