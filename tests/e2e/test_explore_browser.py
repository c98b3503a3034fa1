"""The Explore page in a real browser: upload, heatmaps, a click on the image, the README screenshot."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from tests.e2e.browser import CHARTS, settled_box, wait_idle

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "explore.png"
FIRST_RENDER_MS = 600_000  # the first visit imports torch and loads the model


def _bars_title(page) -> str:
    # The distribution chart's title names the clicked cell: "v_j at cell (r, c) ...".
    titles = page.eval_on_selector_all(f"{CHARTS} .gtitle", "els => els.map(e => e.textContent)")
    return next(t for t in titles if t.startswith("v_j at cell"))


def test_upload_click_and_screenshot(app_url, page, tmp_path):
    upload = tmp_path / "ship_photo.png"
    Image.open(ROOT / "assets" / "samples" / "ship" / "val_0000.jpg").resize((96, 96)).save(upload)

    page.set_viewport_size({"width": 1600, "height": 1450})  # tall enough for the README to show the grid
    page.goto(app_url)
    page.get_by_text("Click a position").wait_for(timeout=FIRST_RENDER_MS)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_text("ship_photo.png").first.wait_for()
    wait_idle(page)

    # Heatmaps are drawn: the clicked-position figure and the grid carry plotly heatmap layers.
    page.locator(f"{CHARTS} .heatmaplayer image").first.wait_for()
    assert page.locator(f"{CHARTS} .heatmaplayer image").count() >= 3
    before = _bars_title(page)
    assert re.search(r"cell \(\d+, \d+\)", before), before

    # Click at 30 % from the top, 65 % from the left of the image: cell (4, 10) of the 16×16 map,
    # not the default centre.
    assert "cell (8, 8)" in before
    clickable = page.locator(CHARTS).first
    wait_idle(page)
    box = settled_box(clickable.locator(".nsewdrag").first)
    x, y = box["x"] + box["width"] * 0.65, box["y"] + box["height"] * 0.3
    page.mouse.move(x, y)  # plotly selects the point under the hover label, so hover first, as a user does
    hover = clickable.locator(".hoverlayer .hovertext")
    hover.wait_for()
    assert "cell (4, 10)" in hover.text_content()
    page.mouse.click(x, y)
    page.wait_for_function(
        """([selector, before]) => [...document.querySelectorAll(selector)].some(
            t => t.textContent.startsWith('v_j at cell') && t.textContent !== before)""",
        arg=[f"{CHARTS} .gtitle", before],
    )
    wait_idle(page)
    after = _bars_title(page)
    row, col = map(int, re.search(r"cell \((\d+), (\d+)\)", after).groups())
    assert (row, col) == (4, 10), after
    # The distribution bars changed with the click and still show one bar per descriptor.
    bars = page.locator(CHARTS).filter(has_text="v_j at cell").locator(".bars .point")
    assert bars.count() >= 8

    wait_idle(page)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=False)
    assert Image.open(SCREENSHOT).size == (1600, 1450)
