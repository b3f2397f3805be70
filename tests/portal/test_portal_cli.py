"""`motcua portal …` as an operator runs it: configure (a wrong setting is named, nothing saved),
reconcile (the differences, exit code 1), and `simulate` as its own process on a port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

from click.testing import CliRunner

from engine.services import dossiers
from engine.services import outbox
from engine.services.delivery import default_channels
from engine.services.portal_simulator import PortalSimulator
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture
from web.cli import main


def run(rt, *args):
    return CliRunner().invoke(main, ["portal", *args], env={"DATABASE_URL": rt.db.url})


def test_configure_then_reconcile_lists_what_the_portal_lacks(runtime, clock):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    simulator = PortalSimulator(token="t").start()
    try:
        wrong = run(
            runtime,
            "configure",
            "--province",
            "01",
            "--endpoint",
            simulator.url,
            "--token",
            "t",
            "--platform-code",
            "123",
        )
        assert wrong.exit_code != 0 and "platform_code" in wrong.output
        assert run(runtime, "configure", "--province", "01", "--endpoint", simulator.url, "--token", "t").exit_code == 0
        first = dossiers.start_dossier(
            runtime, definition_id=definition.id, unit_code="00070", applicant_name="A", actor=RECEPTION
        )
        outbox.deliver_due(runtime, default_channels())
        assert run(runtime, "reconcile").output.startswith(
            "province 01: 1 dossiers here, 1 at the portal, 0 differences"
        )

        simulator.state.modes.append("refuse")
        second = dossiers.start_dossier(
            runtime, definition_id=definition.id, unit_code="00070", applicant_name="B", actor=RECEPTION
        )
        outbox.deliver_due(runtime, default_channels())
        result = run(runtime, "reconcile", "--json")
        assert result.exit_code == 1
        assert [json.loads(line) for line in result.output.splitlines()] == [
            {
                "province": "01",
                "code": second.code,
                "what": "missing_at_portal",
                "ours": str(second.status),
                "portal": None,
            }
        ]
        assert first.code not in result.output
        assert "dead: 1" in run(runtime, "backlog").output
    finally:
        simulator.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_simulate_serves_the_portal_on_its_port():
    port = _free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "web.cli", "portal", "simulate", "--port", str(port), "--token", "x"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as process:
        try:
            deadline = time.monotonic() + 60  # a loaded machine imports the CLI slowly
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/received", timeout=1) as answer:
                        assert json.loads(answer.read()) == {"events": [], "deliveries": 0, "duplicates": 0}
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                raise AssertionError("the simulator did not answer")
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/hoso")
            try:
                urllib.request.urlopen(request, timeout=1)
                raise AssertionError("no token, no answer")
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
        finally:
            process.terminate()
            process.wait(timeout=10)
