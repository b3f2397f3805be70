"""Supervisor dashboard cost: 100,000 dossiers of the 16 library procedures across Hanoi's 126
communes over six months (completed ones with their classification and two completed steps,
open ones with an open step, some waiting for a supplement; SLA events on some), on SQLite.
The dashboard's queries for one month (summary, per commune, per procedure, per officer, the
overdue list, the escalation log) against a naive aggregation in Python by the same definitions
(engine.domain.figures) over the same rows read whole, measured in the same run and checked to
give the same numbers and to add up; and the at-risk projection over the open dossiers.

BENCH_DOSSIERS sets the size (default 100,000). Prints a summary, then one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections import defaultdict
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from zoneinfo import ZoneInfo

# This folder holds calendar.py, which would shadow the standard library: put the project there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402

from configurator import library  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.domain import figures  # noqa: E402
from engine.services import supervision  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store import rollups  # noqa: E402
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
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=VN).astimezone(timezone.utc)  # a Monday morning
MONTH = (datetime(2026, 11, 1, tzinfo=VN), datetime(2026, 12, 1, tzinfo=VN))
BATCH = 20000


def fill(rt: Runtime, rng: random.Random) -> list[str]:
    units = units_of_province("ha_noi")
    communes = [u.code for u in units if u.kind == "commune"]
    with rt.db.session() as s:
        for unit in units:
            s.add(UnitRecord(code=unit.code, name=unit.name, kind=unit.kind, parent_code=unit.parent_code,
                             agency_code=unit.agency_code))
            s.flush()
        for commune in communes:
            for n in range(3):
                s.add(UserRecord(username=f"cb_{commune}_{n}", full_name=f"Cán bộ {n}", unit_code=commune,
                                 roles="chuyen_vien"))
    library.load(rt)
    with rt.db.read_session() as s:
        definitions = [(d.id, d.legal_limit_minutes or 2400, list(rt.bundle_for(s, d).policy.steps))
                       for d in s.scalars(select(ProcessDefinitionRecord))]
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
                events.append(dict(dossier_id=n + 1, at=min(NOW, dossier["received_at"] + timedelta(days=level)),
                                   action=action, actor="system", detail={"level": level}))
    with rt.db.session() as s:
        for rows, table in ((dossiers, DossierRecord), (items, WorkItemRecord), (events, AuditEventRecord),
                            (pauses, DossierPauseRecord)):
            for start in range(0, len(rows), BATCH):
                s.execute(insert(table.__table__), rows[start:start + BATCH])
    with rt.db.engine.begin() as conn:  # the rows went in bulk, around the engine: count them
        rollups.rebuild(conn)
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
    return dict(id=dossier_id, code=f"B-{dossier_id}", definition_id=definition_id, unit_code=commune,
                applicant_name="x", applicant={}, channel=channel, status=9 if completed else 4,
                run_state="completed" if completed else "running", received_at=received,
                appointment_at=appointment, original_appointment_at=appointment,
                completed_at=done if completed else None, classification=verdict,
                margin_minutes=0 if verdict else None, state="{}", state_format="bench",
                created_at=received, updated_at=received, version=1)


def _step_rows(rng: random.Random, dossier: dict, steps: list[str]) -> list[dict]:
    """Two completed steps of a finished dossier, the open first step of an open one."""
    completed = dossier["completed_at"] is not None
    received, commune = dossier["received_at"], dossier["unit_code"]
    end = dossier["completed_at"] or NOW
    rows = []
    for k, step in enumerate(steps[:2] if completed else steps[:1]):
        at = received + (end - received) * (k + 1) / 3
        rows.append(dict(dossier_id=dossier["id"], task_id=str(uuid.UUID(int=rng.getrandbits(128))),
                         element_id=step, name=step, role="chuyen_vien", unit_code=commune,
                         state="completed" if completed else "open", priority=50, created_at=received,
                         due_at=at + timedelta(hours=rng.uniform(-8, 16)), escalation_level=0, version=1,
                         completed_at=at if completed else None,
                         completed_by=f"cb_{commune}_{rng.randrange(3)}" if completed else None,
                         classification=rng.choice(("early", "on_time", "on_time", "late")) if completed else None))
    return rows


def dashboard(rt: Runtime, scope: statistics.Scope) -> dict:
    """What the dashboard page and its drill-downs read, through the statistics queries."""
    board = supervision.dashboard(rt, scope, NOW)
    with rt.db.read_session() as s:
        overdue = statistics.dossiers(s, scope, "overdue", NOW)  # the first page of the list, as shown
        log = statistics.escalations(s, scope, limit=100_000)
    return {"summary": _plain(board.summary),
            "communes": {r.key: _plain(r.figures) for r in board.communes if r.figures != statistics.Figures()},
            "procedures": {r.key: _plain(r.figures) for r in board.procedures},
            "officers": {o.username: (o.steps_done + o.steps_without_deadline, o.step_early, o.step_on_time,
                                      o.step_late) for o in board.officers},
            "overdue": len(overdue), "escalations": len(log)}


def naive(rt: Runtime, scope: statistics.Scope) -> dict:
    """The same figures by reading every dossier, pause, step and event row and counting in Python."""
    as_of = scope.as_of(NOW)
    with rt.db.read_session() as s:
        keys = dict(s.execute(select(ProcessDefinitionRecord.id, ProcessDefinitionRecord.key)).all())
        rows = s.execute(select(DossierRecord.id, DossierRecord.unit_code, DossierRecord.definition_id,
                                DossierRecord.received_at, DossierRecord.completed_at, DossierRecord.appointment_at,
                                DossierRecord.classification, DossierRecord.channel)).all()
        pauses = s.execute(select(DossierPauseRecord.dossier_id, DossierPauseRecord.kind, DossierPauseRecord.started_at,
                                  DossierPauseRecord.ended_at)).all()
        steps = s.execute(select(WorkItemRecord.dossier_id, WorkItemRecord.state, WorkItemRecord.completed_at,
                                 WorkItemRecord.completed_by, WorkItemRecord.classification)).all()
        events = s.execute(select(AuditEventRecord.dossier_id, AuditEventRecord.action, AuditEventRecord.at)).all()
    paused = {dossier_id for dossier_id, kind, started, ended in pauses
              if kind in statistics.PAUSE_KINDS and started <= as_of and (ended is None or ended > as_of)}
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
    log = sum(1 for dossier_id, action, at in events if action in statistics.SLA_ACTIONS
              and unit_of[dossier_id] in scope.units and scope.start <= at < scope.end)
    return {"summary": _plain(_figures(total)), "communes": {u: _plain(_figures(c)) for u, c in communes.items()
                                                              if sum(c.values())},
            "procedures": {k: _plain(_figures(c)) for k, c in procedures.items() if sum(c.values())},
            "officers": {who: tuple(v) for who, v in officers.items()}, "overdue": min(500, total["overdue"]),
            "escalations": log}


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
    result = {"benchmark": "dashboard", "dossiers": DOSSIERS, "load_s": round(load_s, 1),
              "month": {"received": month.received, "done": month.done, "overdue": month.overdue,
                        "carried_over": month.carried_over, "escalations": by_sql["escalations"]},
              "dashboard_ms": round(sql_s * 1000, 1), "one_commune_ms": round(commune_s * 1000, 1),
              "naive_python_ms": round(naive_s * 1000, 1), "ratio_vs_naive": round(naive_s / sql_s, 1),
              "at_risk_ms": round(risk_s * 1000, 1), "at_risk_cold_ms": round(cold_s * 1000, 1),
              "open_with_appointment_ahead": open_count,
              "at_risk": len(risks)}
    print(f"{DOSSIERS} dossiers (loaded in {load_s:.1f} s): dashboard queries {sql_s * 1000:.1f} ms "
          f"(one commune {commune_s * 1000:.1f} ms), naive Python aggregation {naive_s * 1000:.1f} ms: "
          f"{naive_s / sql_s:.1f}x; at-risk projection over {open_count} open dossiers "
          f"{risk_s * 1000:.1f} ms ({len(risks)} at risk; {cold_s * 1000:.0f} ms with the calendars still to build)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
