"""Reception asks nothing twice, in a real browser (htmx swaps): the officer ticks a paper, types
the citizen's ID number, and the empty fields fill while the two items the data store holds are
marked and ticked for reuse, the paper tick staying; saving prints the slip listing them."""

from __future__ import annotations

import pytest

from engine.documents import FolderStore
from engine.services.runtime import Runtime
from engine.store.records import UserRecord
from tests.engine.test_citizen_store import CITIZEN
from tests.factories import add_units
from tests.web.browser import DESKTOP
from tests.web.browser import PHONE
from tests.web.browser import chromium  # noqa: F401  (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.conftest import _HASH
from tests.web.test_citizen_records import app  # noqa: F401  (fixture)
from tests.web.test_citizen_records import configured  # noqa: F401  (fixture)
from tests.web.test_citizen_records import loaded  # noqa: F401  (fixture)
from tests.web.test_citizen_records import returned_first  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def web_rt(sqlite_database, clock, tmp_path) -> Runtime:
    rt = Runtime(db=sqlite_database, clock=clock, documents=FolderStore(tmp_path / "documents"))
    add_units(rt)
    with rt.db.session() as s:
        for user in s.query(UserRecord):
            user.password_hash = _HASH
    return rt


def fill_by_number(page, server) -> None:
    page.goto(f"{server}/ban-lam-viec/tiep-nhan")
    page.select_option("select[name=definition_id]", label="Đăng ký kết hôn (1.000894)")
    page.wait_for_selector("#catalogue input[name=file_0]")
    page.check("#catalogue input[name=documents][value='0']")
    page.fill("input[name=id_number]", CITIZEN)
    page.press("input[name=id_number]", "Tab")
    page.wait_for_selector(".in-store >> nth=1")


def test_typing_the_id_number_fills_the_form_and_marks_what_the_store_holds(returned_first, app, chromium):  # noqa: F811
    # (The result is signed before Playwright starts: pyHanko runs asyncio.run inside, which refuses
    # to run in a thread whose event loop Playwright's sync API already holds.)
    with live_server(app) as server:
        desk = open_browser(chromium, server, "mot_cua_1", viewport=DESKTOP)
        fill_by_number(desk, server)
        assert desk.input_value("#applicant_name") == "Trần Thị Bình"
        assert desk.input_value("#phone") == "0912345678"
        assert desk.is_checked("#catalogue input[name=documents][value='0']")  # the paper tick stayed
        assert desk.is_checked("input[name=reuse_1]") and desk.is_checked("input[name=reuse_2]")
        assert "Đã có trong kho dữ liệu" in desk.text_content("#store-mark-1")
        screenshot(desk, "citizen-store-reception-desktop")
        phone = open_browser(chromium, server, "mot_cua_1", viewport=PHONE)
        fill_by_number(phone, server)
        screenshot(phone, "citizen-store-reception-phone")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert desk.problems == [] and phone.problems == []
        desk.click("#reception-form button[type=submit]")
        desk.wait_for_url(lambda url: "/in/" in url)
        slip = desk.text_content("article.paper")
        assert "Giấy xác nhận tình trạng hôn nhân" in slip and "Giấy tờ tùy thân của hai bên" in slip
        screenshot(desk, "citizen-store-slip-desktop")
