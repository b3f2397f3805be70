"""The server in front of the app in production and benchmarks: granian, HTTP/1.1 and keep-alive in
Rust (hyper), the app on threads of each worker process.

It took gunicorn's place because a served request cost less CPU outside the app: benchmarks/http.py
against gunicorn with its threaded worker, alternated turns on a loaded host (load 5.6-8.4), 0.83 to
0.96 of the server+PostgreSQL CPU per completion (median 0.90), lower in 40 turns of 42; at load
1.7-2.9 the two were level (0.97, 1.01, 1.02); likely, not measured: on a busy machine more of gunicorn's
requests miss its 2 ms linger and go through its threads' hand-offs (docs/performance.md, `server20`).
An idle kept-alive connection holds no thread (the runtime waits on it), so four threads serve many
API clients and nginx's pooled upstream connections. What gunicorn did for operators, and what does it here:
graceful SIGTERM (requests in flight finish, GRACEFUL_SECONDS at most) and SIGHUP (workers replaced
one by one); a worker that dies is started again; workers are replaced as they age or grow
(WORKER_LIFETIME_SECONDS, WORKER_MAX_RSS_MIB) where gunicorn counted requests; the forwarded
headers are the app's own (MOTCUA_TRUSTED_PROXY, werkzeug's ProxyFix); the access line is the app's.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from granian.constants import Interfaces
from granian.constants import RuntimeModes
from granian.server import MPServer

#: The WSGI application every worker imports (once, before its first request).
APP = "web.wsgi:app"

#: Threads of a worker that run the app, one request each.
THREADS = 4

#: SIGTERM or SIGHUP: how long requests in flight may take to finish before their worker is killed.
GRACEFUL_SECONDS = 30

#: A worker is replaced (gracefully, when the next one is up) after this long: what a long-lived
#: process's memory holds is given back, and a worker wedged for good is not kept for ever.
WORKER_LIFETIME_SECONDS = 6 * 3600

#: ... or sooner, when its memory (sampled every 30 s) passes this many MiB.
WORKER_MAX_RSS_MIB = 1024


def server(host: str, port: int, workers: int, threads: int = THREADS, app: str = APP) -> MPServer:
    """The server `motcua serve --workers N` runs (systemd's unit runs that command). Each worker's
    runtime on one thread ("st"): granian's default for WSGI ("mt", a thread pool) cost the same
    (0.99 in alternated turns) with more threads per worker."""
    # Worker processes, each with its interpreter and GIL (granian's `Granian` on this Python build).
    return MPServer(
        app,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        runtime_mode=RuntimeModes.st,
        respawn_failed_workers=True,
        workers_kill_timeout=GRACEFUL_SECONDS,
        workers_lifetime=WORKER_LIFETIME_SECONDS,
        workers_max_rss=WORKER_MAX_RSS_MIB,
    )


def header_like_variables(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The server's environment variables the app would read as request headers: granian copies
    the process's environment into every request's WSGI environ (PEP 3333 allows it), where
    `HTTP_PROXY` (an outgoing proxy's usual spelling) reads as a `Proxy` header no client sent."""
    return sorted(name for name in environ if name.startswith("HTTP_"))


def start_metrics_clean() -> None:
    """Prometheus multiprocess (PROMETHEUS_MULTIPROC_DIR set): every worker writes its request counts
    in that directory and /metrics sums them; a server's start empties it, so that a restart does not
    add the previous run's counts."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)
