"""gunicorn for motcua in production: `gunicorn -c deploy/gunicorn.conf.py web.wsgi:app`
(deploy/systemd/motcua-web.service runs exactly that). Environment: deploy/README.md."""

import os
import shutil
from pathlib import Path

bind = os.environ.get("MOTCUA_BIND", "127.0.0.1:8000")  # nginx in front terminates TLS
workers = int(os.environ.get("MOTCUA_WEB_WORKERS", "2"))
# Threaded workers keep keep-alive connections (API clients) and pooled database connections;
# web.serving's lets the thread that answered a connection serve its next request straight away.
worker_class = "web.serving.LingeringThreadWorker"
threads = int(os.environ.get("MOTCUA_WEB_THREADS", "4"))
keepalive = 5
http_parser = "python"  # as `motcua serve` (web.serving.GUNICORN_OPTIONS says why)
timeout = 60  # a request running longer is stuck: its worker is replaced
graceful_timeout = 30  # SIGTERM: requests in flight get this long to finish
max_requests = 5000  # recycle workers now and then (memory of long-lived processes)
max_requests_jitter = 500
# X-Forwarded-For/-Proto are the app's to read (MOTCUA_TRUSTED_PROXY, a number of proxies, for
# werkzeug's ProxyFix); gunicorn's own forwarded_allow_ips keeps its default, the local nginx.
accesslog = None  # motcua writes its own access line (JSON, with request id, user and unit)
errorlog = "-"

PROMETHEUS_DIR = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/run/motcua/prometheus"))


def on_starting(_server):
    """Every worker writes its request metrics here and /metrics sums them; a restart starts clean."""
    shutil.rmtree(PROMETHEUS_DIR, ignore_errors=True)
    PROMETHEUS_DIR.mkdir(parents=True, exist_ok=True)


def child_exit(_server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
