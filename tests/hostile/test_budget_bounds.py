"""Attack: a template with a budget of 99999999999999d hung dossier start; an escalation
`after="9999999999d"` spun the worker at 100% once the step was late; `processes load` published
templates that `bpmn check` refused. Outcome: every path (the validation report behind `bpmn
check`, the editor's publish and `processes load`) refuses budgets, shared budgets and legal
limits above ten years or under a minute, escalations beyond ten years and warnAt values that
are neither a percentage nor a working duration, naming the element and the attribute, and a
refused library load publishes nothing."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlalchemy import select

from configurator import drafts
from configurator import library
from configurator.validation import validate_template
from engine.store.records import ProcessDefinitionRecord
from tests.conftest import BPMN_DIR
from tests.factories import add_units
from tests.factories import deploy_fixture
from web import cli

FIVE = (BPMN_DIR / "five_steps.bpmn").read_text()
GROUPED = FIVE.replace(
    '<motcua:defaults warnAt="75%"/>', '<motcua:defaults warnAt="75%"/><motcua:budgetGroup id="ubnd" budget="1d"/>'
)


def errors(content: str) -> list[tuple[str, str | None, str]]:
    return [
        (f.code, f.element_id, f.message)
        for f in validate_template({"t.bpmn": content.encode()}).errors
        if f.code != "legal-limit"
    ]  # an absurd budget also breaks the legal limit; not the point here


@pytest.mark.parametrize(
    "old,new,element,attribute,says",
    [
        (
            'budget="1d" status="4"',
            'budget="99999999999999d" status="4"',
            "tham_dinh",
            "motcua:step budget",
            "more than ten years of working time",
        ),
        (
            'budget="1d" status="4"',
            'budget="0.4m" status="4"',
            "tham_dinh",
            "motcua:step budget",
            "shorter than one minute",
        ),
        ('budget="1d" status="4"', 'budget="1e400d" status="4"', "tham_dinh", None, "not a working duration"),
        ('after="0h"', 'after="9999999999d"', "tham_dinh", "motcua:escalation after", "more than ten years"),
        ('warnAt="75%"', 'warnAt="abc"', "five_steps", "motcua:defaults warnAt", "neither a percentage"),
        ('warnAt="75%"', 'warnAt="100%"', "five_steps", "motcua:defaults warnAt", "neither a percentage"),
        ('warnAt="75%"', 'warnAt="99999999d"', "five_steps", "motcua:defaults warnAt", "more than ten years"),
        (
            'budget="1d" status="4"',
            'budget="1d" warnAt="-5%" status="4"',
            "tham_dinh",
            "motcua:step warnAt",
            "neither a percentage",
        ),
        (
            'legalLimit="3d"',
            'legalLimit="9999999d"',
            "five_steps",
            "motcua:procedure legalLimit",
            "more than ten years",
        ),
    ],
)
def test_an_out_of_bounds_time_is_refused_naming_the_element_and_attribute(old, new, element, attribute, says):
    [(code, found_element, message)] = errors(FIVE.replace(old, new))
    assert found_element == element and says in message
    if attribute:
        assert message.startswith(attribute)


def test_a_shared_budget_of_centuries_is_refused_on_its_group():
    content = GROUPED.replace('budget="1d"/>', 'budget="99999999999d"/>')
    [(code, element, message)] = errors(content)
    assert (code, element) == ("duration-bounds", "ubnd")
    assert message.startswith("motcua:budgetGroup budget '99999999999d' is more than ten years")


@pytest.mark.parametrize("value", ['budget="0h"', 'budget="2610d"', 'warnAt="2h"'])
def test_a_zero_budget_ten_years_and_a_duration_warning_are_allowed(value):
    assert errors(FIVE.replace('budget="1d"', value if value.startswith("budget") else f'budget="1d" {value}')) == []


def test_the_editor_cannot_publish_a_budget_of_centuries(runtime):
    add_units(runtime)
    deploy_fixture(runtime, "five_steps")
    saved = drafts.save_draft(runtime, "five_steps", FIVE.replace('after="0h"', 'after="9999999999d"').encode())
    assert [(f.code, f.element_id) for f in saved.report.errors] == [("duration-bounds", "tham_dinh")]
    with pytest.raises(drafts.PublishRefused, match="escalation after"):
        drafts.publish(runtime, "five_steps", saved.version)


@pytest.fixture
def bad_library(tmp_path):
    """The shipped library plus one procedure whose step budget is centuries long."""
    root = tmp_path / "processes"
    shutil.copytree(library.LIBRARY, root)
    steps = root / "dang_ky_khai_tu" / "v1" / "steps.json"
    table = json.loads(steps.read_text(encoding="utf-8"))
    table["steps"][1]["budget"] = "99999999999999d"
    steps.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    return root, table["steps"][1]["id"]


def test_processes_load_refuses_what_bpmn_check_refuses_and_publishes_nothing(runtime, bad_library, monkeypatch):
    root, step = bad_library
    monkeypatch.setenv("DATABASE_URL", runtime.db.url)

    answer = CliRunner().invoke(cli.main, ["processes", "load", "--dir", str(root)])

    assert answer.exit_code == 1
    assert f"dang_ky_khai_tu v1: {step}: motcua:step budget '99999999999999d' is more than ten years" in answer.output
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinitionRecord)) == 0
