"""The editor's panel asks the server, as the modeller types, which values a saved template would
refuse: the same rules as the validation of a saved template, worded for the reader."""

from __future__ import annotations

from configurator import step_values
from tests.web.test_model import modelled  # noqa: F401 - fixture
from tests.web.test_model import modeller  # noqa: F401 - fixture


def test_a_warning_written_in_words_is_refused_with_the_reason(modeller):
    answer = modeller.get("/mo-hinh/kiem-tra-buoc?budget=4h&warnAt=nhiều giờ&after=2h&after=sớm").get_json()

    assert set(answer) == {"warnAt", "after-1"}
    assert answer["warnAt"].startswith("'nhiều giờ' không phải tỉ lệ phần trăm trong khoảng 0% đến 100%")
    assert "'sớm' không phải thời lượng làm việc" in answer["after-1"]


def test_the_panel_accepts_what_a_saved_template_accepts():
    assert step_values.problems({"budget": "0.5d", "warnAt": "75%", "after": ["0h", "PT4H"]}) == {}
    assert set(step_values.problems({"budget": "99999d", "warnAt": "100%", "after": ["-1h"]})) == {
        "budget",
        "warnAt",
        "after-0",
    }
    assert step_values.problems({"budget": "", "warnAt": " "}) == {}  # empty: the template's default applies
