"""The engine's refusals in the reader's language: English templates with named values in the
engine, Vietnamese through the "engine" catalogue on the pages, English on the English pages."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from flask import session

from configurator.validation import validate_template
from engine.domain.assignment import Actor
from engine.domain.assignment import refusal_to_work
from engine.domain.errors import ConflictError
from engine.domain.errors import InvalidAction
from engine.domain.errors import PermissionDenied
from engine.domain.errors import Reason
from web.model.labels import finding_dict
from web.refusals import localised
from web.translations import engine_messages

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")


def test_an_engine_error_keeps_its_template_and_values_beside_the_english_text():
    error = InvalidAction("dossier %(code)s is %(state)s; nothing can move it now", code="X-1", state="suspended")
    assert error.message == str(error) == "dossier X-1 is suspended; nothing can move it now"
    assert error.template.startswith("dossier %(code)s") and error.params == {"code": "X-1", "state": "suspended"}


def test_every_template_the_code_raises_has_vietnamese_with_the_same_placeholders():
    templates = engine_messages.extract()
    catalogue = engine_messages.read_catalogue()
    assert len(templates) > 80
    missing = [t for t in templates if catalogue.get(t) is None or not catalogue.get(t).string]
    assert missing == [], "run web/translations/engine_messages.py and translate these"
    for template in templates:
        assert sorted(PLACEHOLDER.findall(template)) == sorted(PLACEHOLDER.findall(catalogue.get(template).string))
    stale = [m.id for m in catalogue if m.id and m.id not in templates]
    assert stale == [], "messages no code raises any more: run web/translations/engine_messages.py"


def test_no_engine_error_is_raised_with_a_message_a_translator_cannot_see():
    """An f-string message cannot be looked up in the catalogue: values go as named arguments."""
    classes = engine_messages.error_classes() - engine_messages.UNTRANSLATED
    offenders = []
    for source in engine_messages.SOURCES:
        for path in (ROOT / source).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.JoinedStr):
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in classes or name in engine_messages.MARKERS:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    findings, methods = engine_messages.FINDINGS
    for node in ast.walk(ast.parse((ROOT / findings).read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) in methods
            and len(node.args) > 1
            and isinstance(node.args[1], ast.JoinedStr)
        ):
            offenders.append(f"{findings}:{node.lineno}")
    assert offenders == []


@pytest.fixture
def in_language(app):
    def use(language: str):
        context = app.test_request_context("/")
        context.push()
        session["lang"] = language
        return context

    contexts = []
    yield lambda language: contexts.append(use(language))
    for context in reversed(contexts):
        context.pop()


def test_a_refusal_reads_in_vietnamese_with_its_names_and_in_english_on_english_pages(in_language):
    reason = refusal_to_work(
        Actor("tu_phap_1", frozenset({"tu_phap_ho_tich"}), "00070"), unit_code="00070", role="lanh_dao", assignee=None
    )
    in_language("vi")
    assert (
        localised(PermissionDenied.because(reason))
        == "Bước này cần vai trò lanh_dao; tu_phap_1 có vai trò tu_phap_ho_tich."
    )
    in_language("en")
    assert (
        localised(PermissionDenied.because(reason)) == "the step needs role 'lanh_dao'; tu_phap_1 has tu_phap_ho_tich"
    )


def test_states_nested_reasons_and_dates_are_put_back_in_vietnamese(in_language):
    in_language("vi")
    done = ConflictError(
        "step '%(step)s' is already %(state)s by %(user)s", step="Ký duyệt", state="completed", user="lanh_dao_1"
    )
    assert localised(done) == "Bước “Ký duyệt” đã hoàn thành bởi lanh_dao_1."
    nested = InvalidAction(
        "%(reason)s; declare the absence for a role they hold",
        reason=Reason.of("%(user)s does not have role '%(role)s'", user="tu_phap_2", role="mot_cua"),
    )
    assert localised(nested) == "tu_phap_2 không có vai trò mot_cua. Hãy đăng ký vắng mặt cho một vai trò người đó có."
    dated = InvalidAction(
        "the absence ends (%(end)s) before it starts (%(start)s)", end=date(2026, 3, 1), start=date(2026, 3, 2)
    )
    assert localised(dated) == "Ngày kết thúc (01/03/2026) trước ngày bắt đầu (02/03/2026)."


def test_validation_findings_read_in_the_modellers_language(in_language):
    from tests.configurator.test_validation import bpmn
    from tests.configurator.test_validation import chain
    from tests.configurator.test_validation import task

    report = validate_template({"p.bpmn": bpmn(chain(task("t1", role=None), task("t2", budget="3x")))})
    missing_role = next(f for f in report.errors if f.code == "role-missing")
    bad_budget = next(f for f in report.errors if f.code == "duration")
    assert missing_role.message.startswith("step 't1' has no role")  # the CLI's and the API's English
    in_language("vi")
    assert localised(missing_role) == "Bước “t1” chưa có vai trò (motcua:step role, candidate groups hoặc làn)."
    assert localised(bad_budget).startswith("Thời hạn bước “3x” không phải thời lượng làm việc")
    assert finding_dict(missing_role)["message"] == localised(missing_role)
    in_language("en")
    assert localised(bad_budget).startswith("budget '3x' is not a working duration like 4h")


def test_a_message_missing_from_the_catalogue_shows_in_english_rather_than_not_at_all(in_language):
    in_language("vi")
    assert (
        localised(InvalidAction("something new went wrong with %(what)s", what="X"))
        == "something new went wrong with X"
    )


def test_the_shared_error_page_shows_the_refusal_in_the_readers_language(app):
    """Not only the desk: a refusal raised by any view reaches the error page translated."""

    @app.get("/thu-tu-choi")
    def refuse():
        raise PermissionDenied(
            "only a leader of unit %(unit)s may issue the apology letter for dossier %(code)s", unit="00070", code="X-1"
        )

    client = app.test_client()
    page = client.get("/thu-tu-choi")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "Không được phép" in text
    assert "Chỉ lãnh đạo đơn vị 00070 được lập phiếu xin lỗi và hẹn lại cho hồ sơ X-1." in text
    client.get("/ngon-ngu/en?next=/")
    english = client.get("/thu-tu-choi").get_data(as_text=True)
    assert "Not allowed" in english
    assert "only a leader of unit 00070 may issue the apology letter for dossier X-1" in english
    assert "Chỉ lãnh đạo" not in english
