"""Attack: a script that never ends (issue 12; `while` is refused at publish, but nested loops
whose every item scans a long text run for hours within the loop and operation limits). Outcome: every
evaluation stops at MAX_SECONDS (1 s, MOTCUA_SCRIPT_SECONDS) and a step's evaluations together at
MAX_STEP_SECONDS (5 s, MOTCUA_STEP_SECONDS), refused naming the element; the dossier is unchanged."""

from __future__ import annotations

import pytest

from engine.bpmn import script_env
from engine.bpmn.script_env import SafeEnvironment
from engine.bpmn.script_env import step_time_limit
from engine.domain.errors import ExpressionError
from tests.hostile.script_fixtures import assert_reception_refused_quickly

ENDLESS = """
van_ban = ghi_chu * 5
for i in range(10000):
    for j in range(10000):
        n = van_ban.count('xy')
"""


def test_nested_loops_scanning_a_long_text_stop_at_the_time_limit(runtime):
    """Each item costs about 0.1 ms and one operation: 10^8 items would run for hours."""
    assert_reception_refused_quickly(runtime, ENDLESS, {"ghi_chu": "x" * 20_000}, match="ran longer than 1.0 s")


class FakeMonotonic:
    """The deadline's clock, moved by the script itself through the `tick` helper."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def tick(self, seconds) -> None:
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch):
    fake = FakeMonotonic()
    monkeypatch.setattr(script_env, "_time", fake)
    return fake


def test_one_evaluation_is_stopped_within_one_operation_of_its_limit(fake_time):
    env = SafeEnvironment({"tick": fake_time.tick})
    data: dict = {}
    with pytest.raises(ExpressionError, match="ran longer than"):
        env.execute("n = 0\nfor i in range(100):\n    tick(0.3)\n    n += 1", data)
    assert data["n"] == 4  # 1.2 s had passed at the 5th item's charge


def test_a_step_of_many_quick_evaluations_is_stopped_at_the_step_limit(fake_time):
    env = SafeEnvironment({"tick": fake_time.tick})
    done = []
    with pytest.raises(ExpressionError, match="the step's expressions ran longer than"):
        with step_time_limit(1.9):
            for n in range(10):
                env.execute("for i in range(2):\n    tick(0.4)", {})
                done.append(n)
    assert done == [0, 1]  # the third evaluation passes 1.9 s


def test_evaluations_outside_a_step_have_no_step_limit(fake_time):
    env = SafeEnvironment({"tick": fake_time.tick})
    for _ in range(20):
        env.execute("for i in range(2):\n    tick(0.4)", {})
