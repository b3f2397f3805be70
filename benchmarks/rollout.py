"""Rollout at Hanoi's scale: 667 commune templates x 126 communes = 84,042 variants, on SQLite and
on PostgreSQL when reachable; against the naive way (a full BPMN copy per commune, each parsed
and stored) measured in the same run on a sample of templates and scaled to the same count.

BENCH_TEMPLATES (default 667) and BENCH_NAIVE_TEMPLATES (default 4) set the sizes.
Prints a summary, then one JSON object as the last line.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

# This folder holds calendar.py, which would shadow the standard library: put the project there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])


from benchmarks import scratch_db  # noqa: E402
from configurator import variants  # noqa: E402
from configurator.step_tables import build_bpmn  # noqa: E402
from engine.clock import SystemClock  # noqa: E402
from engine.services import definitions  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store import variant_records  # noqa: E402
from engine.store.database import Database  # noqa: E402
from web import seed  # noqa: E402

TEMPLATES = int(os.environ.get("BENCH_TEMPLATES", "667"))
NAIVE_TEMPLATES = int(os.environ.get("BENCH_NAIVE_TEMPLATES", "4"))
LIBRARY_PART = 200
LIBRARY_TABLE = json.loads(
    (Path(__file__).resolve().parents[1] / "processes" / "dang_ky_khai_sinh" / "v1" / "steps.json").read_text(
        encoding="utf-8"
    )
)


def template(n: int, suffix: str = "") -> bytes:
    """A distinct commune template: the birth-registration chain under its own process id."""
    table = dict(LIBRARY_TABLE, process_id=f"thu_tuc_{n:04d}{suffix}", name=f"Thủ tục {n}{suffix}")
    return build_bpmn(table)


def max_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(url: str, name: str) -> dict:
    db = Database(url)
    migrate.upgrade(db.engine)
    rt = Runtime(db=db, clock=SystemClock())
    seed.seed_units(rt)
    templates = [{f"t{n}.bpmn": template(n)} for n in range(TEMPLATES)]  # the modeller's work, not timed
    publish_s = ours_s = 0.0
    # A library is published and rolled out a part at a time, each part small enough for the spec
    # cache (which keeps a template under two keys), so that each template is parsed once.
    for start in range(0, TEMPLATES, LIBRARY_PART):
        t0 = time.perf_counter()
        published = [definitions.deploy(rt, files) for files in templates[start : start + LIBRARY_PART]]
        t1 = time.perf_counter()
        variants.rollout_many(rt, [d.id for d in published])  # one transaction, batched writes
        publish_s, ours_s = publish_s + t1 - t0, ours_s + time.perf_counter() - t1
    with db.read_session() as s:
        count = variant_records.count_variants(s)
        q0 = time.perf_counter()
        per_commune = variant_records.list_variants(s, unit_code="00070", limit=1000)
        list_ms = (time.perf_counter() - q0) * 1000
        q0 = time.perf_counter()
        per_template = variant_records.list_variants(s, template_key=f"thu_tuc_{TEMPLATES // 2:04d}", limit=200)
        search_ms = (time.perf_counter() - q0) * 1000
    parses = rt.specs.parses

    # The naive way: every commune gets its own copy of the BPMN, deployed (parsed, checked, stored).
    copies = [
        {f"copy{n}_{unit}.bpmn": template(100000 + n, f"_{unit:03d}")}
        for n in range(NAIVE_TEMPLATES)
        for unit in range(126)
    ]
    t0 = time.perf_counter()
    for files in copies:
        definitions.deploy(rt, files)
    naive_sample_s = time.perf_counter() - t0
    naive_s = naive_sample_s * TEMPLATES / NAIVE_TEMPLATES
    db.dispose()
    total_s = publish_s + ours_s
    result = {
        "templates": TEMPLATES,
        "variants": count,
        "rollout_s": round(ours_s, 2),
        "publish_s": round(publish_s, 2),
        "publish_and_rollout_s": round(total_s, 2),
        "specs_parsed": parses,
        "max_rss_mb": max_rss_mb(),
        "list_commune_ms": round(list_ms, 2),
        "listed": len(per_commune),
        "list_template_ms": round(search_ms, 2),
        "listed_template": len(per_template),
        "naive_sample_templates": NAIVE_TEMPLATES,
        "naive_sample_s": round(naive_sample_s, 2),
        "naive_scaled_s": round(naive_s, 1),
        "ratio_naive_vs_ours": round(naive_s / total_s, 1),
    }
    print(
        f"{name:9} {count} variants of {TEMPLATES} templates rolled out in {ours_s:.2f} s after publishing them "
        f"in {publish_s:.1f} s ({parses} parses, "
        f"max RSS {result['max_rss_mb']} MB); naive copies: {naive_sample_s:.1f} s for {NAIVE_TEMPLATES} "
        f"templates -> {naive_s:.0f} s scaled ({result['ratio_naive_vs_ours']}x publish + rollout); list a commune's "
        f"{len(per_commune)} variants {list_ms:.1f} ms, a template's {len(per_template)} {search_ms:.1f} ms"
    )
    return result


def postgres_url() -> str | None:
    return scratch_db.postgres_url("SQLite only")


drop_database = scratch_db.drop_database


def main() -> None:
    result = {"benchmark": "rollout"}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = run(f"sqlite:///{tmp}/rollout.sqlite3", "sqlite")
    url = postgres_url()
    if url:
        result["postgres"] = run(url, "postgres")
        drop_database(url)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
