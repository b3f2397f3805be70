"""The English interface: every workspace's signed-in pages and a complete catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.web.conftest import login

WEB = Path(__file__).resolve().parents[2] / "web"
CATALOGUE = WEB / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")

# (user, page, English that must show, Vietnamese heading it replaces)
PAGES = [
    ("chuyen_vien_1", "/ban-lam-viec/", ["<h1>Inbox ·", "Search by dossier code or applicant", "Mine", "Team"],
     "Hộp việc ·"),
    ("mot_cua_1", "/ban-lam-viec/tiep-nhan", ["<h1>Dossier reception</h1>", "Administrative procedure",
                                              "Receive and print the appointment slip"], "Tiếp nhận hồ sơ"),
    ("chuyen_vien_1", "/ban-lam-viec/vang-mat", ["<h1>Absences and substitutes</h1>", "Declare an absence"],
     "Đăng ký vắng mặt"),
    ("giam_sat", "/giam-sat/", ["<h1>Dossier processing supervision</h1>", "Statistics", "On-time rate",
                                "By commune/ward"], "Giám sát giải quyết hồ sơ"),
    ("mo_hinh", "/mo-hinh/", ["<h1>Administrative procedures and process templates</h1>",
                              "Search by procedure name or code"], "Thủ tục hành chính và mẫu quy trình"),
]


def _catalogue():
    with CATALOGUE.open("rb") as f:
        return read_po(f, locale="en")


@pytest.mark.parametrize(("username", "path", "english", "vietnamese"), PAGES,
                         ids=[f"{user}:{path}" for user, path, _e, _v in PAGES])
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
    missing = [(filename, message) for filename, _line, message, _comments, context
               in extract_from_dir(str(WEB), method_map, options_map)
               if catalogue.get(message if isinstance(message, str) else message[0], context=context) is None]
    assert missing == []


def test_the_pages_scripts_get_their_messages_in_english(client):
    login(client, "mo_hinh")
    vietnamese = client.get("/mo-hinh/").get_data(as_text=True)
    assert "window.motcuaMessages = {}" in vietnamese  # the Vietnamese text is the message itself
    client.get("/ngon-ngu/en?next=/")
    english = client.get("/mo-hinh/").get_data(as_text=True)
    assert '"\\u0110ang l\\u01b0u\\u2026": "Saving\\u2026"' in english or '"Đang lưu…": "Saving…"' in english
