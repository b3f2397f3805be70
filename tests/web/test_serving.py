"""`motcua serve`'s server (web.serving: granian with the options production runs): a kept-alive
connection is served again and again, an idle kept-alive connection holds no thread, bodies sent by
length or in chunks reach the app, SIGTERM lets a request in flight finish, and a killed worker is
started again."""

from __future__ import annotations

import email.utils
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = """
import os

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/hold":  # tells the test it is running, then waits for the test's word
        release = os.open({release!r}, os.O_RDWR)  # open first: the test's word always has a reader
        with open({started!r}, "w") as started:
            started.write("running\\n")
        os.read(release, 3)
        os.close(release)
    if path == "/pid":
        body = str(os.getpid()).encode()
    else:
        body = path.encode() + environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""
SERVE = "import sys; from web.serving import server; server('127.0.0.1', int(sys.argv[1]), 1, threads=1, app='echo_app:app').serve()"
#: Seconds a test waits at most for the server to come up or a worker to come back.
PATIENCE = 60


@dataclass
class Served:
    port: int
    process: subprocess.Popen
    started: Path
    release: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _until(condition, what: str) -> None:
    """granian binds its workers' sockets itself: a test can only ask until they answer."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {PATIENCE} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path) -> Iterator[Served]:
    """The server as `motcua serve` runs it, one worker of one thread, in front of an echo app."""
    started, release = tmp_path / "started", tmp_path / "release"
    os.mkfifo(started)
    os.mkfifo(release)
    (tmp_path / "echo_app.py").write_text(APP.format(started=str(started), release=str(release)))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,  # granian's own log
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _until(lambda: _answers(port) or process.poll() is not None, "the server answers")
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield Served(port, process, started, release)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=PATIENCE)
        if process.stdout:
            process.stdout.close()


def _ask(connection: http.client.HTTPConnection, path: str) -> tuple[int, str]:
    connection.request("GET", path)
    response = connection.getresponse()
    assert email.utils.parsedate_to_datetime(response.getheader("Date")).tzname() == "UTC"
    return response.status, response.read().decode()


def test_one_kept_alive_connection_is_answered_request_after_request(served):
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    first = _ask(connection, "/0")
    kept = connection.sock
    answers = [first] + [_ask(connection, f"/{n}") for n in range(1, 5)]
    assert answers == [(200, f"/{n}") for n in range(5)]
    assert connection.sock is kept  # still the first connection
    connection.close()


def test_an_idle_kept_alive_connection_does_not_hold_the_only_thread(served):
    """One thread: the first client stays connected without asking again; the second client is
    answered, and then the first one's next request too."""
    first = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    second = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    assert _ask(first, "/first") == (200, "/first")
    assert _ask(second, "/second") == (200, "/second")
    assert _ask(first, "/first/again") == (200, "/first/again")
    first.close()
    second.close()


def test_bodies_sent_by_length_and_in_chunks_reach_the_app_on_one_connection(served):
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    connection.request(
        "POST", "/complete", body=b'{"data": {"approved": true}}', headers={"Content-Type": "application/json"}
    )
    by_length = connection.getresponse()
    assert (by_length.status, by_length.read()) == (200, b'/complete{"data": {"approved": true}}')
    connection.request("POST", "/chunked", body=iter([b'{"data": ', b"{}}"]), encode_chunked=True)
    chunked = connection.getresponse()
    assert (chunked.status, chunked.read()) == (200, b'/chunked{"data": {}}')
    connection.close()


def test_sigterm_lets_the_request_in_flight_finish_then_stops(served):
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=PATIENCE)
    try:
        connection.request("GET", "/hold")
        with served.started.open() as started:
            assert started.readline() == "running\n"  # the app has the request
        served.process.send_signal(signal.SIGTERM)
        for line in served.process.stdout:  # the server's own log: it is stopping its worker
            if "Stopping worker" in line:
                break
        # Without blocking: were the app gone, this would fail rather than wait for a reader.
        release = os.open(served.release, os.O_WRONLY | os.O_NONBLOCK)
        os.write(release, b"go\n")
        os.close(release)
        answer = connection.getresponse()
        assert (answer.status, answer.read()) == (200, b"/hold")
    finally:
        connection.close()
    assert served.process.wait(timeout=PATIENCE) == 0


def test_a_killed_worker_is_started_again(served):
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    killed = _ask(connection, "/pid")[1]
    connection.close()
    os.kill(int(killed), signal.SIGKILL)

    def answered_by_another_worker() -> bool:
        asking = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
        try:
            answer = _ask(asking, "/pid")
        except OSError:
            return False
        finally:
            asking.close()
        return answer[0] == 200 and answer[1] != killed

    _until(answered_by_another_worker, "a new worker answers")
    assert served.process.poll() is None  # the server itself ran on


def test_production_runs_motcua_serve():
    """systemd's unit starts the same command the tests and benchmarks serve with."""
    unit = (ROOT / "deploy" / "systemd" / "motcua-web.service").read_text()
    start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert " serve " in start and "--workers" in start


def test_serve_refuses_an_environment_variable_that_would_read_as_a_request_header(monkeypatch):
    """granian copies its environment into every request's WSGI environ: an operator's HTTP_PROXY
    would reach the app as a `Proxy` header no client sent. `motcua serve` names it and stops
    before any server is made; lower-case proxy variables (what HTTP clients read too) pass."""
    from click.testing import CliRunner

    from web import serving
    from web.cli import main

    made: list[tuple] = []
    monkeypatch.setattr(serving, "server", lambda *args, **kwargs: made.append(args))
    refused = CliRunner().invoke(
        main, ["serve", "--workers", "2", "--port", "0"], env={"HTTP_PROXY": "http://proxy.example:3128"}
    )
    assert refused.exit_code == 1
    assert "HTTP_PROXY" in refused.output and "http_proxy" in refused.output
    assert made == []
    assert serving.header_like_variables({"http_proxy": "http://proxy.example:3128", "PATH": "/usr/bin"}) == []
