"""The catalogue on the web: a modeller creates, edits, retires and restores entries, with each
field checked as an import checks it (errors beside the field, nothing written) and a history of
who changed what and when."""

from __future__ import annotations

import html

import pytest

from configurator import catalogue
from configurator import catalogue_edits
from configurator import drafts
from engine.domain.errors import InvalidAction
from tests.conftest import BPMN_DIR
from tests.web.conftest import csrf_token
from tests.web.conftest import login
from tests.web.test_model import KEY
from tests.web.test_model import modelled  # noqa: F401 - fixture
from tests.web.test_model import modeller  # noqa: F401 - fixture

NEW = {
    "key": "xac_nhan_cu_tru",
    "code": "1.000111",
    "name": "Xác nhận thông tin cư trú",
    "field_code": "",
    "field_name": "Cư trú",
    "level": "commune",
    "legal_limit": "",
    "same_day": "1",
    "clock_cutoff": "15:00",
    "fee-0-name": "Lệ phí",
    "fee-0-amount": "8.000",
    "fee-0-note": "",
    "doc-0-name": "Tờ khai thay đổi thông tin cư trú",
    "doc-0-copies": "1",
    "doc-0-original": "1",
    "doc-1-name": "Giấy tờ chứng minh chỗ ở",
    "doc-1-copies": "2",
    "doc-1-original": "0",
    "form-0-code": "CT01",
    "form-0-name": "Tờ khai thay đổi thông tin cư trú",
    "result": "Văn bản xác nhận",
    "legal_basis": "Luật Cư trú 2020\nNghị định 154/2024/NĐ-CP",
}


def post(client, url: str, fields: dict):
    token = csrf_token(client.get("/mo-hinh/danh-muc/moi").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **fields})


def test_a_modeller_adds_an_entry_and_the_desk_will_show_its_checklist(modeller, modelled):
    page = modeller.get("/mo-hinh/").get_data(as_text=True)
    assert 'href="/mo-hinh/danh-muc/moi"' in page

    saved = post(modeller, "/mo-hinh/danh-muc/moi", NEW)

    assert saved.status_code == 302 and saved.headers["Location"].endswith("/mo-hinh/danh-muc/xac_nhan_cu_tru")
    entry = catalogue.get(modelled, "xac_nhan_cu_tru")
    assert entry.same_day and entry.clock_cutoff == "15:00" and entry.field_name == "Cư trú"
    assert entry.fees == [{"name": "Lệ phí", "amount_vnd": 8000, "note": None}]
    assert entry.required_documents == [
        {"name": "Tờ khai thay đổi thông tin cư trú", "copies": 1, "original": True},
        {"name": "Giấy tờ chứng minh chỗ ở", "copies": 2, "original": False},
    ]
    assert entry.forms == [{"code": "CT01", "name": "Tờ khai thay đổi thông tin cư trú"}]
    assert entry.legal_basis == ["Luật Cư trú 2020", "Nghị định 154/2024/NĐ-CP"]
    [created] = catalogue_edits.history(modelled, "xac_nhan_cu_tru")
    assert (created.actor, created.action) == ("mo_hinh", "create") and created.changes["name"][1] == NEW["name"]
    shown = html.unescape(modeller.get("/mo-hinh/danh-muc/xac_nhan_cu_tru").get_data(as_text=True))
    assert 'value="Giấy tờ chứng minh chỗ ở"' in shown and "Tạo mới" in shown and "8.000 đ" in shown


def test_every_bad_field_is_named_beside_it_and_nothing_is_written(modeller, modelled):
    before = catalogue.search(modelled).total
    bad = {
        **NEW,
        "code": "1001193",
        "same_day": "",
        "legal_limit": "nhiều ngày",
        "clock_cutoff": "25:00",
        "fee-0-amount": "tám nghìn",
        "doc-1-copies": "0",
        "name": "",
    }

    refused = post(modeller, "/mo-hinh/danh-muc/moi", bad)

    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and catalogue.search(modelled).total == before
    for name in ("code", "legal_limit", "clock_cutoff", "fee-0", "doc-1", "name"):
        assert f'id="error-{name}"' in page, name
    assert "'nhiều ngày' không phải số ngày làm việc" in page  # the import's own check, in Vietnamese
    assert 'value="tám nghìn"' in page and 'value="1001193"' in page  # what was typed is kept
    assert catalogue_edits.history  # nothing to read: the entry does not exist
    taken = post(modeller, "/mo-hinh/danh-muc/moi", {**NEW, "key": KEY})
    assert taken.status_code == 422 and 'id="error-key"' in taken.get_data(as_text=True)


def test_web_and_import_accept_the_same_entry(modelled):
    with pytest.raises(catalogue.CatalogueError) as from_import:
        catalogue.import_json(modelled, {"key": "k", "name": "N", "level": "huyện", "legal_limit_days": "0.3"})
    with pytest.raises(catalogue.CatalogueError) as from_web:
        catalogue_edits.create(
            modelled, {"key": "k", "name": "N", "level": "huyện", "legal_limit_days": "0.3"}, "mo_hinh"
        )
    assert (
        [(p.field, p.message) for p in from_import.value.problems]
        == [(p.field, p.message) for p in from_web.value.problems]
        == [
            ("level", "'huyện' is not one of commune, province"),
            ("legal_limit_days", "'0.3': limits count in half working days"),
        ]
    )


def test_an_edit_is_kept_in_the_history_with_before_and_after(modeller, modelled):
    page = modeller.get(f"/mo-hinh/danh-muc/{KEY}").get_data(as_text=True)
    assert 'name="key" value="dang_ky_khai_sinh" readonly' in page
    form = {**NEW, "key": KEY, "name": "Đăng ký khai sinh", "fee-0-amount": "10000"}

    saved = post(modeller, f"/mo-hinh/danh-muc/{KEY}", form)

    assert saved.status_code == 302
    entry = catalogue.get(modelled, KEY)
    assert entry.fees[0]["amount_vnd"] == 10000 and entry.sources  # the import's sources stay
    latest = catalogue_edits.history(modelled, KEY)[0]
    assert latest.actor == "mo_hinh" and latest.action == "update"
    assert latest.changes["fees"][1] == [{"name": "Lệ phí", "amount_vnd": 10000, "note": None}]
    shown = html.unescape(modeller.get(f"/mo-hinh/danh-muc/{KEY}").get_data(as_text=True))
    assert "Phí, lệ phí" in shown and "Lệ phí: 10.000 đ" in shown and "<td>mo_hinh</td>" in shown


def test_a_retired_entry_stays_readable_but_gets_no_new_template(modeller, modelled):
    catalogue.import_json(
        modelled, {"key": "thu_tuc_cu", "name": "Thủ tục cũ", "level": "commune", "legal_limit_days": 2}
    )
    retired = post(modeller, "/mo-hinh/danh-muc/thu_tuc_cu/ngung-ap-dung", {})
    assert retired.status_code == 302 and catalogue.get(modelled, "thu_tuc_cu").retired

    listing = modeller.get("/mo-hinh/?q=thu tuc cu").get_data(as_text=True)
    assert "Ngừng áp dụng" in listing and "lập bảng bước" not in listing
    assert "Ngừng áp dụng" in modeller.get("/mo-hinh/danh-muc/thu_tuc_cu").get_data(as_text=True)
    with pytest.raises(InvalidAction, match="retired"):
        five = (BPMN_DIR / "five_steps.bpmn").read_bytes()
        drafts.save_draft(modelled, "thu_tuc_cu", five.replace(b"five_steps", b"thu_tuc_cu"))
    assert [c.action for c in catalogue_edits.history(modelled, "thu_tuc_cu")] == ["retire", "import"]

    post(modeller, "/mo-hinh/danh-muc/thu_tuc_cu/ap-dung-lai", {})
    assert not catalogue.get(modelled, "thu_tuc_cu").retired
    assert "lập bảng bước" in modeller.get("/mo-hinh/?q=thu tuc cu").get_data(as_text=True)


def test_only_modellers_edit_the_catalogue(client, modelled):
    login(client, "giam_sat")
    assert client.get("/mo-hinh/danh-muc/moi").status_code in (302, 403)
