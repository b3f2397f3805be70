"""The editor never lies, in a real browser: a session of create, delete, save and undo throws no
console or page error, the findings list and the diagram's markers always agree with each other
and with the elements on the diagram, a panel value the rules refuse is refused as it is typed,
and bpmn-js's own menus speak Vietnamese. The catalogue pages are looked at on a desktop and a
phone."""

from __future__ import annotations

import pytest

from configurator import drafts
from tests.web.browser import DESKTOP
from tests.web.browser import PHONE
from tests.web.browser import chromium  # noqa: F401  (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.test_model import KEY
from tests.web.test_model import modelled  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def server(app, modelled):  # noqa: F811
    with live_server(app) as url:
        yield url


def shape(element_id: str) -> str:
    return f'#canvas g.djs-element.djs-shape[data-element-id="{element_id}"]'


def entry(where: str, label: str) -> str:
    """A palette or context-pad entry by its label (bpmn-js puts it in aria-label or title)."""
    return f'{where} .entry[aria-label="{label}"], {where} .entry[title="{label}"]'


def marked_ids(page) -> set[str]:
    return set(
        page.eval_on_selector_all(
            "#canvas g.djs-element.finding-error, #canvas g.djs-element.finding-warning",
            "nodes => nodes.map(n => n.dataset.elementId)",
        )
    )


def listed_ids(page) -> set[str]:
    return {
        i
        for ids in page.eval_on_selector_all("#findings button", "nodes => nodes.map(n => n.dataset.elementIds)")
        for i in ids.split()
    }


def save_and_wait(page, saves: list) -> str:
    saves.append(1)
    page.click("#save")
    page.wait_for_function(f"Number(document.getElementById('editor').dataset.saves || 0) >= {len(saves)}")
    return page.locator("#save-status").text_content()


def test_create_delete_save_undo_without_an_error_and_the_list_always_matches_the_diagram(chromium, server, modelled):  # noqa: F811
    page = open_browser(chromium, server, "mo_hinh", home="/mo-hinh/", viewport=DESKTOP)
    page.goto(f"{server}/mo-hinh/{KEY}/v1/sua")
    page.wait_for_selector('#editor[data-ready="true"]')
    saves: list = []

    # bpmn-js's palette and context pad are Vietnamese.
    assert page.locator(entry(".djs-palette", "Tạo bước (task)")).count() == 1
    page.click(shape("ky_duyet"))
    assert page.locator(entry(".djs-context-pad", "Xoá")).count() == 1

    # A warning written "nhiều giờ" is refused beside the field, with the reason, and not written.
    page.fill("#step-form input[name=warnAt]", "nhiều giờ")
    page.wait_for_selector("#step-form .field-error")
    assert "không phải tỉ lệ phần trăm" in page.locator("#step-form .field-error").text_content()
    page.click("#step-form input[name=role]")  # leaving the field applies the panel
    screenshot(page, "model-editor-refused-value")

    # Create: a task appended to the leader's step has no way out, so saving finds an error on it.
    page.click("#canvas svg", position={"x": 700, "y": 560})  # nothing selected
    page.click(shape("ky_duyet"))
    page.click(entry(".djs-context-pad", "Nối bước (task)"))
    new_id = page.eval_on_selector("#canvas g.djs-element.djs-shape.selected", "n => n.dataset.elementId")
    page.keyboard.type("Bước thêm thử")  # bpmn-js opens the new task's name for typing
    page.click("#canvas svg", position={"x": 700, "y": 560})
    status = save_and_wait(page, saves)
    assert "còn lỗi" in status and new_id in listed_ids(page) and new_id in marked_ids(page)
    assert 'warnAt="nhiều giờ"' not in drafts.version_bpmn(modelled, KEY, 2)
    screenshot(page, "model-editor-new-task-finding")

    # Delete it: its finding leaves the list and the markers at once; the list says it is from the last save.
    page.click("#canvas svg", position={"x": 700, "y": 560})
    page.click(shape(new_id))
    page.click(entry(".djs-context-pad", "Xoá"))
    assert new_id not in listed_ids(page) and marked_ids(page) == listed_ids(page)
    assert page.locator("#findings-stale").is_visible()
    status = save_and_wait(page, saves)
    assert "hợp lệ" in status and listed_ids(page) == set() == marked_ids(page)
    assert "Không có lỗi hay cảnh báo" in page.locator("#findings-summary").text_content()

    # Undo brings the task back; saving again finds its error again, on it.
    page.click("#canvas svg", position={"x": 700, "y": 560})
    page.keyboard.press("Control+z")
    page.wait_for_selector(shape(new_id))
    status = save_and_wait(page, saves)
    assert "còn lỗi" in status and marked_ids(page) == listed_ids(page) and new_id in listed_ids(page)
    screenshot(page, "model-editor-after-undo")
    assert page.problems == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_catalogue_pages_on_a_desktop_and_a_phone(chromium, server, viewport):  # noqa: F811
    page = open_browser(chromium, server, "mo_hinh", home="/mo-hinh/", viewport=viewport)
    name = "desktop" if viewport is DESKTOP else "phone"
    page.goto(f"{server}/mo-hinh/danh-muc/{KEY}")
    screenshot(page, f"model-catalogue-entry-{name}")
    page.goto(f"{server}/mo-hinh/danh-muc/moi")
    page.fill("input[name=key]", "thu_nghiem")
    page.fill("input[name=code]", "1001193")
    page.fill("input[name=legal_limit]", "nhiều")
    page.fill("input[name=fee-0-name]", "Lệ phí")
    page.fill("input[name=fee-0-amount]", "tám nghìn")
    page.click("#catalogue-form button[type=submit]")
    page.wait_for_selector("#form-errors")
    assert page.locator(".field-error").count() >= 4
    screenshot(page, f"model-catalogue-refused-{name}")
    page.goto(f"{server}/mo-hinh/{KEY}/v1/mo-phong?don-vi=00070&tiep-nhan=2026-03-02T09:00")
    screenshot(page, f"model-simulation-{name}")
    assert [p for p in page.problems if "422" not in p] == []


def viewbox(page) -> dict:
    return page.evaluate(
        "() => { const b = document.querySelector('#canvas svg .viewport').getCTM();"
        " return { scale: b.a, x: b.e, y: b.f }; }"
    )


def touch_drag(page, start: tuple[int, int], end: tuple[int, int]) -> None:
    """One finger on the touch screen, moved from start to end in a few steps (Chrome's own touch events)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    for step in range(1, 6):
        x = start[0] + (end[0] - start[0]) * step / 5
        y = start[1] + (end[1] - start[1]) * step / 5
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_the_editor_on_a_phone_fits_the_diagram_pans_zooms_and_edits_a_tapped_step(chromium, server, modelled):  # noqa: F811
    page = open_browser(chromium, server, "mo_hinh", home="/mo-hinh/", viewport=PHONE, touch=True)
    page.goto(f"{server}/mo-hinh/{KEY}/v1/sua")
    page.wait_for_selector('#editor[data-ready="true"]')

    # The diagram is fitted into the phone's width: every step is drawn inside the canvas.
    canvas = page.locator("#canvas").bounding_box()
    assert canvas["width"] > 300 and canvas["height"] > 300
    step = page.locator(shape("ky_duyet")).bounding_box()
    assert step["width"] > 0 and canvas["x"] <= step["x"] and step["x"] + step["width"] <= canvas["x"] + canvas["width"]
    screenshot(page, "model-editor-phone")

    # Zoom in with the toolbar, then one finger drags the diagram along.
    fitted = viewbox(page)
    page.click("#zoom-in")
    zoomed = viewbox(page)
    assert zoomed["scale"] > fitted["scale"]
    middle = (int(canvas["x"] + canvas["width"] / 2), int(canvas["y"] + canvas["height"] / 2))
    touch_drag(page, middle, (middle[0] - 120, middle[1] - 40))
    panned = viewbox(page)
    assert panned["x"] < zoomed["x"] - 100 and panned["y"] < zoomed["y"] - 30
    assert page.evaluate("window.scrollY") == 0  # the finger moved the diagram, not the page
    page.click("#zoom-fit")
    assert viewbox(page)["scale"] == pytest.approx(fitted["scale"])

    # A tap selects a step; its panel, below the diagram, edits it.
    page.tap(shape("ky_duyet"))
    page.wait_for_selector("#step-form:not([hidden])")
    assert page.locator("#step-id").text_content() == "ky_duyet"
    page.fill("#step-form input[name=budget]", "3h")
    page.click("#step-form input[name=role]")
    page.locator("#step-form").scroll_into_view_if_needed()
    screenshot(page, "model-editor-phone-step")
    saves: list = []
    assert "Đã lưu" in save_and_wait(page, saves)
    assert 'budget="3h"' in drafts.version_bpmn(modelled, KEY, 2)
    assert page.problems == []
