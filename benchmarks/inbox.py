"""The clerk's inbox at a province's scale on PostgreSQL: 1,000,000 open work items (two open steps
per dossier) over Hanoi's 126 communes and 4,400 officers, generated in bulk by SQL. Times, through
the functions the web inbox calls (engine.store.worklist_queries), one officer's four tabs (soonest
due first), their counts, search by dossier code and by applicant name, the procedure filter and
its choices, and one commune's whole group queue (an officer holding every role); prints p50/p95
per query and the EXPLAIN (ANALYZE, BUFFERS) plan of every statement, then the same queries without
the inbox's indexes (migration 0013) as the baseline measured in the same run.

BENCH_ITEMS sets the size (default 1,000,000; `--quick`: 50,000), BENCH_REPEAT the timed runs per
query (default 30), BENCH_CLOSED the closed dossiers per open one (default 0; `--closed`: 10, a
province's year, whose dossiers a search must not read one by one). Prints a summary, then one JSON object as the last line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path

# This folder holds calendar.py, which would shadow the standard library: put the project there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import event  # noqa: E402
from sqlalchemy import text  # noqa: E402

from benchmarks import scratch_db  # noqa: E402
from engine.clock import SystemClock  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store import worklist_queries  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.records import DossierRecord  # noqa: E402
from engine.store.records import WorkItemRecord  # noqa: E402
from engine.store.worklist_queries import WorklistFilter  # noqa: E402
from web import seed  # noqa: E402

QUICK = "--quick" in sys.argv
ITEMS = int(os.environ.get("BENCH_ITEMS", "50000" if QUICK else "1000000"))
DOSSIERS = max(1, ITEMS // 2)
CLOSED = int(os.environ.get("BENCH_CLOSED", "10" if "--closed" in sys.argv else "0"))
OFFICERS = 4400
REPEAT = int(os.environ.get("BENCH_REPEAT", "10" if QUICK else "30"))
BASELINE_REPEAT = max(3, REPEAT // 6)
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
ROLES = ("mot_cua", "tu_phap_ho_tich", "dia_chinh", "van_hoa_xa_hoi", "lanh_dao", "ke_toan")
PROCEDURES = 17
COMMUNE = "00070"
#: The indexes of migration 0013, dropped for the baseline and built again.
INBOX_INDEXES = {
    "ix_work_item_owner": WorkItemRecord,
    "ix_work_item_group": WorkItemRecord,
    "ix_dossier_unit_definition": DossierRecord,
}

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Thu")
GIVEN = (
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phong",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
)


def _array(values) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def _applicant(hashed: str) -> str:
    """An applicant's name drawn from the bigint `hashed`."""
    return (
        f"({_array(FAMILY)})[1 + {hashed} % {len(FAMILY)}] || ' ' "
        f"|| ({_array(MIDDLE)})[1 + ({hashed} / {len(FAMILY)}) % {len(MIDDLE)}] || ' ' "
        f"|| ({_array(GIVEN)})[1 + ({hashed} / {len(FAMILY) * len(MIDDLE)}) % {len(GIVEN)}]"
    )


LOAD = [
    """CREATE TEMP TABLE bench_commune AS
       SELECT (row_number() OVER (ORDER BY code) - 1)::int AS n, code, agency_code FROM unit WHERE kind = 'commune'""",
    """INSERT INTO template_blob (digest, files, created_at) VALUES (repeat('0', 64), '{}', :now)""",
    f"""INSERT INTO process_definition (id, key, version, name, digest, status, clock_last_hour)
       SELECT p, 'thu_tuc_' || p, 1, 'Thủ tục ' || p, repeat('0', 64), 'published', false
       FROM generate_series(1, {PROCEDURES}) p""",
    # 4,400 officers, each holding two neighbouring roles of ROLES.
    f"""INSERT INTO app_user (username, full_name, unit_code, roles, active)
       SELECT 'cb_' || c.code || '_' || k, 'Cán bộ ' || k || ' ' || c.code, c.code,
              ({_array(ROLES)})[1 + k % 6] || ' ' || ({_array(ROLES)})[1 + (k + 1) % 6], true
       FROM bench_commune c, generate_series(0, :per_commune) k
       WHERE k < :per_commune OR c.n < :extra""",
    # Dossiers received over the last ~100 days, 40 a day per commune, numbered as the engine does.
    f"""INSERT INTO dossier (id, code, definition_id, unit_code, applicant_name, applicant, channel, status,
                             run_state, received_at, clock_start_at, appointment_at, original_appointment_at,
                             state, state_format, created_at, updated_at, version)
       SELECT g + 1, c.agency_code || '-' || to_char(r.at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYMMDD') || '-'
                     || lpad(((g / 126) % 40 + 1)::text, 4, '0'),
              1 + g % {PROCEDURES}, c.code, {_applicant("h.h")},
              '{{}}', 'counter', 2, 'running', r.at, r.at, r.at + interval '5 days', r.at + interval '5 days',
              '{{}}', 'bench', r.at, r.at, 1
       FROM generate_series(0, :dossiers - 1) g
       JOIN bench_commune c ON c.n = g % 126
       CROSS JOIN LATERAL (SELECT :now - ((g / 126) / 40) * interval '1 day' AS at) r
       CROSS JOIN LATERAL (SELECT ('x' || substr(md5('d' || g), 1, 8))::bit(32)::bigint AS h) h""",
    # Two open steps per dossier, with its code and applicant as the projection copies them; 55%
    # claimed by an officer holding the step's role, 2% of those delegated out (the owner keeps
    # them), 1% taken on behalf of an absent colleague; due times from 50 hours ago to two weeks
    # ahead, 3% without a deadline.
    f"""INSERT INTO work_item (dossier_id, task_id, element_id, name, role, unit_code, dossier_code, applicant_name,
                               assignee, owner, delegation_state, on_behalf_of, state, priority, created_at, due_at,
                               warn_at, escalation_level, next_sla_at, version)
       SELECT d, md5(i::text), 'buoc_' || w.r, 'Bước ' || w.r, ({_array(ROLES)})[1 + w.r], c.code,
              dossier.code, dossier.applicant_name,
              CASE WHEN w.claimed THEN 'cb_' || c.code || '_' || (CASE WHEN w.delegated THEN w.k2 ELSE w.k END) END,
              CASE WHEN w.delegated THEN 'cb_' || c.code || '_' || w.k END,
              CASE WHEN w.delegated THEN 'pending' END,
              CASE WHEN w.claimed AND NOT w.delegated AND (h.h / 150000) % 97 = 1 THEN 'cb_' || c.code || '_' || w.k2 END,
              CASE WHEN w.claimed THEN 'claimed' ELSE 'open' END,
              CASE WHEN (h.h / 13) % 10 = 0 THEN 70 ELSE 50 END, :now - interval '1 day',
              CASE WHEN (h.h / 17) % 31 <> 0 THEN w.due END, CASE WHEN (h.h / 17) % 31 <> 0 THEN w.due - interval '1 hour' END,
              0, CASE WHEN (h.h / 17) % 31 <> 0 THEN w.due - interval '1 hour' END, 1
       FROM generate_series(0, :items - 1) i
       CROSS JOIN LATERAL (SELECT i % :dossiers + 1 AS d) dd
       JOIN dossier ON dossier.id = dd.d
       JOIN bench_commune c ON c.n = (dd.d - 1) % 126
       CROSS JOIN LATERAL (SELECT ('x' || substr(md5(i::text), 1, 8))::bit(32)::bigint AS h) h
       CROSS JOIN LATERAL (
           SELECT h.h % 6 AS r, (h.h / 6) % 100 < 55 AS claimed,
                  (h.h / 6) % 100 < 55 AND (h.h / 3000) % 50 = 0 AS delegated,
                  h.h % 6 + 6 * ((h.h / 600) % 5) AS k,
                  h.h % 6 + 6 * ((h.h / 600 + 1) % 5) AS k2,
                    :now + (((h.h / 7) % 23000) - 3000) * interval '1 minute' AS due) w""",
]


#: Closed dossiers (BENCH_CLOSED per open one, no steps kept open), received in the ~100 days per
#: 40 a day and commune before the open ones, numbered the same way.
LOAD_CLOSED = f"""INSERT INTO dossier (id, code, definition_id, unit_code, applicant_name, applicant, channel, status,
                             run_state, received_at, clock_start_at, appointment_at, original_appointment_at,
                             completed_at, state, state_format, created_at, updated_at, version)
       SELECT :dossiers + g + 1, c.agency_code || '-' || to_char(r.at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYMMDD') || '-'
                     || lpad(((g / 126) % 40 + 1)::text, 4, '0'),
              1 + g % {PROCEDURES}, c.code, {_applicant("h.h")},
              '{{}}', 'counter', 10, 'completed', r.at, r.at, r.at + interval '5 days', r.at + interval '5 days',
              r.at + interval '4 days', '{{}}', 'bench', r.at, r.at + interval '4 days', 1
       FROM generate_series(0, :closed - 1) g
       JOIN bench_commune c ON c.n = g % 126
       CROSS JOIN LATERAL (SELECT :now - (:dossiers / 126 / 40 + 1 + (g / 126) / 40) * interval '1 day' AS at) r
       CROSS JOIN LATERAL (SELECT ('x' || substr(md5('c' || g), 1, 8))::bit(32)::bigint AS h) h"""


def load(db: Database) -> float:
    t0 = time.perf_counter()
    per_commune = OFFICERS // 126
    params = {
        "now": NOW,
        "per_commune": per_commune,
        "extra": OFFICERS - 126 * per_commune,
        "dossiers": DOSSIERS,
        "items": ITEMS,
        "closed": CLOSED * DOSSIERS,
    }
    with db.engine.begin() as conn:
        for statement in LOAD + ([LOAD_CLOSED] if CLOSED else []):
            conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum gives a live table
    return time.perf_counter() - t0


def officer() -> WorklistFilter:
    """Officer 0 of the commune: ROLES[0] and ROLES[1], like the seeded reception clerks."""
    return WorklistFilter(f"cb_{COMMUNE}_0", frozenset(ROLES[:2]), COMMUNE)


def queries(db: Database) -> dict:
    """name -> a call that reads what one inbox request reads for it, through worklist_queries."""
    me = officer()
    commune = WorklistFilter(me.username, frozenset(ROLES), COMMUNE)  # holds every role: the whole queue
    with db.read_session() as s:
        code = s.execute(
            text("SELECT code FROM dossier WHERE unit_code = :u AND completed_at IS NULL ORDER BY id DESC LIMIT 1"),
            {"u": COMMUNE},
        ).scalar_one()
    by_code = WorklistFilter(me.username, commune.roles, COMMUNE, text=code[:-2])  # the day's first 99 dossiers
    by_name = WorklistFilter(me.username, commune.roles, COMMUNE, text="cường")
    by_procedure = WorklistFilter(me.username, me.roles, COMMUNE, procedure_key="thu_tuc_3")

    def read(fn, *args):
        def run():
            with db.read_session() as s:
                return fn(s, *args)

        return run

    return {
        **{f"tab {tab}": read(worklist_queries.inbox, me, tab) for tab in worklist_queries.TABS},
        "counts": read(worklist_queries.tab_counts, me),
        "commune queue (every role)": read(worklist_queries.inbox, commune, "nhom"),
        "commune queue count": read(worklist_queries.tab_counts, commune),
        "search code prefix": read(worklist_queries.inbox, by_code, "nhom"),
        "search code prefix counts": read(worklist_queries.tab_counts, by_code),
        "search name": read(worklist_queries.inbox, by_name, "nhom"),
        "search name counts": read(worklist_queries.tab_counts, by_name),
        "procedure filter": read(worklist_queries.inbox, by_procedure, "nhom"),
        "procedure choices": read(worklist_queries.procedures_in_unit, COMMUNE),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def timed(calls: dict, repeat: int) -> dict:
    figures = {}
    for name, call in calls.items():
        found = call()  # warm
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t0) * 1000)
        rows = len(found) if isinstance(found, list) else found
        figures[name] = {
            "p50_ms": round(percentile(samples, 0.5), 2),
            "p95_ms": round(percentile(samples, 0.95), 2),
            "rows": rows,
        }
    return figures


def explain(db: Database, calls: dict) -> None:
    """The plan of every statement each call sends, run with its own parameters."""
    for name, call in calls.items():
        sent = []

        def capture(_conn, _cursor, statement, parameters, _context, _many, sent=sent):
            sent.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            call()
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        for statement, parameters in sent:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            with db.engine.connect() as conn:
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            print(f"\n-- {name}\n" + "\n".join(plan))


def report(title: str, figures: dict) -> None:
    print(f"\n{title}")
    for name, f in figures.items():
        print(f"  {name:28} p50 {f['p50_ms']:8.2f} ms  p95 {f['p95_ms']:8.2f} ms  ({f['rows']})")


def set_inbox_indexes(db: Database, present: bool) -> float:
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        for name, record in INBOX_INDEXES.items():
            [index] = [i for i in record.__table__.indexes if i.name == name]
            (index.create if present else index.drop)(conn)
    if present:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - t0


def postgres_url() -> str | None:
    return scratch_db.postgres_url("this benchmark needs it")


drop_database = scratch_db.drop_database


def main() -> None:
    result = {"benchmark": "inbox", "work_items": ITEMS, "dossiers": DOSSIERS, "closed_dossiers": CLOSED * DOSSIERS}
    result["officers"] = OFFICERS
    url = postgres_url()
    if url:
        db = Database(url)
        migrate.upgrade(db.engine)
        seed.seed_units(Runtime(db=db, clock=SystemClock()))
        load_s = load(db)
        print(
            f"{ITEMS} open work items, {DOSSIERS} open and {CLOSED * DOSSIERS} closed dossiers, "
            f"{OFFICERS} officers loaded in {load_s:.1f} s"
        )
        calls = queries(db)
        set_inbox_indexes(db, present=False)
        baseline = timed(calls, BASELINE_REPEAT)
        index_s = set_inbox_indexes(db, present=True)
        figures = timed(calls, REPEAT)
        explain(db, calls)
        report(f"without the inbox indexes ({BASELINE_REPEAT} runs each)", baseline)
        report(f"with them ({REPEAT} runs each; built in {index_s:.1f} s)", figures)
        inbox_p95 = max(f["p95_ms"] for f in figures.values())
        baseline_p95 = max(f["p95_ms"] for f in baseline.values())
        result.update(
            {
                "load_s": round(load_s, 1),
                "index_build_s": round(index_s, 1),
                "inbox_p95_ms": inbox_p95,
                "baseline_p95_ms": baseline_p95,
                "ratio_baseline_vs_indexed": round(baseline_p95 / inbox_p95, 1),
                "queries": figures,
                "baseline": baseline,
            }
        )
        print(
            f"\nslowest query p95: {inbox_p95:.2f} ms with the indexes, {baseline_p95:.2f} ms without "
            f"({baseline_p95 / inbox_p95:.1f}x)"
        )
        db.dispose()
        drop_database(url)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
