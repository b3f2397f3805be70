"""The citizen's lookup with its copies, as a phone and a desktop show it: the list is readable
without sideways scrolling, and the receipt opens from it."""

from __future__ import annotations

import pytest

from tests.web.browser import DESKTOP
from tests.web.browser import PHONE
from tests.web.browser import chromium  # noqa: F401 (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.test_pdf_pages import pages_of
from tests.web.test_pdf_pages import tools  # noqa: F401 (autouse: poppler and zbar read the PDFs)
from tests.web.test_public_copies import RECEIPT
from tests.web.test_public_copies import attach
from tests.web.test_public_copies import birth  # noqa: F401 (fixture)
from tests.web.test_public_copies import receive
from web.demo_files import tiny_pdf

pytestmark = pytest.mark.browser


@pytest.fixture
def app(sqlite_database, clock, tmp_path):
    from engine.services.runtime import Runtime
    from engine.store.records import UserRecord
    from tests.factories import add_units
    from tests.web.conftest import _HASH
    from web.app import create_app

    rt = Runtime(db=sqlite_database, clock=clock)
    add_units(rt)
    with rt.db.session() as s:
        for user in s.query(UserRecord):
            user.password_hash = _HASH
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": sqlite_database.url,
            "MOTCUA_CLOCK": clock,
            "SECRET_KEY": "test",
            "MOTCUA_DOCUMENTS_DIR": str(tmp_path / "documents"),
        }
    )


@pytest.fixture
def web_rt(app, sqlite_database, clock):
    from engine.services.runtime import Runtime

    return Runtime(db=sqlite_database, clock=clock)


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_the_lookup_lists_the_copies_readably_on_a_phone_and_a_desktop(app, birth, chromium, screen):  # noqa: F811
    client = app.test_client()
    dossier = receive(client, birth, "5678")
    attach(
        client,
        dossier.id,
        "result",
        "trich-luc-khai-sinh-ban-sao-dien-tu-co-chu-ky-so.pdf",
        tiny_pdf("Trich luc"),
        "application/pdf",
    )
    with live_server(app) as server:
        page = open_browser(chromium, server, None, viewport=PHONE if screen == "phone" else DESKTOP)
        page.goto(f"{server}/tra-cuu")
        page.fill("#ma", dossier.code)
        page.fill("#so", "5678")
        page.click("main button[type=submit]")
        page.wait_for_selector("#copies-heading")
        screenshot(page, f"citizen-lookup-copies-{screen}")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
            "the lookup scrolls sideways"
        )
        links = page.locator("ul.copies a")
        assert links.count() == 2
        assert links.nth(0).inner_text() == RECEIPT
        assert "Mẫu số 01 · PDF" in page.text_content("ul.copies")
        # The link serves the desk's PDF (a headless browser downloads PDFs rather than showing
        # them): its first page, rendered to PNG, carries the form's title, number and QR code.
        receipt = page.request.get(server + links.nth(0).get_attribute("href"))
        assert receipt.ok and receipt.headers["content-type"] == "application/pdf"
        text, codes = pages_of(receipt.body(), f"citizen-receipt-{screen}")
        assert RECEIPT.upper() in text and "Mẫu số 01" in text and codes
        assert page.problems == []
        page.context.close()
