"""SLA sweep cost: 1,000,000 open work items across 126 communes with realistic due times;
sweeps that find 100, 1,000 and 10,000 due items through the indexed `next_sla_at`, against a
full scan of the open items measured in the same run; SQLite, and PostgreSQL when reachable.

BENCH_ITEMS sets the table size (default 1,000,000). Prints a summary, then one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

# This folder holds calendar.py, which would shadow the standard library: put the project there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import func  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402

from benchmarks import scratch_db  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store import repositories  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.records import DossierRecord  # noqa: E402
from engine.store.records import ProcessDefinitionRecord  # noqa: E402
from engine.store.records import TemplateBlobRecord  # noqa: E402
from engine.store.records import UnitRecord  # noqa: E402
from engine.store.records import WorkItemRecord  # noqa: E402
from engine.units import units_of_province  # noqa: E402

ITEMS = int(os.environ.get("BENCH_ITEMS", "1000000"))
DOSSIERS = max(1, ITEMS // 5)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SWEEPS = (100, 1000, 10000)
BATCH = 20000


def fill(db: Database, rng: random.Random) -> list[datetime]:
    units = units_of_province("ha_noi")
    communes = [u.code for u in units if u.kind == "commune"]
    with db.session() as s:
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
        s.add(TemplateBlobRecord(digest="0" * 64, files={}, created_at=NOW))
        s.flush()
        s.add(ProcessDefinitionRecord(id=1, key="bench", version=1, name="bench", digest="0" * 64))
    dossier_rows = [
        dict(
            id=n + 1,
            code=f"B-{n}",
            definition_id=1,
            unit_code=communes[n % len(communes)],
            applicant_name="x",
            applicant={},
            status=4,
            run_state="running",
            received_at=NOW,
            state="{}",
            state_format="bench",
            created_at=NOW,
            updated_at=NOW,
            version=1,
        )
        for n in range(DOSSIERS)
    ]
    with db.session() as s:
        for start in range(0, len(dossier_rows), BATCH):
            s.execute(insert(DossierRecord.__table__), dossier_rows[start : start + BATCH])
    dues = []
    with db.session() as s:
        for start in range(0, ITEMS, BATCH):
            rows = []
            for n in range(start, min(ITEMS, start + BATCH)):
                # Most open work is due in the coming weeks; a thin tail is already due or late.
                due = NOW + timedelta(minutes=rng.gauss(7 * 24 * 60, 4 * 24 * 60))
                dues.append(due)
                dossier = n % DOSSIERS
                rows.append(
                    dict(
                        dossier_id=dossier + 1,
                        task_id=str(uuid.UUID(int=rng.getrandbits(128))),
                        element_id="xu_ly",
                        name="Xử lý",
                        role="chuyen_vien",
                        unit_code=communes[dossier % len(communes)],
                        state="open",
                        priority=50,
                        created_at=NOW - timedelta(days=3),
                        due_at=due,
                        next_sla_at=due,
                        escalation_level=0,
                        version=1,
                    )
                )
            s.execute(insert(WorkItemRecord.__table__), rows)
    return sorted(dues)


def indexed_find(db: Database, now: datetime, limit: int) -> int:
    """The sweep's query (index on next_sla_at), reading the same two columns as the full scan."""
    with db.read_session() as s:
        return len(
            s.execute(
                select(WorkItemRecord.id, WorkItemRecord.next_sla_at)
                .where(WorkItemRecord.next_sla_at <= now, WorkItemRecord.state.in_(("open", "claimed")))
                .order_by(WorkItemRecord.next_sla_at)
                .limit(limit)
            ).all()
        )


def indexed_sweep(db: Database, now: datetime, limit: int) -> int:
    """What the worker does: lock (PostgreSQL) and load the due items as rows it will update."""
    with db.session() as s:
        return len(repositories.due_sla_items(s, now, limit))


def full_scan(db: Database, now: datetime) -> int:
    """What a sweep without the index costs: every open item is read and compared."""
    with db.read_session() as s:
        rows = s.execute(
            select(WorkItemRecord.id, WorkItemRecord.next_sla_at).where(WorkItemRecord.state.in_(("open", "claimed")))
        )
        return sum(1 for _, due in rows if due is not None and due <= now)


def timed(fn, *args, repeat: int = 3) -> tuple[float, int]:
    best, found = None, 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        found = fn(*args)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    return best, found


def run(db: Database, name: str) -> dict:
    migrate.upgrade(db.engine)
    t0 = time.perf_counter()
    dues = fill(db, random.Random(11))
    load_s = time.perf_counter() - t0
    with db.engine.connect() as conn:  # what autovacuum / a nightly ANALYZE gives a live table
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(WorkItemRecord)) == ITEMS
    result = {"items": ITEMS, "load_s": round(load_s, 1), "sweeps": []}
    scan_s, _ = timed(full_scan, db, dues[SWEEPS[-1]], repeat=1)
    result["full_scan_ms"] = round(scan_s * 1000, 1)
    for n in SWEEPS:
        now = dues[n - 1]
        find_s, found = timed(indexed_find, db, now, n)
        sweep_s, loaded = timed(indexed_sweep, db, now, n)
        result["sweeps"].append(
            {
                "due": n,
                "found": found,
                "find_ms": round(find_s * 1000, 2),
                "ratio_vs_full_scan": round(scan_s / find_s, 1),
                "load_rows_ms": round(sweep_s * 1000, 2),
                "loaded": loaded,
            }
        )
        print(
            f"{name:9} due {n:6}: find {find_s * 1000:9.2f} ms (found {found}), full scan "
            f"{scan_s * 1000:9.1f} ms: {scan_s / find_s:8.1f}x; loading them as rows {sweep_s * 1000:8.1f} ms"
        )
    return result


def postgres_url() -> str | None:
    return scratch_db.postgres_url("SQLite only")


def main() -> None:
    result = {"benchmark": "sla_sweep"}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/sweep.sqlite3")
        result["sqlite"] = run(db, "sqlite")
        db.dispose()
    url = postgres_url()
    if url:
        db = Database(url)
        result["postgres"] = run(db, "postgres")
        db.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
