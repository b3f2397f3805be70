"""`motcua serve`'s gunicorn worker (web.serving): a kept-alive connection is served again and
again, and a thread waiting on one connection never keeps another connection's request waiting."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = """
def app(environ, start_response):
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path) -> Iterator[int]:
    """gunicorn with the worker `motcua serve` runs, one worker of one thread, on a free port."""
    (tmp_path / "echo_app.py").write_text(APP)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "web.serving.LingeringThreadWorker", "--threads", "1"]
        + ["--keep-alive", "5", "-b", f"127.0.0.1:{port}", "--chdir", str(tmp_path), "--pythonpath", str(ROOT)]
        + ["echo_app:app"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60  # how long gunicorn may take to start, not a measured limit
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gunicorn did not start")


def _ask(connection: http.client.HTTPConnection, path: str) -> tuple[int, str, str | None]:
    connection.request("GET", path)
    response = connection.getresponse()
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
