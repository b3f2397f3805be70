"""Attack: a template script that builds gigabytes from a few characters (issue 12:
`f'{1:>100000}'` in a comprehension reached 2.9 GB, `[[a]*10000]*10000` 1.25 GB). Outcome: the
step is refused within seconds naming its element, by the operation budget (what each f-string
field, repetition, copy and string method builds is charged before or as it is built) or by the
state cap for what is small in memory but huge once saved; the dossier stays as it was."""

from __future__ import annotations

import pytest

from engine.bpmn.script_env import MAX_OPERATIONS
from engine.bpmn.script_env import SafeEnvironment
from engine.domain.errors import ExpressionError
from tests.hostile.script_fixtures import assert_reception_refused_quickly


@pytest.mark.parametrize(
    "script",
    [
        "x = [f'{1:>100000}' for i in range(10000)]",
        "x = ['%100000d' % i for i in range(10000)]",
        "x = [f'{ghi_chu}' for i in range(10000)]",
        "x = [ghi_chu.upper() for i in range(10000)]",
        "big = list(range(10000)) * 10\nx = [sorted(big) for i in range(10000)]",
    ],
)
def test_a_script_building_gigabytes_is_refused_by_its_operation_budget(runtime, script):
    assert_reception_refused_quickly(
        runtime, script, {"ghi_chu": "x" * 20_000}, match=f"exceeded {MAX_OPERATIONS} operations"
    )


def test_a_list_repeating_one_list_is_refused_when_it_would_be_saved(runtime):
    """10,000 references to one 10,000-item list cost 160 KB in memory but 10^8 items as text."""
    refused = assert_reception_refused_quickly(
        runtime, "x = [[ghi_chu] * 10000] * 10000", {"ghi_chu": "a"}, match="would grow past"
    )
    assert refused.params["limit"] == 1_000_000


def test_ordinary_formatting_and_copies_stay_allowed():
    env = SafeEnvironment()
    data = {"ten": "Nguyễn Văn A", "so": list(range(100))}
    env.execute("dong = [f'{i:>4}. {ten.upper()}' for i in sorted(so)]\nghep = '; '.join(dong)", data)
    assert data["dong"][0] == "   0. NGUYỄN VĂN A" and len(data["ghep"]) > 1000
    with pytest.raises(ExpressionError, match="operations"):
        env.evaluate("[f'{1:>100000}' for i in range(3)]", {})
