"""Citizens' satisfaction per officer as daily rows (engine.store.satisfaction_rollups): whatever
order ratings and steps come in (a rating before the result's handover is done, by another
officer than the one who received the dossier), the rows kept by the changes equal a recount from
the ratings and the steps, and the officers' KPI page shows what the ratings themselves give
(SQLite and PostgreSQL)."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import text

from engine.domain.assignment import Actor
from engine.services import definitions
from engine.services import dossiers
from engine.services import satisfaction
from engine.store import kpi_queries
from engine.store import satisfaction_queries
from engine.store import satisfaction_rollups
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from engine.store.statistics import Scope
from tests.conftest import vn
from tests.factories import BPMN_DIR
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import SPECIALIST_2
from tests.factories import add_units

RECEPTION_2 = Actor("mot_cua_2", frozenset({"mot_cua"}), "00070")
ACTORS = {"mot_cua": (RECEPTION, RECEPTION_2), "chuyen_vien": (SPECIALIST, SPECIALIST_2), "lanh_dao": (LEADER,)}
HANDOVER = b'<motcua:step role="mot_cua" budget="4h"/>'


def kept_equals_recount(rt) -> None:
    with rt.db.engine.connect() as conn:
        assert satisfaction_rollups.kept_rows(conn) == satisfaction_rollups.recount(conn)


def deploy_both(rt):
    """five_steps as it is (rateable once finished) and with its handover step showing the result
    as processed (status 9: rateable while a desk officer still has a step to complete)."""
    text = (BPMN_DIR / "five_steps.bpmn").read_bytes()
    assert text.count(HANDOVER) == 1
    finished_first = definitions.deploy(rt, {"five_steps.bpmn": text})
    rated_early = definitions.deploy(
        rt,
        {
            "rated_early.bpmn": text.replace(b'id="five_steps"', b'id="rated_early"').replace(
                HANDOVER, HANDOVER[:-2] + b' status="9"/>'
            )
        },
    )
    return finished_first, rated_early


class Office:
    def __init__(self, rt, rng: random.Random):
        self.rt, self.rng = rt, rng
        self.definitions = deploy_both(rt)
        self.open: list[int] = []
        self.rateable: list[str] = []
        self.offered: set[str] = set()  # codes the applicant could rate (once)
        self.rated: dict[int, str] = {}  # dossier id -> code
        self.completed_after_rating = 0

    def act(self) -> None:
        choices = [self.receive] * 2 + [self.step] * 6 + ([self.rate] * 6 if self.rateable else [])
        self.rng.choice(choices)()

    def receive(self) -> None:
        dossier = dossiers.start_dossier(
            self.rt,
            definition_id=self.rng.choice(self.definitions).id,
            unit_code="00070",
            applicant_name="Nguyễn Văn A",
            actor=self.rng.choice(ACTORS["mot_cua"]),
        )
        self.open.append(dossier.id)

    def step(self) -> None:
        if not self.open:
            return
        dossier_id = self.rng.choice(self.open)
        with self.rt.db.read_session() as s:
            item = s.scalars(
                select(WorkItemRecord).where(
                    WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
                )
            ).first()
        if item is not None:
            self.completed_after_rating += dossier_id in self.rated
            dossiers.complete_work_item(self.rt, item.id, self.rng.choice(ACTORS[item.role]), {"hop_le": True})
        with self.rt.db.read_session() as s:
            dossier = s.get(DossierRecord, dossier_id)
            code, status, state = dossier.code, dossier.status, dossier.run_state
        if satisfaction.can_rate(status) and code not in self.offered:
            self.offered.add(code)
            self.rateable.append(code)
        if state != "running":
            self.open.remove(dossier_id)

    def rate(self) -> None:
        code = self.rateable.pop(self.rng.randrange(len(self.rateable)))
        if self.rng.random() < 0.8:  # some applicants never rate
            scores = {c: self.rng.choice((0, 1, 2)) for c in satisfaction.CRITERIA}
            satisfaction.rate(self.rt, code, scores)
            with self.rt.db.read_session() as s:
                self.rated[s.scalar(select(DossierRecord.id).where(DossierRecord.code == code))] = code


def test_the_satisfaction_rollups_equal_a_recount_whatever_the_order_of_ratings_and_steps(runtime, clock):
    add_units(runtime)
    rng = random.Random(14)
    clock.set(vn(2026, 2, 20, 8))
    office = Office(runtime, rng)
    for round_ in range(200):
        clock.set(clock.now() + timedelta(minutes=rng.choice((30, 200, 600, 1500))))
        office.act()
        if round_ % 50 == 49:
            kept_equals_recount(runtime)
    kept_equals_recount(runtime)
    with runtime.db.engine.connect() as conn:
        kept = satisfaction_rollups.kept_rows(conn)
    assert sum(counts[0] for key, counts in kept.items() if key[4] == "" and key[0] == 0 and key[1] == "d") > 8
    assert office.completed_after_rating >= 3  # the handover done after the applicant rated
    _the_kpi_page_shows_what_the_ratings_give(runtime)
    with runtime.db.engine.begin() as conn:
        day_rows = satisfaction_rollups.rebuild(conn)
    kept_equals_recount(runtime)
    assert day_rows > 5


def _the_kpi_page_shows_what_the_ratings_give(rt) -> None:
    everywhere = frozenset({"00070"})
    scopes = [
        Scope(everywhere, vn(2026, 3, 1), vn(2026, 4, 1)),
        Scope(everywhere, vn(2026, 3, 10), vn(2026, 4, 20)),
        Scope(everywhere, vn(2026, 1, 1), vn(2027, 1, 1)),
        Scope(everywhere, vn(2026, 1, 1), vn(2027, 1, 1), "rated_early"),
    ]
    for scope in scopes:
        with rt.db.read_session() as s:
            tables = kpi_queries.tables(s, scope)
            recounted = satisfaction_queries.by_officer(s, scope, recount=True)
            # The satisfaction page's lines, read from the daily rows, are the recount's.
            assert satisfaction_queries.by_officer(s, scope) == recounted
            assert satisfaction_queries.by_commune(s, scope) == satisfaction_queries.by_commune(s, scope, recount=True)
            assert satisfaction_queries.total(s, scope) == satisfaction_queries.total(s, scope, recount=True)
            expected = {row.key: _mean(row) for row in recounted}
            communes = {row.key: _mean(row) for row in satisfaction_queries.by_commune(s, scope)}
        # The page lists the officers who have figures in the period; each beside their ratings' mean.
        assert {row.key: row.satisfaction for row in tables.officers} == {
            row.key: expected.get(row.key) for row in tables.officers
        }
        assert any(row.satisfaction is not None for row in tables.officers)
        assert {row.key: row.satisfaction for row in tables.units if row.satisfaction is not None} == communes


def _mean(row: satisfaction_queries.SatisfactionRow) -> float | None:
    means = [m for m in row.mean.values() if m is not None]
    return round(sum(means) / len(means), 2) if means else None


@pytest.mark.postgres
def test_a_handover_completed_while_the_applicant_rates_counts_the_rating_for_its_officer(postgres_runtime):
    """The rating's transaction has counted the dossier's officers so far and not committed when
    another desk officer completes the handover: the completion's statement waits on the dossier,
    loses its race and runs again, and the rating counts for that officer too."""
    rt = postgres_runtime
    add_units(rt)
    _finished_first, rated_early = deploy_both(rt)
    dossier = dossiers.start_dossier(
        rt, definition_id=rated_early.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )
    for actor in (RECEPTION, SPECIALIST, SPECIALIST, LEADER):
        dossiers.complete_work_item(rt, _open_step(rt, dossier.id).id, actor, {"hop_le": True})
    handover = _open_step(rt, dossier.id)
    counted, released = threading.Event(), threading.Event()

    def hold_the_rating(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread().name == "rating" and statement.startswith("INSERT INTO satisfaction_rollup"):
            counted.set()
            released.wait(30)

    event.listen(rt.db.engine, "after_cursor_execute", hold_the_rating)
    try:
        rating = threading.Thread(
            target=satisfaction.rate, args=(rt, dossier.code, {c: 2 for c in satisfaction.CRITERIA}), name="rating"
        )
        rating.start()
        assert counted.wait(30)
        completing = threading.Thread(
            target=dossiers.complete_work_item, args=(rt, handover.id, RECEPTION_2, {}), name="completing"
        )
        completing.start()
        _until_waiting_on_a_lock_or_done(rt, completing)
        released.set()
        rating.join(30)
        completing.join(30)
    finally:
        released.set()
        event.remove(rt.db.engine, "after_cursor_execute", hold_the_rating)
    with rt.db.engine.connect() as conn:
        kept = satisfaction_rollups.kept_rows(conn)
    assert {key[4] for key in kept} == {
        "",
        RECEPTION.username,
        RECEPTION_2.username,
        SPECIALIST.username,
        LEADER.username,
    }
    kept_equals_recount(rt)


def _open_step(rt, dossier_id: int) -> WorkItemRecord:
    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
            )
        ).one()


def _until_waiting_on_a_lock_or_done(rt, thread: threading.Thread) -> None:
    """Until PostgreSQL reports another session waiting on a lock, or `thread` ended (it did not
    need to wait)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    with rt.db.engine.connect() as conn:
        while thread.is_alive() and not conn.execute(waiting).scalar_one():
            thread.join(0.05)
