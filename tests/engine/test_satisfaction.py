"""The applicant rates a dossier once after its result; the supervisor's figures per commune,
procedure and officer count each rating where it belongs (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.domain.errors import ConflictError
from engine.domain.errors import InvalidAction
from engine.services import dossiers
from engine.services import satisfaction
from engine.store import kpi_queries
from engine.store import satisfaction_queries
from engine.store.records import WorkItemRecord
from engine.store.statistics import Scope
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import SPECIALIST_2
from tests.factories import add_units
from tests.factories import deploy_fixture

GOOD = {"time": 2, "attitude": 2, "information": 1, "result": 2}
POOR = {"time": 0, "attitude": 1, "information": 0, "result": 1}


@pytest.fixture
def five(runtime):
    add_units(runtime)
    return deploy_fixture(runtime, "five_steps")


def finished(rt, definition, specialist=SPECIALIST):
    dossier = dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )
    for actor, data in (
        (RECEPTION, {}),
        (specialist, {"hop_le": True}),
        (specialist, {}),
        (LEADER, {}),
        (RECEPTION, {}),
    ):
        with rt.db.session() as s:
            item = s.scalars(
                select(WorkItemRecord).where(
                    WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state.in_(["open", "claimed"])
                )
            ).first()
        dossiers.complete_work_item(rt, item.id, actor, data)
    return dossier


def test_rated_once_after_the_result(runtime, five, clock):
    waiting = dossiers.start_dossier(
        runtime, definition_id=five.id, unit_code="00070", applicant_name="B", actor=RECEPTION
    )
    with pytest.raises(InvalidAction, match="no result to rate yet"):
        satisfaction.rate(runtime, waiting.code, GOOD)

    done = finished(runtime, five)
    with pytest.raises(InvalidAction) as missing:
        satisfaction.rate(runtime, done.code, {**GOOD, "attitude": 3})
    assert missing.value.field == "attitude"
    satisfaction.rate(runtime, done.code, GOOD, "  Cán bộ hướng dẫn tận tình  ")
    with pytest.raises(ConflictError, match="already rated"):
        satisfaction.rate(runtime, done.code, POOR)
    rating = satisfaction.rating_of(runtime, done.code)
    assert rating.scores == GOOD and rating.comment == "Cán bộ hướng dẫn tận tình"


def test_figures_per_commune_procedure_and_officer(runtime, five, clock):
    satisfaction.rate(runtime, finished(runtime, five).code, GOOD)
    satisfaction.rate(runtime, finished(runtime, five, SPECIALIST_2).code, POOR)
    finished(runtime, five)  # not rated: not counted
    scope = Scope(frozenset({"00070", "00073"}), clock.now() - timedelta(days=1), clock.now() + timedelta(days=1))
    with runtime.db.read_session() as s:
        communes = satisfaction_queries.by_commune(s, scope)
        procedures = satisfaction_queries.by_procedure(s, scope)
        officers = {row.key: row for row in satisfaction_queries.by_officer(s, scope)}
        total = satisfaction_queries.total(s, scope)
        outside = satisfaction_queries.total(s, Scope(frozenset({"00073"}), scope.start, scope.end))

    assert [(row.key, row.ratings) for row in communes] == [("00070", 2)]
    assert [(row.key, row.ratings) for row in procedures] == [("five_steps", 2)]
    assert total.ratings == 2 and total.satisfied == {"time": 0.5, "attitude": 1.0, "information": 0.5, "result": 1.0}
    assert total.mean["time"] == 1.0 and total.overall == 0.75
    # Each officer counts the rated dossiers they completed a step of.
    assert officers["chuyen_vien_1"].ratings == 1 and officers["chuyen_vien_1"].satisfied["time"] == 1.0
    assert officers["chuyen_vien_2"].ratings == 1 and officers["chuyen_vien_2"].satisfied["time"] == 0.0
    assert officers["mot_cua_1"].ratings == 2 and officers["lanh_dao_1"].ratings == 2
    assert outside.ratings == 0 and outside.overall is None


def test_the_officers_kpis_show_the_mean_score_of_the_rated_dossiers_they_worked_on(runtime, five, clock):
    satisfaction.rate(runtime, finished(runtime, five).code, GOOD)  # mean score 1.75
    satisfaction.rate(runtime, finished(runtime, five, SPECIALIST_2).code, POOR)  # mean score 0.5
    today = clock.now().astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).replace(hour=0, minute=0, second=0, microsecond=0)
    with runtime.db.read_session() as s:
        tables = kpi_queries.tables(s, Scope(frozenset({"00070"}), today, today + timedelta(days=1)))

    officers = {row.key: row.satisfaction for row in tables.officers}
    assert officers["chuyen_vien_1"] == 1.75 and officers["chuyen_vien_2"] == 0.5
    # The reception desk and the leader worked on both dossiers: their mean is over both ratings.
    assert officers["mot_cua_1"] == pytest.approx(1.125, abs=0.01) == officers["lanh_dao_1"]
    assert [(row.key, row.satisfaction) for row in tables.units] == [("00070", pytest.approx(1.125, abs=0.01))]
