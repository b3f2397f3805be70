"""What operators and their tools ask of a running web process, without signing in:
`/healthz` (the process answers), `/readyz` (engine.services.health: database, schema, worker
heartbeat, backlogs; 503 when not ready) and `/metrics` (Prometheus: requests by route with their
latency, and the database's figures read at scrape time). With several server
workers (`motcua serve --workers N`), set PROMETHEUS_MULTIPROC_DIR so that every worker process's request counts are summed."""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import jsonify
from flask import request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client import multiprocess
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily

from engine.services import health
from engine.store import operations_queries
from web import request_log
from web.extensions import csrf
from web.wiring import runtime

bp = Blueprint("ops", __name__)

REQUESTS = Counter("motcua_http_requests", "HTTP requests by route, method and status", ["route", "method", "status"])
LATENCY = Histogram(
    "motcua_http_request_seconds",
    "HTTP request latency by route",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

#: name -> (help, label names) of the counters read from the database at scrape time: the workers
#: keep their totals in their heartbeat rows, so every worker process is counted, scraped or not.
COUNTERS = {
    "dossiers_started": ("Dossiers received", ()),
    "dossiers_completed": ("Dossiers finished (result returned, refused, withdrawn or stopped)", ()),
    "worker_done": (
        "What workers did, by kind: timers fired, SLA warning/breach/escalation levels, apology "
        "requests, absence hand-overs, messages sent/retried/dead, failed items",
        ("kind",),
    ),
    "worker_passes": ("Worker passes", ()),
    "worker_busy_seconds": ("Seconds workers spent in passes", ()),
    "worker_passes_cut_short": ("Passes ended by the watchdog's deadline or a stop", ()),
}

#: name -> (help, label names) of the figures read from the database at scrape time.
GAUGES = {
    "open_work_items": ("Open steps by state", ("state",)),
    "outbox_messages": ("Notifications waiting (pending) or given up (dead) by channel", ("channel", "status")),
    "incidents": ("Unresolved incidents by kind and status", ("kind", "status")),
    "due_timers": ("Dossiers with a timer due now and not yet fired", ()),
    "timer_lag_seconds": ("How long the oldest due timer has waited", ()),
    "worker_heartbeat_age_seconds": ("Seconds since the last worker pass ended (-1: never)", ()),
    "worker_last_pass_seconds": ("Duration of the last worker pass", ()),
}


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    report = health.readiness(runtime())
    return jsonify(report), 200 if report["ready"] else 503


@bp.get("/metrics")
def metrics():
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(_DatabaseCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _DatabaseCollector:
    def collect(self):
        rt = runtime()
        with rt.db.read_session() as s:
            figures = operations_queries.gauges(s, rt.clock.now())
        for families, make in ((COUNTERS, CounterMetricFamily), (GAUGES, GaugeMetricFamily)):
            for name, (text, labels) in families.items():
                family = make(f"motcua_{name}", text, labels=list(labels))
                for values, n in figures[name]:
                    family.add_metric(list(values), n)
                yield family
        if rt.db.report_engine is not rt.db.read_engine:
            yield _replica_lag(rt)


def _replica_lag(rt) -> GaugeMetricFamily:
    """Only with MOTCUA_READ_DATABASE_URL: the supervisors' figures are this much behind."""
    family = GaugeMetricFamily(
        "motcua_replica_lag_seconds", "Seconds the report database (replica) is behind the primary"
    )
    with rt.db.report_session() as s:
        family.add_metric([], operations_queries.replica_lag_seconds(s))
    return family


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.after_request(_count_request)  # the request's start is web.request_log's


def _count_request(response):
    req = request._get_current_object()  # the proxy once, not per use
    # The route's pattern, not the path: /ho-so/<code> is one series, whatever the code.
    route = req.url_rule.rule if req.url_rule is not None else "unmatched"
    started = request_log.started()
    if started is not None:
        _series(LATENCY, route, req.method).observe(time.perf_counter() - started)
    _series(REQUESTS, route, req.method, str(response.status_code)).inc()
    return response


#: Each series' child by its metric and label values: prometheus_client's labels() checks and
#: converts the values and takes a lock on every call, for the child it made the first time.
_SERIES: dict[tuple, Any] = {}


def _series(metric: Counter | Histogram, *values: str):
    key = (metric, *values)
    child = _SERIES.get(key)
    if child is None:  # two threads may both ask: labels() gives both the same child
        child = _SERIES[key] = metric.labels(*values)
    return child
