"""What PostgreSQL writes per API request: the heap and index records each request kind leaves in
the WAL, per table and index, read back with pg_waldump (deterministic, where CPU is not). The app
as `motcua serve` builds it serves N dossiers of http.py's five-step model in process (all starts,
then rounds of claims and completions, as benchmarks/api_cpu.py drives them) on a fresh database;
the WAL between the phases is decoded and only the records of this database's relations count, so
that other databases on the same server do not. Per kind: heap INSERTs, UPDATEs and heap-only
(HOT) UPDATEs per table, index entries (B-tree leaf inserts) per index, and the records' bytes
without full-page images.

    python benchmarks/pg_writes.py [--dossiers N]

Needs PostgreSQL (MOTCUA_BENCH_POSTGRES_URL or MOTCUA_TEST_POSTGRES_URL) on this host, and its
pg_waldump and data directory readable. The last line printed is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # this folder's http.py would shadow the standard library's

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from collections import Counter  # noqa: E402

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy import text  # noqa: E402

KINDS = ("start", "claim", "complete")
WARM_UP_DOSSIERS = 3
RECORD = re.compile(r"rmgr: (\w+)\s+len \(rec/tot\):\s+(\d+)/\s*(\d+).*?desc: (\w+).*?blkref #0: rel (\d+)/(\d+)/(\d+)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=20)
    args = parser.parse_args()
    from benchmarks.api_cpu import Driver
    from benchmarks.api_cpu import _served_in_process
    from benchmarks.http import STEP_DATA
    from benchmarks.http import UNIT
    from benchmarks.http import prepare
    from benchmarks.http import scratch_database

    server_url = os.environ.get("MOTCUA_BENCH_POSTGRES_URL") or os.environ.get("MOTCUA_TEST_POSTGRES_URL")
    with scratch_database(server_url) as database:
        token, definition_id = prepare(database.url)
        client, _ = _served_in_process(database.url)
        driver = Driver(client, token, definition_id, UNIT, STEP_DATA)
        driver.run(WARM_UP_DOSSIERS, lambda kind: None)
        reader = create_engine(database.url, isolation_level="AUTOCOMMIT")
        with reader.connect() as conn:
            oid = conn.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar()
            wal_dir = conn.execute(text("SELECT current_setting('data_directory') || '/pg_wal'")).scalar()
            major = conn.execute(text("SELECT current_setting('server_version_num')::int / 10000")).scalar()
            spans: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
            marks = {"at": _lsn(conn)}

            def phase_ended(kind: str) -> None:
                now = _lsn(conn)
                spans[kind].append((marks["at"], now))
                marks["at"] = now

            counts = driver.run(args.dossiers, phase_ended)
            names = _relation_names(conn)
        reader.dispose()
        figures = {
            kind: _per_request(
                sum((_records(waldump(major), wal_dir, start, end, oid) for start, end in spans[kind]), Counter()),
                names,
                counts[kind],
            )
            for kind in KINDS
        }
    for kind in KINDS:
        print(f"{kind}: {json.dumps(figures[kind], ensure_ascii=False)}")
    print(json.dumps({"dossiers": args.dossiers, **figures}))


def _lsn(conn) -> str:
    # A switch-free marker: the position of the WAL's insert pointer.
    return conn.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar()


def _relation_names(conn) -> dict[str, str]:
    rows = conn.execute(
        text("SELECT pg_relation_filenode(oid)::text, relname FROM pg_class WHERE relkind IN ('r', 'i', 't')")
    )
    return {node: name for node, name in rows if node is not None}


def waldump(major: int) -> str:
    """The server's own version of pg_waldump (Debian keeps one per major version)."""
    return shutil.which("pg_waldump") or f"/usr/lib/postgresql/{major}/bin/pg_waldump"


def _records(waldump: str, wal_dir: str, start: str, end: str, oid: int) -> Counter:
    """(rmgr, record kind, relation file node) → count, and the bytes under ('bytes', ...)."""
    if start == end:
        return Counter()
    done = subprocess.run(
        [waldump, "-p", wal_dir, "-s", start, "-e", end],
        capture_output=True,
        text=True,
        check=False,
    )
    found: Counter = Counter()
    for line in done.stdout.splitlines():
        match = RECORD.search(line)
        if match is None or match.group(6) != str(oid):
            continue
        rmgr, rec_len, _, kind, _, _, node = match.groups()
        found[(rmgr, kind, node)] += 1
        found[("bytes", "", "")] += int(rec_len)
    return found


def _per_request(found: Counter, names: dict[str, str], requests: int) -> dict:
    heap: dict[str, Counter] = {}
    index: Counter = Counter()
    for (rmgr, kind, node), n in found.items():
        name = names.get(node, node)
        if rmgr in ("Heap", "Heap2") and kind in ("INSERT", "UPDATE", "HOT_UPDATE", "MULTI_INSERT", "LOCK"):
            heap.setdefault(name, Counter())[kind] += n
        elif rmgr == "Btree" and kind.startswith("INSERT"):
            index[name] += n
    per = lambda n: round(n / requests, 2)  # noqa: E731
    return {
        "wal_bytes": per(found[("bytes", "", "")]),
        "index_entries": per(sum(index.values())),
        "heap": {table: {kind: per(n) for kind, n in sorted(kinds.items())} for table, kinds in sorted(heap.items())},
        "indexes": {name: per(n) for name, n in sorted(index.items(), key=lambda item: -item[1])},
    }


if __name__ == "__main__":
    main()
