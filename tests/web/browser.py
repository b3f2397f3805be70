"""What the browser tests share: Debian's Chromium driven by Playwright, the app served on a free
port, a signed-in tab that records what went wrong in the page, and full-page screenshots.

MOTCUA_CHROMIUM names the Chromium binary (e.g. /usr/bin/chromium); without it the tests skip,
and in CI (CI=true) they fail. Screenshots always go to <repo>/test-artifacts/screenshots/."""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.web.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 1000}
TIMEOUT_MS = 15_000


@pytest.fixture
def chromium():
    """A headless Chromium (a Playwright Browser), closed after the test."""
    path = os.environ.get("MOTCUA_CHROMIUM")
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail("MOTCUA_CHROMIUM must name a Chromium binary in CI")
        pytest.skip("set MOTCUA_CHROMIUM to a Chromium binary (e.g. /usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def live_server(app):
    """Serve the app on 127.0.0.1 on a free port in a thread; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, _closed_when_done(app), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def _closed_when_done(app):
    """The app with each answer closed as soon as it has been iterated. werkzeug's development
    server closes an answer only after draining the socket, and when the browser has already
    dropped the connection (it navigated on) that drain raises first: a static file's answer (a
    304 for the favicon, say) was left for the garbage collector to close, a ResourceWarning that
    failed a journey test now and then."""

    def serve(environ, start_response):
        answer = app(environ, start_response)
        try:
            yield from answer
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    return serve


#: The screens the record's pages are looked at on: an office desktop and a phone.
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def open_browser(
    chromium,
    base_url: str,
    username: str | None,
    *,
    home: str | None = None,
    viewport: dict | None = None,
    touch: bool = False,
):
    """A new tab in its own browser context (its own cookies), signed in as `username` (or not
    signed in when None). `page.problems` collects script errors and failed responses (the favicon's
    too); `home`, when given, is the path the sign-in must land on; `touch` makes it a touch screen."""
    context = chromium.new_context(viewport=viewport or VIEWPORT, accept_downloads=True, has_touch=touch)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.problems = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and page.problems.append(message.text)
        ),
    )
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on(
        "response",
        lambda response: response.status >= 400 and page.problems.append(f"{response.status} {response.url}"),
    )
    if username is not None:
        page.goto(f"{base_url}/dang-nhap")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        if home is not None:
            page.wait_for_url(f"{base_url}{home}")
        else:
            page.wait_for_url(lambda url: "/dang-nhap" not in url)
    return page


def screenshot(page, name: str) -> Path:
    """A full-page PNG of what the tab shows, saved as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
