"""Supervisor dashboard cost: 100,000 dossiers of the 16 library procedures across Hanoi's 126
communes over six months (completed ones with their classification and two completed steps,
open ones with an open step, some waiting for a supplement; SLA events on some), on SQLite.
The dashboard's queries for one month (summary, per commune, per procedure, per officer, the
overdue list, the escalation log) against a naive aggregation in Python by the same definitions
(engine.domain.figures) over the same rows read whole, measured in the same run and checked to
give the same numbers and to add up; and the at-risk projection over the open dossiers.

On PostgreSQL (the default; `--sqlite` runs the comparison above): a province's history generated
in bulk by SQL (5,000,000 dossiers by default, about 5,000 a day over 2.7 years; `--quick`: 50,000),
then the dashboard (summary, per commune, per procedure, per officer) of the whole province for the
current month and the current year, and for last month (a period that ended: the open stock read
at its end), read from the daily rollups (engine.store.rollups; the officers' table and the
officers' KPI page from engine.store.officer_rollups), p50/p95 over repeated requests;
against the direct count over the dossiers (`recount=True`, the reference) measured in the same
run, and checked equal to it. Also the at-risk list and the first page of the overdue drill-down.
MOTCUA_BENCH_POSTGRES_URL / MOTCUA_TEST_POSTGRES_URL name the server (a database is created and
dropped).

BENCH_DOSSIERS sets the size (SQLite default 100,000). `--keep NAME` keeps the generated
PostgreSQL database under that name and reuses it on the next run (`--rebuild` recounts its
rollups first). Prints a summary, then one JSON object.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections import defaultdict
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# This folder holds calendar.py, which would shadow the standard library: put the project there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402

from configurator import library  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.domain import figures  # noqa: E402
from engine.services import incidents  # noqa: E402
from engine.services import sla  # noqa: E402
from engine.services import supervision  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store import officer_rollups  # noqa: E402
from engine.store import open_stock  # noqa: E402
from engine.store import rollups  # noqa: E402
from engine.store import satisfaction_queries  # noqa: E402
from engine.store import satisfaction_rollups  # noqa: E402
from engine.store import statistics  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.records import AuditEventRecord  # noqa: E402
from engine.store.records import DossierPauseRecord  # noqa: E402
from engine.store.records import DossierRecord  # noqa: E402
from engine.store.records import ProcessDefinitionRecord  # noqa: E402
from engine.store.records import UnitRecord  # noqa: E402
from engine.store.records import UserRecord  # noqa: E402
from engine.store.records import WorkItemRecord  # noqa: E402
from engine.units import units_of_province  # noqa: E402

DOSSIERS = int(os.environ.get("BENCH_DOSSIERS", "100000"))
VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=VN).astimezone(UTC)  # a Monday morning
MONTH = (datetime(2026, 11, 1, tzinfo=VN), datetime(2026, 12, 1, tzinfo=VN))
BATCH = 20000


def hanoi_with_library(rt: Runtime) -> list[str]:
    """Hà Nội's units, three officers per commune and the published library; the communes' codes."""
    units = units_of_province("ha_noi")
    communes = [u.code for u in units if u.kind == "commune"]
    with rt.db.session() as s:
        for unit in units:
            s.add(
                UnitRecord(
                    code=unit.code,
                    name=unit.name,
                    kind=unit.kind,
                    parent_code=unit.parent_code,
                    agency_code=unit.agency_code,
                )
            )
            s.flush()
        for commune in communes:
            for n in range(3):
                s.add(
                    UserRecord(
                        username=f"cb_{commune}_{n}", full_name=f"Cán bộ {n}", unit_code=commune, roles="chuyen_vien"
                    )
                )
    library.load(rt)
    return communes


def fill(rt: Runtime, rng: random.Random) -> list[str]:
    communes = hanoi_with_library(rt)
    with rt.db.read_session() as s:
        definitions = [
            (d.id, d.legal_limit_minutes or 2400, list(rt.bundle_for(s, d).policy.steps))
            for d in s.scalars(select(ProcessDefinitionRecord))
        ]
    dossiers, items, events, pauses = [], [], [], []
    for n in range(DOSSIERS):
        definition_id, legal, steps = definitions[n % len(definitions)]
        dossier = _dossier_row(rng, n + 1, definition_id, legal, communes[rng.randrange(len(communes))])
        dossiers.append(dossier)
        if dossier["completed_at"] is None and rng.random() < 0.05:  # waiting for a supplement
            dossier["status"] = 5
            pauses.append(dict(dossier_id=n + 1, kind="supplement_requested", started_at=dossier["received_at"]))
        items += _step_rows(rng, dossier, steps)
        if rng.random() < 0.05:
            for level, action in ((1, "sla_warning"), (2, "sla_breach")):
                events.append(
                    dict(
                        dossier_id=n + 1,
                        at=min(NOW, dossier["received_at"] + timedelta(days=level)),
                        action=action,
                        actor="system",
                        detail={"level": level},
                    )
                )
    with rt.db.session() as s:
        for rows, table in (
            (dossiers, DossierRecord),
            (items, WorkItemRecord),
            (events, AuditEventRecord),
            (pauses, DossierPauseRecord),
        ):
            for start in range(0, len(rows), BATCH):
                s.execute(insert(table.__table__), rows[start : start + BATCH])
    with rt.db.engine.begin() as conn:  # the rows went in bulk, around the engine: count them
        rollups.rebuild(conn)
        open_stock.rebuild(conn)
        officer_rollups.rebuild(conn)
    return communes


def _dossier_row(rng: random.Random, dossier_id: int, definition_id: int, legal: int, commune: str) -> dict:
    """A dossier received in the last six months; a working minute is about 4.2 wall-clock minutes
    (168 hours a week against 40 working hours)."""
    received = NOW - timedelta(minutes=rng.uniform(0, 180 * 24 * 60))
    appointment = received + timedelta(minutes=legal * 4.2 * rng.uniform(0.95, 1.05))
    done = received + timedelta(minutes=legal * 4.2 * rng.uniform(0.3, 1.3))
    completed = done < NOW and rng.random() < 0.97
    verdict = None
    if completed and rng.random() > 0.03:  # the rest were rejected or stopped: no classification
        verdict = "late" if done > appointment else ("on_time" if done.date() == appointment.date() else "early")
    channel = rng.choices(("counter", "online", "post"), weights=(83, 14, 3))[0]
    return dict(
        id=dossier_id,
        code=f"B-{dossier_id}",
        definition_id=definition_id,
        unit_code=commune,
        applicant_name="x",
        applicant={},
        channel=channel,
        status=9 if completed else 4,
        run_state="completed" if completed else "running",
        received_at=received,
        appointment_at=appointment,
        original_appointment_at=appointment,
        completed_at=done if completed else None,
        classification=verdict,
        margin_minutes=0 if verdict else None,
        state="{}",
        state_format="bench",
        created_at=received,
        updated_at=received,
        version=1,
    )


def _step_rows(rng: random.Random, dossier: dict, steps: list[str]) -> list[dict]:
    """Two completed steps of a finished dossier, the open first step of an open one."""
    completed = dossier["completed_at"] is not None
    received, commune = dossier["received_at"], dossier["unit_code"]
    end = dossier["completed_at"] or NOW
    rows = []
    for k, step in enumerate(steps[:2] if completed else steps[:1]):
        at = received + (end - received) * (k + 1) / 3
        rows.append(
            dict(
                dossier_id=dossier["id"],
                task_id=str(uuid.UUID(int=rng.getrandbits(128))),
                element_id=step,
                name=step,
                role="chuyen_vien",
                unit_code=commune,
                state="completed" if completed else "open",
                priority=50,
                created_at=received,
                due_at=at + timedelta(hours=rng.uniform(-8, 16)),
                escalation_level=0,
                version=1,
                completed_at=at if completed else None,
                completed_by=f"cb_{commune}_{rng.randrange(3)}" if completed else None,
                classification=rng.choice(("early", "on_time", "on_time", "late")) if completed else None,
                working_minutes=rng.randrange(3000) if completed else None,
            )
        )
    return rows


def dashboard(rt: Runtime, scope: statistics.Scope) -> dict:
    """What the dashboard page and its drill-downs read, through the statistics queries."""
    board = supervision.dashboard(rt, scope, NOW)
    with rt.db.read_session() as s:
        overdue = statistics.dossiers(s, scope, "overdue", NOW)  # the first page of the list, as shown
        log = statistics.escalations(s, scope, limit=100_000)
    return {
        "summary": _plain(board.summary),
        "communes": {r.key: _plain(r.figures) for r in board.communes if r.figures != statistics.Figures()},
        "procedures": {r.key: _plain(r.figures) for r in board.procedures},
        "officers": {
            o.username: (o.steps_done + o.steps_without_deadline, o.step_early, o.step_on_time, o.step_late)
            for o in board.officers
        },
        "overdue": len(overdue),
        "escalations": len(log),
    }


def naive(rt: Runtime, scope: statistics.Scope) -> dict:
    """The same figures by reading every dossier, pause, step and event row and counting in Python."""
    as_of = scope.as_of(NOW)
    with rt.db.read_session() as s:
        keys = dict(s.execute(select(ProcessDefinitionRecord.id, ProcessDefinitionRecord.key)).all())
        rows = s.execute(
            select(
                DossierRecord.id,
                DossierRecord.unit_code,
                DossierRecord.definition_id,
                DossierRecord.received_at,
                DossierRecord.completed_at,
                DossierRecord.appointment_at,
                DossierRecord.classification,
                DossierRecord.channel,
            )
        ).all()
        pauses = s.execute(
            select(
                DossierPauseRecord.dossier_id,
                DossierPauseRecord.kind,
                DossierPauseRecord.started_at,
                DossierPauseRecord.ended_at,
            )
        ).all()
        steps = s.execute(
            select(
                WorkItemRecord.dossier_id,
                WorkItemRecord.state,
                WorkItemRecord.completed_at,
                WorkItemRecord.completed_by,
                WorkItemRecord.classification,
            )
        ).all()
        events = s.execute(select(AuditEventRecord.dossier_id, AuditEventRecord.action, AuditEventRecord.at)).all()
    paused = {
        dossier_id
        for dossier_id, kind, started, ended in pauses
        if kind in statistics.PAUSE_KINDS and started <= as_of and (ended is None or ended > as_of)
    }
    total, communes, procedures = Counter(), defaultdict(Counter), defaultdict(Counter)
    unit_of = {}
    for dossier_id, unit, definition, received, completed, appointment, verdict, channel in rows:
        unit_of[dossier_id] = unit
        if unit not in scope.units:
            continue
        counted = []
        if received < scope.start and (completed is None or completed >= scope.start):
            counted.append("carried_over")
        if scope.start <= received < scope.end:
            counted += ["received", f"received_{channel}"]
        if received < scope.end and (completed is None or completed >= scope.end):
            if dossier_id in paused:
                counted.append("paused")
            else:
                counted.append("overdue" if appointment is not None and appointment < as_of else "not_due")
        if completed is not None and scope.start <= completed < scope.end:
            counted.append(verdict or "withdrawn_stopped")
        for name in counted:
            total[name] += 1
            communes[unit][name] += 1
            procedures[keys[definition]][name] += 1
    officers = defaultdict(lambda: [0, 0, 0, 0])
    for dossier_id, state, completed, who, verdict in steps:
        if state == "completed" and who and unit_of[dossier_id] in scope.units and scope.start <= completed < scope.end:
            officers[who][0] += 1
            if verdict:
                officers[who][1 + ("early", "on_time", "late").index(verdict)] += 1
    log = sum(
        1
        for dossier_id, action, at in events
        if action in statistics.SLA_ACTIONS and unit_of[dossier_id] in scope.units and scope.start <= at < scope.end
    )
    return {
        "summary": _plain(_figures(total)),
        "communes": {u: _plain(_figures(c)) for u, c in communes.items() if sum(c.values())},
        "procedures": {k: _plain(_figures(c)) for k, c in procedures.items() if sum(c.values())},
        "officers": {who: tuple(v) for who, v in officers.items()},
        "overdue": min(500, total["overdue"]),
        "escalations": log,
    }


def _figures(counts: Counter) -> statistics.Figures:
    return statistics.Figures(**{name: counts[name] for name in figures.COUNTED})


def _plain(found: statistics.Figures) -> tuple:
    return tuple(found.value(name) for name in figures.COUNTED)


def timed(fn, *args, repeat: int = 3):
    best, result = None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(*args)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/dashboard.sqlite3")
        migrate.upgrade(db.engine)
        rt = Runtime(db=db, clock=FrozenClock(NOW))
        t0 = time.perf_counter()
        communes = fill(rt, random.Random(7))
        load_s = time.perf_counter() - t0
        with db.engine.connect() as conn:  # what a live table's statistics would be
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        scope = statistics.Scope(frozenset(communes), *MONTH)
        sql_s, by_sql = timed(dashboard, rt, scope)
        naive_s, by_python = timed(naive, rt, scope)
        assert by_sql == by_python, "the SQL and the Python counts disagree"
        month = statistics.Figures(*by_sql["summary"])
        assert month.balances, "carried over + received must equal done + withdrawn/stopped + in progress + paused"
        one_commune = scope.narrowed(unit=communes[0])
        commune_s, _ = timed(dashboard, rt, one_commune)
        # The first projection builds each commune's working calendar (the runtime keeps them after).
        cold_s, _ = timed(supervision.at_risk, rt, scope, NOW, repeat=1)
        risk_s, risks = timed(supervision.at_risk, rt, scope, NOW, repeat=2)
        with db.read_session() as s:
            open_count = len(statistics.open_dossiers(s, scope, NOW))
        db.dispose()
    result = {
        "benchmark": "dashboard",
        "dossiers": DOSSIERS,
        "load_s": round(load_s, 1),
        "month": {
            "received": month.received,
            "done": month.done,
            "overdue": month.overdue,
            "carried_over": month.carried_over,
            "escalations": by_sql["escalations"],
        },
        "dashboard_ms": round(sql_s * 1000, 1),
        "one_commune_ms": round(commune_s * 1000, 1),
        "naive_python_ms": round(naive_s * 1000, 1),
        "ratio_vs_naive": round(naive_s / sql_s, 1),
        "at_risk_ms": round(risk_s * 1000, 1),
        "at_risk_cold_ms": round(cold_s * 1000, 1),
        "open_with_appointment_ahead": open_count,
        "at_risk": len(risks),
    }
    print(
        f"{DOSSIERS} dossiers (loaded in {load_s:.1f} s): dashboard queries {sql_s * 1000:.1f} ms "
        f"(one commune {commune_s * 1000:.1f} ms), naive Python aggregation {naive_s * 1000:.1f} ms: "
        f"{naive_s / sql_s:.1f}x; at-risk projection over {open_count} open dossiers "
        f"{risk_s * 1000:.1f} ms ({len(risks)} at risk; {cold_s * 1000:.0f} ms with the calendars still to build)"
    )
    print(json.dumps(result))


# -- PostgreSQL at a province's scale -------------------------------------------------------------------

PG_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=VN)  # a Monday morning
PG_PERIODS = {
    "month": (datetime(2026, 11, 1, tzinfo=VN), datetime(2026, 12, 1, tzinfo=VN)),
    "year": (datetime(2026, 1, 1, tzinfo=VN), datetime(2027, 1, 1, tzinfo=VN)),
    "last_month": (datetime(2026, 10, 1, tzinfo=VN), datetime(2026, 11, 1, tzinfo=VN)),
}
PER_DAY = 5000  # Hanoi's dossiers a day (issue 14)
MIN_SPAN_DAYS = 400  # small sizes spread thinner, so that a year and last month both have history

# One statement: every dossier's figures drawn from its own random numbers. A working minute is about
# 4.2 wall-clock minutes (168 hours a week against 40 working hours); 0.5% are still open after
# their time (stuck for good), 3% of those closed were withdrawn, stopped or refused; 5% of the open
# ones wait for a supplement.
DOSSIERS_SQL = """
INSERT INTO dossier (id, code, definition_id, unit_code, applicant_name, applicant, channel, status, run_state,
                     received_at, appointment_at, original_appointment_at, completed_at, classification,
                     margin_minutes, state, state_format, created_at, updated_at, version)
SELECT g, 'B-' || g, definition_id, unit_code, 'x', '{}'::json, channel,
       CASE WHEN completed THEN 9 WHEN r_pause < 0.05 THEN 5 ELSE 4 END,
       CASE WHEN completed THEN 'completed' ELSE 'running' END,
       received, appointment, appointment, CASE WHEN completed THEN done END,
       CASE WHEN completed AND r_verdict > 0.03 THEN
            CASE WHEN done > appointment THEN 'late'
                 WHEN CAST(done AT TIME ZONE 'Asia/Ho_Chi_Minh' AS DATE)
                      = CAST(appointment AT TIME ZONE 'Asia/Ho_Chi_Minh' AS DATE) THEN 'on_time'
                 ELSE 'early' END END,
       CASE WHEN completed AND r_verdict > 0.03 THEN 0 END, '{}', 'bench', received, received, 1
FROM (
    SELECT *, done < :now AND r_done < 0.995 AS completed
    FROM (
        SELECT g, definition_id, unit_code, channel, r_done, r_verdict, r_pause, received,
               received + legal * 4.2 * (0.95 + 0.1 * r_appointment) * interval '1 minute' AS appointment,
               received + legal * 4.2 * (0.3 + r_work) * interval '1 minute' AS done
        FROM (
            SELECT g, (CAST(:definitions AS integer[]))[1 + g % :n_definitions] AS definition_id,
                   (CAST(:legal AS integer[]))[1 + g % :n_definitions] AS legal,
                   (CAST(:communes AS text[]))[1 + floor(random() * :n_communes)::int] AS unit_code,
                   CASE WHEN random() < 0.83 THEN 'counter' WHEN random() < 0.82 THEN 'online' ELSE 'post' END
                       AS channel,
                   :now - random() * :span_minutes * interval '1 minute' AS received,
                   random() AS r_appointment, random() AS r_work, random() AS r_done, random() AS r_verdict,
                   random() AS r_pause
            FROM generate_series(1, :n) AS g
        ) AS drawn
    ) AS timed
) AS decided
"""
PAUSES_SQL = """
INSERT INTO dossier_pause (dossier_id, kind, started_at, ended_at)
SELECT id, 'supplement_requested', received_at, NULL FROM dossier WHERE status = 5
UNION ALL
SELECT id, 'supplement_requested', received_at + (completed_at - received_at) * 0.2,
       received_at + (completed_at - received_at) * 0.5 FROM dossier WHERE completed_at IS NOT NULL AND id % 20 = 0
"""
# The open step of each open dossier (the at-risk projection's input), and the step that counted
# for an officer of each closed one (the officers' table).
STEPS_SQL = """
INSERT INTO work_item (dossier_id, task_id, element_id, name, role, unit_code, assignee, state, priority,
                       created_at, due_at, completed_at, completed_by, classification, working_minutes,
                       escalation_level, version)
SELECT d.id, 'b-' || d.id, s.element_id, s.element_id, 'chuyen_vien', d.unit_code,
       CASE WHEN d.completed_at IS NOT NULL THEN 'cb_' || d.unit_code || '_' || d.id % 3 END,
       CASE WHEN d.completed_at IS NULL THEN 'open' ELSE 'completed' END, 50, d.received_at,
       d.received_at + (d.appointment_at - d.received_at) * 0.4,
       d.received_at + (d.completed_at - d.received_at) * 0.5,
       CASE WHEN d.completed_at IS NOT NULL THEN 'cb_' || d.unit_code || '_' || d.id % 3 END,
       CASE WHEN d.completed_at IS NOT NULL THEN (ARRAY['early', 'on_time', 'on_time', 'late'])[1 + d.id % 4] END,
       CASE WHEN d.completed_at IS NOT NULL THEN (d.id * 37) % 3000 END,
       0, 1
FROM dossier d JOIN bench_first_step s ON s.definition_id = d.definition_id
"""

# One applicant in ten rates the service a few hours after the result (the KPI page's satisfaction
# column reads these with the steps of the rated dossiers).
RATINGS_SQL = """
INSERT INTO satisfaction (dossier_id, unit_code, procedure_code, definition_id, time_score, attitude_score,
                          information_score, result_score, rated_at)
SELECT id, unit_code, procedure_code, definition_id, id % 3, (id / 3) % 3, (id / 9) % 3, 1 + id % 2,
       completed_at + (id % 48) * interval '1 hour'
FROM dossier WHERE completed_at IS NOT NULL AND id % 10 = 0 AND completed_at + (id % 48) * interval '1 hour' < :now
"""


def pg_fill(rt: Runtime, n: int) -> list[str]:
    from sqlalchemy import text

    communes = hanoi_with_library(rt)
    with rt.db.read_session() as s:
        definitions = [
            (d.id, d.legal_limit_minutes or 2400, list(rt.bundle_for(s, d).policy.steps)[0])
            for d in s.scalars(select(ProcessDefinitionRecord))
        ]
    with rt.db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_first_step (definition_id integer, element_id text)"))
        conn.execute(
            text("INSERT INTO bench_first_step VALUES (:d, :e)"), [{"d": d, "e": e} for d, _, e in definitions]
        )
        conn.execute(
            text(DOSSIERS_SQL),
            {
                "now": PG_NOW,
                "n": n,
                "span_minutes": max(n / PER_DAY, MIN_SPAN_DAYS) * 24 * 60,
                "definitions": [d for d, _, _ in definitions],
                "legal": [legal for _, legal, _ in definitions],
                "n_definitions": len(definitions),
                "communes": communes,
                "n_communes": len(communes),
            },
        )
        conn.execute(text(PAUSES_SQL))
        conn.execute(text(STEPS_SQL))
        conn.execute(text(RATINGS_SQL), {"now": PG_NOW})
        conn.execute(text("DROP TABLE bench_first_step"))
        satisfaction_rollups.rebuild(conn)
        # Every open dossier's apology forecast is due, as after a change (the worker's sweep below).
        conn.execute(
            text(
                "UPDATE dossier SET apology_check_at = received_at "
                "WHERE completed_at IS NULL AND appointment_at IS NOT NULL"
            )
        )
        conn.execute(text("SELECT setval(pg_get_serial_sequence('dossier', 'id'), :n)"), {"n": n})
        rollups.rebuild(conn)
        open_stock.rebuild(conn)
        officer_rollups.rebuild(conn)
    with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    forecast_as_the_worker(rt, communes)
    with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE dossier"))
    return communes


def _flag_value(flag: str) -> str | None:
    """The word after `flag` on the command line, if given."""
    if flag not in sys.argv:
        return None
    at = sys.argv.index(flag) + 1
    if at >= len(sys.argv) or sys.argv[at].startswith("--"):
        raise SystemExit(f"{flag} needs a database name")
    return sys.argv[at]


def _mark_filled(db: Database, n: int) -> None:
    """Note in the kept database how many dossiers it was filled with (a run that died mid-fill leaves none)."""
    from sqlalchemy import text

    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_filled (dossiers integer)"))
        conn.execute(text("INSERT INTO bench_filled VALUES (:n)"), {"n": n})


def reuse(rt: Runtime, n: int) -> list[str]:
    """A database kept by an earlier run (`--keep NAME`): checked to hold a finished fill of this
    size; its rollups recounted with `--rebuild` (after a change to what they keep)."""
    from sqlalchemy import text

    with rt.db.engine.connect() as conn:
        try:
            filled = conn.execute(text("SELECT dossiers FROM bench_filled")).scalar_one()
        except Exception as error:
            raise SystemExit("the kept database's fill did not finish: drop it and run again") from error
    if filled != n:
        raise SystemExit(f"the kept database holds {filled:,} dossiers, not {n:,}: set BENCH_DOSSIERS or drop it")
    if "--rebuild" in sys.argv:
        with rt.db.engine.begin() as conn:
            rollups.rebuild(conn)
            open_stock.rebuild(conn)
            officer_rollups.rebuild(conn)
            satisfaction_rollups.rebuild(conn)
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    with rt.db.engine.begin() as conn:  # a database filled before the fill rated any dossier
        rated = conn.execute(text("SELECT EXISTS (SELECT 1 FROM satisfaction)")).scalar_one()
        if not rated:
            conn.execute(text(RATINGS_SQL), {"now": PG_NOW})
            satisfaction_rollups.rebuild(conn)
    communes = [u.code for u in units_of_province("ha_noi") if u.kind == "commune"]
    if forecast_as_the_worker(rt, communes):  # a migration made their forecasts due
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE dossier"))
    if not rated:
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE satisfaction"))
            conn.execute(text("VACUUM ANALYZE satisfaction_rollup"))
    return communes


def forecast_as_the_worker(rt: Runtime, communes: list[str]) -> int:
    """What a running worker's SLA sweep has stored by now for the open dossiers with their
    appointment ahead (the at-risk list's): each one's forecast, by the sweep's own rule (kept
    when it misses, until when it fits otherwise). The sweep itself also asks for each apology
    letter, one dossier a savepoint (about 10 a second here: hours for a province's open stock),
    which the list does not read. Returns how many were forecast."""
    from engine.services.forecasts import Forecaster
    from engine.store import repositories

    province = statistics.Scope(frozenset(communes), *PG_PERIODS["month"])
    with rt.db.session() as s:
        due = [d for d in statistics.at_risk_candidates(s, province, PG_NOW) if d.missed_forecast is None]
        forecaster = Forecaster(rt, s)
        for dossier in due:
            if forecaster.paused(dossier):
                repositories.record_forecast(s, dossier.id, check_at=None)
                continue
            outlook = forecaster.of(dossier, PG_NOW)
            if outlook.misses:
                missed = {**outlook.as_detail(), "made_at": PG_NOW.isoformat()}
                repositories.record_forecast(s, dossier.id, check_at=None, missed=missed)
            else:
                fits_until = max(outlook.next_check_at, PG_NOW + sla.RECHECK_AFTER) if outlook.next_check_at else None
                repositories.record_forecast(s, dossier.id, check_at=fits_until)
    return len(due)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000, ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


def sampled(fn, rounds: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def pg_main(quick: bool) -> None:
    import uuid as uuid_module

    from sqlalchemy import create_engine
    from sqlalchemy import text

    n = int(os.environ.get("BENCH_DOSSIERS") or (50_000 if quick else 5_000_000))
    rounds = 5 if quick else 20
    server = (
        os.environ.get("MOTCUA_BENCH_POSTGRES_URL")
        or os.environ.get("MOTCUA_TEST_POSTGRES_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    kept = _flag_value("--keep")
    name = kept or f"motcua_dashboard_{uuid_module.uuid4().hex[:8]}"
    with admin.connect() as conn:
        reused = bool(kept) and conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not reused:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        db = Database(url)
        migrate.upgrade(db.engine)
        rt = Runtime(db=db, clock=FrozenClock(PG_NOW))
        t0 = time.perf_counter()
        if reused:
            communes = reuse(rt, n)
        else:
            communes = pg_fill(rt, n)
            _mark_filled(db, n)
        load_s = time.perf_counter() - t0
        pages = Pages(url, rt)
        result = {
            "benchmark": "dashboard",
            "database": "postgresql",
            "dossiers": n,
            "load_s": round(load_s, 1),
            "rounds": rounds,
            "periods": {},
        }
        for period, (start, end) in PG_PERIODS.items():
            scope = statistics.Scope(frozenset(communes), start, end)
            result["periods"][period] = pg_period(rt, scope, rounds, pages)
        province = statistics.Scope(frozenset(communes), *PG_PERIODS["month"])
        supervision.at_risk(rt, province, PG_NOW)  # builds each commune's calendar once, as a server would
        shown = lambda: supervision.at_risk(rt, province, PG_NOW, limit=AT_RISK_SHOWN + 1)  # noqa: E731
        risk_times, risks = sampled(shown, rounds)
        pages.get(pages.at_risk(province))  # its templates compiled once, as a server would
        risk_page_times, _ = sampled(lambda: pages.get(pages.at_risk(province)), rounds)
        # The whole list, as the page read it before it was bounded: what the bound saves.
        whole_risk_times, whole_risks = sampled(lambda: supervision.at_risk(rt, province, PG_NOW), 2)
        assert [r.dossier.id for r in risks] == [r.dossier.id for r in whole_risks[: len(risks)]]
        # The at-risk list's next page, from the last one the first showed (keyset, along the index).
        last = risks[min(len(risks), AT_RISK_SHOWN) - 1].dossier if risks else None
        next_risks = lambda: supervision.at_risk(  # noqa: E731
            rt, province, PG_NOW, limit=AT_RISK_SHOWN + 1, after=(last.appointment_at, last.id) if last else None
        )
        risk_next_times, _ = sampled(next_risks, rounds)
        with db.report_session() as s:
            open_ahead = len(statistics.open_dossiers(s, province, PG_NOW))
            listed = statistics.at_risk_candidates(s, province, PG_NOW)
            candidates, due = len(listed), sum(1 for dossier in listed if dossier.missed_forecast is None)
        overdue_times, first_page = sampled(lambda: overdue_page(rt, province), rounds)
        after = (first_page[-1].appointment_at, first_page[-1].id) if first_page else None
        overdue_next_times, next_page = sampled(lambda: overdue_page(rt, province, after), rounds)
        assert not {line.id for line in first_page} & {line.id for line in next_page}
        overdue_page_times, _ = sampled(lambda: pages.get(pages.overdue(province)), rounds)
        result["overdue_explain"] = pages.explain_slowest(lambda: overdue_page(rt, province))
        result["at_risk_explain"] = pages.explain_slowest(lambda: supervision.at_risk(rt, province, PG_NOW, limit=201))
        db.dispose()
    finally:
        if not kept:
            admin_conn = admin.connect()
            admin_conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin_conn.close()
        admin.dispose()
    periods = result["periods"]
    result["dashboard_p95_ms"] = round(max(periods[p]["page_p95_ms"] for p in ("month", "year")), 1)
    result["exports_p95_ms"] = round(
        max(periods[p][f"export_{kind}_p95_ms"] for p in ("month", "year") for kind in ("csv", "xlsx")), 1
    )
    result["ratio_vs_direct_sql"] = round(min(periods[p]["ratio_vs_direct_sql"] for p in ("month", "year")), 1)
    result["kpi_p95_ms"] = round(max(periods[p]["kpi_p95_ms"] for p in ("month", "year")), 1)
    result["at_risk_p50_ms"], result["at_risk_p95_ms"] = (round(v, 1) for v in percentiles(risk_times))
    result["at_risk_page_p95_ms"] = round(percentiles(risk_page_times)[1], 1)
    result["at_risk_whole_list_ms"] = round(min(whole_risk_times) * 1000, 1)
    result["ratio_at_risk_whole_vs_shown"] = round(min(whole_risk_times) * 1000 / result["at_risk_p95_ms"], 1)
    result["at_risk_shown"], result["at_risk"], result["open_with_appointment_ahead"] = (
        min(len(risks), AT_RISK_SHOWN),
        len(whole_risks),
        open_ahead,
    )
    result["at_risk_candidates"], result["at_risk_projected"] = candidates, due
    result["overdue_list_p95_ms"] = round(percentiles(overdue_times)[1], 1)
    result["overdue_next_page_p95_ms"] = round(percentiles(overdue_next_times)[1], 1)
    result["overdue_page_p95_ms"] = round(percentiles(overdue_page_times)[1], 1)
    result["at_risk_next_page_p95_ms"] = round(percentiles(risk_next_times)[1], 1)
    print(
        f"{n:,} dossiers on PostgreSQL (generated and rolled up in {load_s:.0f} s); 2-core machine shared with "
        f"other runs, so single figures are noisy: compare the ratios"
    )
    for period, found in periods.items():
        parts = ", ".join(f"{part} {ms:.0f}" for part, ms in found["parts_p95_ms"].items())
        print(
            f"  {period:10} whole page p95 {found['page_p95_ms']:7.1f} ms (parts p95, ms: {parts}); exports p95 CSV "
            f"{found['export_csv_p95_ms']:.0f} ms (first byte {found['export_csv_first_byte_p95_ms']:.0f} ms), "
            f"XLSX {found['export_xlsx_p95_ms']:.0f} ms"
        )
        print(
            f"  {period:10} dashboard p50 {found['dashboard_p50_ms']:7.1f} ms  p95 {found['dashboard_p95_ms']:7.1f} ms"
            f"  (tables alone p95 {found['tables_p95_ms']:6.1f} ms; their open stock ({found['open_dossiers']:,} open)"
            f" p95 {found['open_stock_p95_ms']:.1f} ms, {found['open_from_dossiers_p95_ms']:.1f} ms read from the"
            f" open dossiers; officers p95 {found['officers_p95_ms']:6.1f} ms,"
            f" counted from the steps {found['officers_direct_ms']:6.1f} ms)"
            f"  officers' KPI page p95 {found['kpi_p95_ms']:6.1f} ms ({found['kpi_officers']} officers;"
            f" one procedure {found['kpi_one_procedure_p95_ms']:6.1f} ms, {found['kpi_one_procedure_vs_all']:.2f}x)"
            f"  direct SQL count of the tables {found['direct_sql_ms']:8.1f} ms: {found['ratio_vs_direct_sql']:.1f}x"
        )
    print(
        f"  at-risk list over {open_ahead:,} open dossiers with their appointment ahead: the {AT_RISK_SHOWN} shown p50 "
        f"{result['at_risk_p50_ms']:.0f} ms, p95 {result['at_risk_p95_ms']:.0f} ms (the page p95 "
        f"{result['at_risk_page_p95_ms']:.0f} ms); the whole list {result['at_risk_whole_list_ms']:.0f} ms "
        f"({len(whole_risks):,} at risk of {candidates:,} candidates, {due:,} of them projected in the request, the "
        f"others read from the worker's stored forecast; the rest fit until later by it); its next page p95 "
        f"{result['at_risk_next_page_p95_ms']:.0f} ms"
    )
    print(
        f"  overdue drill-down: first 500 p95 {result['overdue_list_p95_ms']:.0f} ms, the next 500 "
        f"{result['overdue_next_page_p95_ms']:.0f} ms, the page p95 {result['overdue_page_p95_ms']:.0f} ms"
    )
    print(json.dumps(result))


def pg_period(rt: Runtime, scope: statistics.Scope, rounds: int, pages: Pages) -> dict:
    """One period's whole page over HTTP, each part of it and the exports, p50/p95 over `rounds`
    requests, with the plans of the slowest statements; the dashboard's tables against the direct
    count (once: it is the slow one), checked equal."""
    page = pages.dashboard(scope)
    pages.get(page)  # its templates compiled once, as a server would
    page_times, _ = sampled(lambda: pages.get(page), rounds)
    parts = {name: percentiles(sampled(part, rounds)[0])[1] for name, part in page_parts(rt, scope).items()}
    exports = {}
    for kind in ("csv", "xlsx"):
        first_bytes, wholes = [], []
        for _ in range(rounds):
            first_byte, whole = pages.first_byte_and_whole(pages.export(scope, kind))
            first_bytes.append(first_byte)
            wholes.append(whole)
        exports[f"export_{kind}_p95_ms"] = round(percentiles(wholes)[1], 1)
        exports[f"export_{kind}_first_byte_p95_ms"] = round(percentiles(first_bytes)[1], 1)
    board_times, board = sampled(lambda: supervision.dashboard(rt, scope, PG_NOW), rounds)

    def tables_only():
        with rt.db.report_session() as s:
            return statistics.tables(s, scope, PG_NOW)

    def officers_only():
        with rt.db.report_session() as s:
            return statistics.by_officer(s, scope)

    def kpis_only():
        return supervision.officer_kpis(rt, scope)

    table_times, rolled = sampled(tables_only, rounds)
    stock_times, stock = sampled(lambda: open_stock_read(rt, scope), rounds)
    from_dossiers_times, from_dossiers = sampled(lambda: open_from_dossiers(rt, scope), rounds)
    assert stock == from_dossiers, "the open stock and the open dossiers disagree"
    officer_times, officers = sampled(officers_only, max(3, rounds // 4))
    kpi_times, kpis = sampled(kpis_only, rounds)
    with rt.db.report_session() as s:
        t0 = time.perf_counter()
        officers_recounted = statistics.by_officer(s, scope, recount=True)
        officers_direct_s = time.perf_counter() - t0
    assert officers == officers_recounted, "the officers' rollups and the recount disagree"
    assert sum(r.steps_done for r in kpis.officers) == sum(r.steps_done for r in officers)
    with rt.db.report_session() as s:
        t0 = time.perf_counter()
        recounted = statistics.tables(s, scope, PG_NOW, recount=True)
        direct_s = time.perf_counter() - t0
    assert rolled.summary == recounted.summary == board.summary, "the rollups and the recount disagree"
    assert [(r.key, r.figures) for r in rolled.communes] == [(r.key, r.figures) for r in recounted.communes]
    assert rolled.summary.balances
    # One procedure's KPIs (the busiest), from its own daily rows.
    busiest = max(rolled.procedures, key=lambda r: r.figures.received).key
    one_times, one = sampled(
        lambda: supervision.officer_kpis(rt, replace(scope, procedure=busiest)), max(3, rounds // 4)
    )
    assert 0 < sum(r.steps_done for r in one.officers) <= sum(r.steps_done for r in kpis.officers)
    satisfaction_direct_s = satisfaction_as_read_from_the_ratings(rt, scope, kpis)
    p50, p95 = percentiles(board_times)
    return {
        "page_p50_ms": round(percentiles(page_times)[0], 1),
        "page_p95_ms": round(percentiles(page_times)[1], 1),
        "parts_p95_ms": {name: round(ms, 1) for name, ms in parts.items()},
        **exports,
        "explain": pages.explain_slowest(lambda: pages.get(page)),
        "dashboard_p50_ms": round(p50, 1),
        "dashboard_p95_ms": round(p95, 1),
        "tables_p95_ms": round(percentiles(table_times)[1], 1),
        "open_stock_p95_ms": round(percentiles(stock_times)[1], 1),
        "open_from_dossiers_p95_ms": round(percentiles(from_dossiers_times)[1], 1),
        "open_dossiers": stock[0],
        "officers_p95_ms": round(percentiles(officer_times)[1], 1),
        "officers_direct_ms": round(officers_direct_s * 1000, 1),
        "kpi_p50_ms": round(percentiles(kpi_times)[0], 1),
        "kpi_p95_ms": round(percentiles(kpi_times)[1], 1),
        "kpi_officers": len(kpis.officers),
        "kpi_one_procedure_p95_ms": round(percentiles(one_times)[1], 1),
        "kpi_one_procedure_vs_all": round(percentiles(one_times)[1] / percentiles(kpi_times)[1], 2),
        # What the satisfaction rollup replaces: each rating in the period read with its steps.
        "kpi_satisfaction_from_ratings_ms": round(satisfaction_direct_s * 1000, 1),
        # What the rollups replace: the tables' count over the dossiers.
        "direct_sql_ms": round(direct_s * 1000, 1),
        "ratio_vs_direct_sql": round(direct_s * 1000 / percentiles(table_times)[1], 1),
        "received": rolled.summary.received,
        "done": rolled.summary.done,
        "overdue": rolled.summary.overdue,
        "carried_over": rolled.summary.carried_over,
    }


def satisfaction_as_read_from_the_ratings(rt: Runtime, scope: statistics.Scope, kpis) -> float:
    """Seconds to read the officers' satisfaction from the period's ratings and their steps (the KPI
    page's way before its daily rows), checked equal to what the page showed from the rows."""
    with rt.db.report_session() as s:
        t0 = time.perf_counter()
        rated = satisfaction_queries.by_officer(s, scope)
        elapsed = time.perf_counter() - t0
    means = {row.key: round(sum(row.mean.values()) / len(row.mean), 2) for row in rated if row.ratings}
    shown = {row.key: row.satisfaction for row in kpis.officers}
    assert shown == {key: means.get(key) for key in shown}, "the satisfaction rollup and the ratings disagree"
    assert any(value is not None for value in shown.values())
    return elapsed


def open_stock_read(rt: Runtime, scope: statistics.Scope) -> tuple[int, int]:
    """The open dossiers and those waiting for the applicant now, from the open stock's rows (what
    the tables read for a running period, with the overdue ones by appointment day)."""
    from sqlalchemy import func as sql

    from engine.store.records import OpenStockRecord as o

    with rt.db.report_session() as s:
        query = select(sql.sum(o.dossiers), sql.sum(o.dossiers * o.paused)).where(o.unit_code.in_(sorted(scope.units)))
        opened, waiting = s.execute(query).one()
    return int(opened or 0), int(waiting or 0)


def open_from_dossiers(rt: Runtime, scope: statistics.Scope) -> tuple[int, int]:
    """The same two counts read from the open dossiers through their partial index and the pauses
    going on now: how the tables read the open stock before it was kept."""
    from sqlalchemy import and_
    from sqlalchemy import case
    from sqlalchemy import func as sql
    from sqlalchemy import or_

    d, p = DossierRecord, DossierPauseRecord
    as_of = PG_NOW  # the open stock is today's, whatever the period
    paused = d.id.in_(
        select(p.dossier_id)
        .where(p.kind.in_(statistics.PAUSE_KINDS), p.started_at <= as_of, or_(p.ended_at.is_(None), p.ended_at > as_of))
        .scalar_subquery()
    )
    passed = and_(d.appointment_at.is_not(None), d.appointment_at < as_of)
    query = (
        select(
            d.unit_code,
            d.definition_id,
            sql.count(),
            sql.sum(case((paused, 1), else_=0)),
            sql.sum(case((and_(~paused, passed), 1), else_=0)),
            sql.sum(case((and_(d.received_at < as_of, passed), 1), else_=0)),
        )
        .where(d.completed_at.is_(None), d.unit_code.in_(sorted(scope.units)))
        .group_by(d.unit_code, d.definition_id)
    )
    with rt.db.report_session() as s:
        rows = s.execute(query).all()
    return sum(r[2] for r in rows), sum(int(r[3]) for r in rows)


AT_RISK_SHOWN = 200  # web.supervise.views.AT_RISK_SHOWN
DOSSIERS_SHOWN = 500  # web.supervise.views.DOSSIERS_SHOWN


def overdue_page(rt: Runtime, scope: statistics.Scope, after=None) -> list:
    """One page of the overdue drill-down, as its page reads it."""
    with rt.db.report_session() as s:
        return statistics.dossiers(s, scope, "overdue", PG_NOW, limit=DOSSIERS_SHOWN + 1, after=after)[:DOSSIERS_SHOWN]


def page_parts(rt: Runtime, scope: statistics.Scope) -> dict:
    """What the dashboard page reads (web.supervise.views.dashboard), one part at a time."""

    def tables():
        with rt.db.report_session() as s:
            return statistics.tables(s, scope, PG_NOW)

    def officers():
        with rt.db.report_session() as s:
            return statistics.by_officer(s, scope)

    return {
        "filters": lambda: supervision.filter_options(rt, scope.units),
        "tables": tables,
        "officers": officers,
        "trend": lambda: supervision.trend(rt, scope),
        "incidents": lambda: incidents.open_count(rt, scope.units),
    }


class Pages:
    """The product's web app on the benchmark's database, signed in as the province's supervisor
    (a Flask test client: the whole request, templates included, without a socket)."""

    def __init__(self, url: str, rt: Runtime):
        from werkzeug.security import generate_password_hash

        from web.app import create_app

        with rt.db.session() as s:
            if s.get(UserRecord, "bench_giam_sat") is None:
                s.add(
                    UserRecord(
                        username="bench_giam_sat",
                        full_name="Giám sát",
                        unit_code="01",
                        roles="supervisor",
                        password_hash=generate_password_hash("bench-2026"),
                    )
                )
        self.rt = rt
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MOTCUA_CLOCK": rt.clock, "SECRET_KEY": "bench"})
        # As a served worker does once booted (web/wsgi.py): its heap left out of the collector's walks.
        gc.collect()
        gc.freeze()
        self.client = app.test_client()
        login = self.client.get("/dang-nhap").get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', login).group(1)
        answer = self.client.post(
            "/dang-nhap", data={"username": "bench_giam_sat", "password": "bench-2026", "csrf_token": token}
        )
        assert answer.status_code == 302, "the benchmark's supervisor could not sign in"

    @staticmethod
    def _dates(scope: statistics.Scope) -> str:
        last = scope.end.astimezone(VN).date() - timedelta(days=1)
        return f"tu={scope.start.astimezone(VN).date().isoformat()}&den={last.isoformat()}"

    def dashboard(self, scope: statistics.Scope) -> str:
        return f"/giam-sat/?{self._dates(scope)}"

    def export(self, scope: statistics.Scope, kind: str) -> str:
        return f"/giam-sat/bao-cao.{kind}?{self._dates(scope)}"

    def overdue(self, scope: statistics.Scope) -> str:
        return f"/giam-sat/ho-so?nhom=overdue&{self._dates(scope)}"

    def at_risk(self, scope: statistics.Scope) -> str:
        return f"/giam-sat/nguy-co?{self._dates(scope)}"

    def get(self, path: str) -> bytes:
        answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer.get_data()

    def first_byte_and_whole(self, path: str) -> tuple[float, float]:
        """Seconds to the answer's first chunk of body, and to its last."""
        t0 = time.perf_counter()
        answer = self.client.get(path, buffered=False)
        assert answer.status_code == 200, (path, answer.status_code)
        chunks = iter(answer.response)
        next(chunks, b"")
        first = time.perf_counter() - t0
        for _ in chunks:
            pass
        answer.close()
        return first, time.perf_counter() - t0

    def explain_slowest(self, fn, count: int = 2) -> list[dict]:
        """The `count` slowest statements `fn` runs, with PostgreSQL's plan of each (EXPLAIN ANALYZE)."""
        from sqlalchemy import event

        from web.wiring import runtime

        seen: list[tuple[float, str, object]] = []
        started: dict[int, float] = {}
        engines = {self.rt.db.engine, self.rt.db.read_engine, self.rt.db.report_engine}

        def before(conn, cursor, statement, parameters, context, executemany):
            started[id(cursor)] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            seen.append((time.perf_counter() - started.pop(id(cursor), time.perf_counter()), statement, parameters))

        with self.client.application.app_context():  # the app's own engines, as its requests use them
            served = runtime().db
            engines |= {served.engine, served.read_engine, served.report_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "after_cursor_execute", after)
        try:
            fn()
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", before)
                event.remove(engine, "after_cursor_execute", after)
        plans = []
        for elapsed, statement, parameters in sorted(seen, key=lambda row: -row[0])[:count]:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            with self.rt.db.engine.connect() as conn:
                raw = conn.connection.dbapi_connection.cursor()
                raw.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters)
                plan = [row[0] for row in raw.fetchall()]
            plans.append({"ms": round(elapsed * 1000, 1), "sql": " ".join(statement.split())[:300], "plan": plan[:14]})
        return plans


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv):  # the options are read by hand: without this, a 5M fill began
        print(__doc__)
    elif "--sqlite" in sys.argv:
        main()
    else:
        pg_main(quick="--quick" in sys.argv)
