"""The benchmarks still run (tiny sizes) and end with one JSON object, as the harness expects."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
PG_WALDUMP = shutil.which("pg_waldump") or next(iter(glob.glob("/usr/lib/postgresql/*/bin/pg_waldump")), "")


def _summary(args: list[str], env: dict[str, str] | None = None, timeout: int = 300) -> dict:
    """Run benchmarks/<args[0]> with `env` over this process's environment; its last line, a JSON
    object, once it has exited cleanly."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / args[0]), *args[1:]],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "script, env, keys",
    [
        ("calendar.py", {"BENCH_CASES": "200"}, {"ops_per_s", "naive_ops_per_s", "ratio"}),
        (
            "engine.py",
            {"BENCH_DOSSIERS": "3", "MOTCUA_BENCH_POSTGRES_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"},
            {"bare", "bare_specless", "sqlite", "ratio_engine_vs_bare", "ratio_engine_vs_bare_specless"},
        ),
        (
            "rollout.py",
            {
                "BENCH_TEMPLATES": "3",
                "BENCH_NAIVE_TEMPLATES": "1",
                "MOTCUA_BENCH_POSTGRES_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x",
            },
            {"sqlite"},
        ),
        (
            "sla_sweep.py",
            {"BENCH_ITEMS": "12000", "MOTCUA_BENCH_POSTGRES_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"},
            {"sqlite"},
        ),
        ("snapshot_skip.py", {"BENCH_DOSSIERS": "2"}, {"codeless_step_median_ms", "ratio_skip_vs_always"}),
        (
            "portal_sync.py",
            {"BENCH_DOSSIERS": "3", "BENCH_ROUNDS": "1"},
            {"ratio_unconnected_vs_baseline", "ratio_connected_vs_baseline"},
        ),
        (
            "portal_reconcile.py",
            {"BENCH_DOSSIERS": "6", "BENCH_PAGE": "4"},
            {"ratio_peak_paged_vs_one_page", "ratio_time_paged_vs_one_page"},
        ),
        ("signing.py", {"BENCH_RESULTS": "2"}, {"render_ms_median", "sign_ms_median", "ratio_signed_vs_render"}),
        (
            "idempotency.py",
            {"BENCH_DOSSIERS": "3", "BENCH_ROUNDS": "1"},
            {"ratio_keyed_vs_unkeyed", "ratio_replayed_vs_unkeyed"},
        ),
    ],
)
def test_benchmark_prints_a_json_summary_last(script, env, keys):
    result = _summary([script], env)
    assert keys <= result.keys()


@pytest.mark.postgres
def test_the_http_benchmark_serves_the_product_and_counts_what_a_completion_costs(postgres_server_url):
    """benchmarks/http.py at its quick size: `motcua serve` (granian) on PostgreSQL, keep-alive clients, statements
    and CPU per completion measured, the in-process engine as the baseline."""
    result = _summary(["http.py", "--quick", "--dossiers", "3"], {"MOTCUA_BENCH_POSTGRES_URL": postgres_server_url})
    assert {
        "cpu_ms_per_completion",
        "statements_per_completion",
        "completions_per_s",
        "ratio_http_vs_engine_cpu",
        "host_reference_ms",
    } <= result.keys()
    # goal 1's CPU in the host's reference completions, comparable between machines
    assert result["cpu_per_completion_in_references"] == pytest.approx(
        result["cpu_ms_per_completion"] / result["host_reference_ms"], rel=0.01
    )
    one_client = result["runs"]["1"]
    assert one_client["completions"] == 15 and one_client["connections"] == 1  # kept alive
    assert result["statements_per_completion"] > 0


@pytest.mark.postgres
def test_the_api_benchmark_compares_two_trees_by_cpu_and_calls_per_request(postgres_server_url):
    """benchmarks/api_cpu.py at a tiny size, this tree against itself: each side's CPU per request
    kind, its statements and its Python calls, and the ratios; the same code makes as many calls."""
    root = str(BENCHMARKS.parent)
    result = _summary(
        ["api_cpu.py", "--dossiers", "2", "--rounds", "1", "--baseline-src", root],
        {"MOTCUA_BENCH_POSTGRES_URL": postgres_server_url},
    )
    for side in ("baseline", "current"):
        assert result[side]["complete_statements"] > 0 and result[side]["claim_server_us"] > 0
    assert result["ratio_current_vs_baseline"]["complete_calls"] == pytest.approx(1.0, abs=0.02)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "script, env, keys",
    [
        (
            "inbox.py",
            {"BENCH_ITEMS": "5000", "BENCH_REPEAT": "3"},
            {"work_items", "inbox_p95_ms", "baseline_p95_ms", "ratio_baseline_vs_indexed"},
        ),
        (
            "starts.py",
            {"BENCH_STARTS": "2"},
            {"one_commune_starts_per_s", "four_communes_starts_per_s", "ratio_one_vs_four_communes"},
        ),
    ],
)
def test_postgres_benchmark_measures_on_postgres(postgres_server_url, script, env, keys):
    result = _summary([script], {**env, "MOTCUA_BENCH_POSTGRES_URL": postgres_server_url})
    assert keys <= result.keys()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_WALDUMP, reason="no pg_waldump on this host (the benchmark reads the server's WAL)")
def test_the_wal_benchmark_counts_each_request_kinds_heap_and_index_writes(postgres_server_url):
    result = _summary(["pg_writes.py", "--dossiers", "2"], {"MOTCUA_BENCH_POSTGRES_URL": postgres_server_url})
    # Every start inserts its dossier with its index entries; every completion updates its step.
    assert result["start"]["heap"]["dossier"]["INSERT"] == 1.0 and result["start"]["indexes"]["pk_dossier"] == 1.0
    assert result["complete"]["heap"]["work_item"]["UPDATE"] == 1.0 and result["complete"]["wal_bytes"] > 0


@pytest.mark.postgres
@pytest.mark.slow  # a soak: its own primary, replica, web processes and workers, killed mid-run (1-2 min)
def test_a_province_day_on_primary_and_replica_loses_nothing_when_a_web_process_and_a_worker_are_killed():
    """benchmarks/province_day.py --quick: its own PostgreSQL primary and pg_basebackup replica, two
    web instances and two workers, supervisors reading from the replica, then one web instance and
    one worker SIGKILLed and restarted mid-run: no error answered, every dossier's history, steps,
    SLA levels, notifications and audit chain as its client was told, nothing twice."""
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's server binaries are required in CI (scripts/ensure_postgres.sh)")
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    result = _summary(["province_day.py", "--quick"], timeout=600)
    phases = result["phases"]
    assert result["errors"] == 0, {name: phase["error_routes"] for name, phase in phases.items()}
    assert result["lost"] == 0 and result["duplicated"] == 0, {
        name: phase["problems"] for name, phase in phases.items()
    }
    assert result["audit_verify_ok"]
    for phase in phases.values():
        assert phase["timers_due_unfired"] == 0 and phase["open_incidents"] == 0
        assert phase["notifications_twice"] == 0 and "dead" not in phase["outbox"]
        assert phase["dossiers_in_database"] == phase["dossiers"]  # a start sent again kept its dossier
    assert phases["killed"]["kills"], "the killed phase killed nothing"
    # The dashboards were served by the replica (only reports go there) while the clerks wrote.
    assert phases["topology"]["replica_transactions"] > 0 and phases["killed"]["replica_transactions"] > 0
    assert phases["baseline"]["replica_transactions"] == 0
    assert sum(phase["sla_levels_fired"] for phase in phases.values()) > 0


def test_the_dashboard_benchmark_answers_help_without_filling_a_database():
    """Its options are read by hand: `--help` prints what it does and creates nothing (it began a
    5,000,000-dossier fill before)."""
    env = {**os.environ, "MOTCUA_BENCH_POSTGRES_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "dashboard.py"), "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--keep NAME" in done.stdout and "Supervisor dashboard cost" in done.stdout
