"""Attack: a step saving a huge state (issue 12: `sorted([a, b]*5000)` saved 600 MB). Outcome: a
state over the cap (1,000,000 characters, MOTCUA_MAX_STATE_BYTES) is refused before it is
written, naming the element holding the data; the dossier keeps its last saved state."""

from __future__ import annotations

import pytest

from engine.bpmn import state_size
from engine.domain.errors import ExpressionError
from engine.services import dossiers
from tests.factories import RECEPTION
from tests.hostile.script_fixtures import assert_reception_refused_quickly
from tests.hostile.script_fixtures import deploy_with_reception_script
from tests.hostile.script_fixtures import open_items
from tests.hostile.script_fixtures import saved
from tests.hostile.script_fixtures import start


def test_a_sorted_repetition_of_long_text_is_refused_before_it_is_saved(runtime):
    assert_reception_refused_quickly(
        runtime, "x = sorted([a, b] * 5000)", {"a": "x" * 20_000, "b": "y"}, match="would grow past 1000000 characters"
    )


def test_form_data_over_the_cap_is_refused_naming_the_step(runtime):
    dossier = start(runtime, deploy_with_reception_script(runtime, "da_tiep_nhan = True"))
    [item] = open_items(runtime, dossier.id)
    before = saved(runtime, dossier.id)

    with pytest.raises(ExpressionError, match="would grow past") as refused:
        dossiers.complete_work_item(runtime, item.id, RECEPTION, {"ghi_chu": "x" * 1_200_000})

    assert refused.value.element_id == "tiep_nhan"
    assert saved(runtime, dossier.id) == before


def test_the_cap_is_counted_on_the_saved_text_and_can_be_set(runtime, monkeypatch):
    """Vietnamese text is saved escaped (6 characters a letter): the walk's estimate is checked
    against the text actually written."""
    dossier = start(runtime, deploy_with_reception_script(runtime, "da_tiep_nhan = True"))
    [item] = open_items(runtime, dossier.id)
    state = saved(runtime, dossier.id)[1]
    monkeypatch.setattr(state_size, "MAX_STATE_CHARS", len(state) + 20_000)

    with pytest.raises(ExpressionError, match="would grow past"):
        dossiers.complete_work_item(runtime, item.id, RECEPTION, {"ghi_chu": "ệ" * 5_000})
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {"ghi_chu": "e" * 500})
    assert open_items(runtime, dossier.id)[0].element_id == "tham_dinh"
