"""In Chromium, on a phone and a desktop: the citizen rates a finished dossier from the lookup page
(once), and an officer sees the top bar's unread count (htmx), opens the list and marks it read."""

from __future__ import annotations

import pytest

from tests.web.browser import DESKTOP
from tests.web.browser import PHONE
from tests.web.browser import chromium  # noqa: F401 (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.test_notices import deliver
from tests.web.test_public_rating import finished_dossier

pytestmark = pytest.mark.browser
SCREENS = {"phone": PHONE, "desktop": DESKTOP}


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_citizen_rates_a_finished_dossier(app, web_rt, chromium, screen):  # noqa: F811
    dossier = finished_dossier(web_rt)
    with live_server(app) as server:
        page = open_browser(chromium, server, None, viewport=SCREENS[screen])
        page.goto(f"{server}/tra-cuu")
        page.fill("#ma", dossier.code)
        page.fill("#so", "5678")
        page.click("form.lookup button[type=submit]")
        page.wait_for_selector("#rating-heading")
        for criterion, score in (("time", "2"), ("attitude", "2"), ("information", "1"), ("result", "1")):
            page.check(f"input[name={criterion}][value='{score}']")
        page.fill("textarea[name=comment]", "Cán bộ hướng dẫn tận tình")
        screenshot(page, f"citizen-rating-form-{screen}")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
        page.click("form.rating-form button[type=submit]")
        page.wait_for_selector("[data-rated]")
        assert "Cảm ơn ông/bà đã đánh giá" in page.inner_text("body")
        assert page.locator("input[name=attitude]").count() == 0  # once per dossier
        screenshot(page, f"citizen-rating-done-{screen}")
        assert page.problems == []


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_officer_reads_the_notification_centre(app, web_rt, clock, chromium, screen):  # noqa: F811
    deliver(
        web_rt,
        clock,
        "chuyen_vien_1",
        "Sắp đến hạn: bước «Thẩm định» hồ sơ 01.00070-260302-0001",
        "Quá hạn: bước «Thẩm định» hồ sơ 01.00070-260302-0002",
    )
    with live_server(app) as server:
        page = open_browser(chromium, server, "chuyen_vien_1", viewport=SCREENS[screen])
        page.wait_for_selector("header.top [data-unread='2']")  # htmx fetched the count
        page.click("header.top a.notices-link")
        page.wait_for_selector("li.notice.unread")
        assert page.locator("li.notice.unread").count() == 2
        screenshot(page, f"officer-notices-{screen}")
        page.locator("li.notice.unread button").first.click()
        page.wait_for_selector("header.top [data-unread='1']")
        page.click("text=Đánh dấu tất cả đã đọc")
        page.wait_for_selector("[data-unread-total='0']")
        assert page.locator("li.notice.unread").count() == 0
        assert page.locator("header.top [data-unread]").count() == 0
        screenshot(page, f"officer-notices-read-{screen}")
        assert page.problems == []
