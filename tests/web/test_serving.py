"""`motcua serve`'s gunicorn worker and options (web.serving): a kept-alive connection is served
again and again, a thread waiting on one connection never keeps another connection's request
waiting, and bodies sent by length or in chunks reach the app on a kept-alive connection."""

from __future__ import annotations

import email.utils
import http.client
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.serving import GUNICORN_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
APP = """
def app(environ, start_response):
    body = environ["PATH_INFO"].encode() + environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path) -> Iterator[int]:
    """gunicorn with the options `motcua serve` runs, one worker of one thread, on a socket this
    test opened and listens on already (`fd://`): a request sent before gunicorn is up waits in
    the socket's backlog, so nothing has to poll for it to start."""
    (tmp_path / "echo_app.py").write_text(APP)
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *GUNICORN_OPTIONS, "--threads", "1"]
            + ["-b", f"fd://{listening.fileno()}", "--chdir", str(tmp_path)]
            + ["--pythonpath", str(ROOT), "echo_app:app"],
            pass_fds=[listening.fileno()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield listening.getsockname()[1]
        finally:
            process.terminate()
            process.wait(timeout=30)


def _ask(connection: http.client.HTTPConnection, path: str) -> tuple[int, str, str | None]:
    connection.request("GET", path)
    response = connection.getresponse()
    assert email.utils.parsedate_to_datetime(response.getheader("Date")).tzname() == "UTC"
    return response.status, response.read().decode(), response.getheader("Connection")


def test_one_kept_alive_connection_is_answered_request_after_request(served):
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=30)
    answers = [_ask(connection, f"/{n}") for n in range(5)]
    assert answers == [(200, f"/{n}", "keep-alive") for n in range(5)]
    assert connection.sock is not None  # still the first connection
    connection.close()


def test_an_idle_kept_alive_connection_does_not_hold_the_only_thread(served):
    """One thread: the first client stays connected without asking again; the second client is
    answered, and then the first one's next request too."""
    first = http.client.HTTPConnection("127.0.0.1", served, timeout=30)
    second = http.client.HTTPConnection("127.0.0.1", served, timeout=30)
    assert _ask(first, "/first")[:2] == (200, "/first")
    assert _ask(second, "/second")[:2] == (200, "/second")
    assert _ask(first, "/first/again")[:2] == (200, "/first/again")
    first.close()
    second.close()


def test_bodies_sent_by_length_and_in_chunks_reach_the_app_on_one_connection(served):
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=30)
    connection.request(
        "POST", "/complete", body=b'{"data": {"approved": true}}', headers={"Content-Type": "application/json"}
    )
    by_length = connection.getresponse()
    assert (by_length.status, by_length.read()) == (200, b'/complete{"data": {"approved": true}}')
    connection.request("POST", "/chunked", body=iter([b'{"data": ', b"{}}"]), encode_chunked=True)
    chunked = connection.getresponse()
    assert (chunked.status, chunked.read()) == (200, b'/chunked{"data": {}}')
    connection.close()


def test_production_gunicorn_runs_with_the_options_motcua_serve_runs_with(monkeypatch, tmp_path):
    """deploy/gunicorn.conf.py (what systemd starts) and `motcua serve` agree: the same worker,
    keep-alive and request parser, so that what the tests and benchmarks serve is what runs."""
    from gunicorn.app.wsgiapp import WSGIApplication

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "web.wsgi:app"])
    production = WSGIApplication().cfg
    monkeypatch.setattr(sys, "argv", ["gunicorn", *GUNICORN_OPTIONS, "web.wsgi:app"])
    served = WSGIApplication().cfg
    for setting in ("worker_class_str", "keepalive", "http_parser"):
        assert getattr(production, setting) == getattr(served, setting), setting
    assert served.http_parser == "python"  # named: "auto" would take any gunicorn_h1c installed


def test_production_gunicorn_starts_with_the_app_told_of_nginx_in_front(monkeypatch, tmp_path):
    """deploy/README: behind deploy/nginx.conf, MOTCUA_TRUSTED_PROXY=1 (the app's ProxyFix then reads
    the client's address from X-Forwarded-For). gunicorn's configuration used to hand that number to
    its own forwarded_allow_ips, an address list, and refused to start with it."""
    from gunicorn.app.wsgiapp import WSGIApplication

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("MOTCUA_TRUSTED_PROXY", "1")
    monkeypatch.setattr(sys, "argv", ["gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "web.wsgi:app"])
    production = WSGIApplication().cfg
    assert production.forwarded_allow_ips == ["127.0.0.1", "::1"]  # nginx on the same machine
