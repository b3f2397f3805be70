"""The English interface: every workspace's signed-in pages and a complete catalogue."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import render_template_string
from flask import session
from flask_babel import force_locale

from tests.web.conftest import login
from web.i18n import gettext

WEB = Path(__file__).resolve().parents[2] / "web"
CATALOGUE = WEB / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")

# (user, page, English that must show, Vietnamese heading it replaces)
PAGES = [
    (
        "chuyen_vien_1",
        "/ban-lam-viec/",
        ["<h1>Inbox ·", "Search by dossier code or applicant", "Mine", "Team"],
        "Hộp việc ·",
    ),
    (
        "mot_cua_1",
        "/ban-lam-viec/tiep-nhan",
        ["<h1>Dossier reception</h1>", "Administrative procedure", "Save and print"],
        "Tiếp nhận hồ sơ",
    ),
    (
        "chuyen_vien_1",
        "/ban-lam-viec/vang-mat",
        ["<h1>Absences and substitutes</h1>", "Declare an absence"],
        "Đăng ký vắng mặt",
    ),
    (
        "giam_sat",
        "/giam-sat/",
        ["<h1>Dossier processing supervision</h1>", "Statistics", "On-time rate", "By commune/ward"],
        "Giám sát giải quyết hồ sơ",
    ),
    (
        "mo_hinh",
        "/mo-hinh/",
        ["<h1>Administrative procedures and process templates</h1>", "Search by procedure name or code"],
        "Thủ tục hành chính và mẫu quy trình",
    ),
]


def _catalogue():
    with CATALOGUE.open("rb") as f:
        return read_po(f, locale="en")


@pytest.mark.parametrize(
    ("username", "path", "english", "vietnamese"), PAGES, ids=[f"{user}:{path}" for user, path, _e, _v in PAGES]
)
def test_signed_in_pages_of_each_workspace_show_english_headings(client, username, path, english, vietnamese):
    login(client, username)
    vi_page = client.get(path)
    assert vi_page.status_code == 200
    assert vietnamese in vi_page.get_data(as_text=True)  # Vietnamese stays the default
    client.get(f"/ngon-ngu/en?next={path}")
    page = client.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="en"' in text
    for phrase in english:
        assert phrase in text, phrase
    assert vietnamese not in text


def test_every_message_has_an_english_translation_with_the_same_placeholders():
    catalogue = _catalogue()
    messages = [m for m in catalogue if m.id]
    assert len(messages) > 400
    untranslated = [m.id for m in messages if not (m.string or "").strip()]
    assert untranslated == []
    for m in messages:
        assert sorted(PLACEHOLDER.findall(m.id)) == sorted(PLACEHOLDER.findall(m.string)), m.id
    assert not catalogue.obsolete


def test_every_extracted_message_is_in_the_catalogue():
    catalogue = _catalogue()
    with (WEB / "translations" / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    missing = [
        (filename, message)
        for filename, _line, message, _comments, context in extract_from_dir(str(WEB), method_map, options_map)
        if catalogue.get(message if isinstance(message, str) else message[0], context=context) is None
    ]
    assert missing == []


def test_the_pages_scripts_get_their_messages_in_english(client):
    login(client, "mo_hinh")
    vietnamese = client.get("/mo-hinh/").get_data(as_text=True)
    assert "window.motcuaMessages = {}" in vietnamese  # the Vietnamese text is the message itself
    client.get("/ngon-ngu/en?next=/")
    english = client.get("/mo-hinh/").get_data(as_text=True)
    assert '"\\u0110ang l\\u01b0u\\u2026": "Saving\\u2026"' in english or '"Đang lưu…": "Saving…"' in english


VIETNAMESE = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)
TRANSLATING_CALLS = {"gettext", "_", "N_", "ngettext", "lazy_gettext"}
#: Python files whose Vietnamese is meant to stay Vietnamese in every interface language.
STAYS_VIETNAMESE = {
    "seed.py": "demo data (names, reasons) as a Vietnamese office would type them",
    "seed_citizen.py": "demo data (a fee's name, citizens' comments) as Vietnamese offices and citizens write them",
    "demo_portal.py": "demo online dossiers (names, summaries) as citizens would type them on the portal",
    "demo_records.py": "the demo citizen's data, as a Vietnamese office would type it",
    "desk/printing.py": "the printed legal forms are official documents",
    "supervise/report.py": "the statistical report is an official document, like the printed forms",
    "supervise/kpi_report.py": "the KPI report is an official document, like the statistical report",
    "supervise/satisfaction_report.py": "the satisfaction report is an official document, like the statistics report",
    "desk/step_form.py": "its table is the Vietnamese of marshmallow's English messages",
    "refusals.py": "the Vietnamese of the engine's state words, used only on Vietnamese pages",
    "i18n.py": "each language's name is written in that language",
}


def _untranslatable_literals(path: Path, catalogue) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and VIETNAMESE.search(node.value)):
            continue
        if isinstance(parents.get(node), ast.Expr) or "%d/%m" in node.value:
            continue  # a docstring, or a date format chosen by language
        ancestor = parents.get(node)
        while ancestor is not None and not (
            isinstance(ancestor, ast.Call)
            and (getattr(ancestor.func, "id", None) or getattr(ancestor.func, "attr", None)) in TRANSLATING_CALLS
        ):
            ancestor = parents.get(ancestor)
        if ancestor is None and catalogue.get(node.value) is None:
            found.append(f"{path.relative_to(WEB)}:{node.lineno}: {node.value[:60]}")
    return found


def test_no_page_text_written_in_python_escapes_the_english_catalogue():
    """Vietnamese a view puts on a page goes through gettext (or is a catalogued label), so the
    English interface never shows Vietnamese by accident. The API answers in Vietnamese."""
    catalogue = _catalogue()
    sources = [
        p
        for p in WEB.rglob("*.py")
        if "translations" not in p.parts
        and p.parts[len(WEB.parts)] != "api"
        and str(p.relative_to(WEB)) not in STAYS_VIETNAMESE
    ]
    assert [line for path in sources for line in _untranslatable_literals(path, catalogue)] == []


def test_a_text_translated_inside_force_locale_is_in_the_forced_language_and_after_it_in_the_users(app):
    heading = '{{ _("Hồ sơ có nguy cơ trễ hẹn") }}'
    with app.test_request_context("/"):
        session["lang"] = "en"  # the user chose English
        before = render_template_string(heading)
        with force_locale("vi"):  # a document that stays Vietnamese in every interface language
            forced = (render_template_string(heading), gettext("Hồ sơ có nguy cơ trễ hẹn"))
        after = render_template_string(heading)
    assert forced == ("Hồ sơ có nguy cơ trễ hẹn", "Hồ sơ có nguy cơ trễ hẹn")
    assert before == after != "Hồ sơ có nguy cơ trễ hẹn"
