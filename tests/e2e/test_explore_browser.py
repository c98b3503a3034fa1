"""The Explore page in a real browser, on each zoo: upload, heatmaps, a click on the image, the README screenshot."""

from __future__ import annotations

import re

from PIL import Image

from tests.e2e.browser import CHARTS, ROOT, screenshot, settled_box, wait_idle

FIRST_RENDER_MS = 600_000  # the first visit imports torch and loads the model
SAMPLES = ROOT / "assets" / "samples"
#: per zoo: a picture to upload (path, size it is saved at), the finest A² map's side and its descriptors
CASES = {
    "cifar10": dict(photo=SAMPLES / "ship" / "val_0000.jpg", upload_px=96, side=16, n=8),
    "imagenette": dict(photo=SAMPLES / "imagenette" / "garbage_truck" / "ILSVRC2012_val_00008430.jpg",
                       upload_px=480, side=20, n=16),
}


def _bars_title(page) -> str:
    # The distribution chart's title names the clicked cell: "v_j at cell (r, c) ...".
    titles = page.eval_on_selector_all(f"{CHARTS} .gtitle", "els => els.map(e => e.textContent)")
    return next(t for t in titles if t.startswith("v_j at cell"))


def test_upload_click_and_screenshot(app_url, page, zoo, tmp_path):
    case = CASES[zoo]
    upload = tmp_path / "my_photo.png"
    Image.open(case["photo"]).resize((case["upload_px"],) * 2).save(upload)

    page.set_viewport_size({"width": 1600, "height": 1450})  # tall enough for the README to show the grid
    page.goto(f"{app_url}/?zoo={zoo}")
    page.get_by_text("Click a position").wait_for(timeout=FIRST_RENDER_MS)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_text("my_photo.png").first.wait_for()
    wait_idle(page)
    side = case["side"]
    info = page.locator('[data-testid="stMarkdown"]').filter(has_text="model view").first.inner_text()
    assert f"feature map {side}×{side}" in info and f"n = {case['n']}" in info, info

    # Heatmaps are drawn: the clicked-position figure and the grid carry plotly heatmap layers.
    page.locator(f"{CHARTS} .heatmaplayer image").first.wait_for()
    # Plotly draws each chart after the run is over, one after another: wait for three, not just the first.
    page.wait_for_function("s => document.querySelectorAll(s).length >= 3", arg=f"{CHARTS} .heatmaplayer image")
    assert not page.locator('[data-testid="stException"]').count(), page.locator('[data-testid="stException"]').first.inner_text()
    before = _bars_title(page)
    assert f"cell ({side // 2}, {side // 2})" in before, before  # the default: the centre

    # Click the middle of the cell 30 % from the top, 65 % from the left of the image: not the default centre.
    expected = (int(0.3 * side), int(0.65 * side))
    clickable = page.locator(CHARTS).first
    wait_idle(page)
    box = settled_box(clickable.locator(".nsewdrag").first)
    x = box["x"] + box["width"] * (expected[1] + 0.5) / side
    y = box["y"] + box["height"] * (expected[0] + 0.5) / side
    page.mouse.move(x, y)  # plotly selects the point under the hover label, so hover first, as a user does
    hover = clickable.locator(".hoverlayer .hovertext")
    hover.wait_for()
    assert f"cell ({expected[0]}, {expected[1]})" in hover.text_content()
    page.mouse.click(x, y)
    page.wait_for_function(
        """([selector, before]) => [...document.querySelectorAll(selector)].some(
            t => t.textContent.startsWith('v_j at cell') && t.textContent !== before)""",
        arg=[f"{CHARTS} .gtitle", before],
    )
    wait_idle(page)
    after = _bars_title(page)
    row, col = map(int, re.search(r"cell \((\d+), (\d+)\)", after).groups())
    assert (row, col) == expected, after
    # The distribution bars changed with the click and still show one bar per descriptor.
    bars = page.locator(CHARTS).filter(has_text="v_j at cell").locator(".bars .point")
    assert bars.count() >= case["n"]
    # The model's view is drawn pixel for pixel or in whole blocks, never stretched and smoothed.
    view = page.locator('[data-testid="stImage"] img').first
    natural, shown = view.evaluate("i => [i.naturalWidth, i.clientWidth]")
    assert natural >= shown and natural >= 150, (natural, shown)

    wait_idle(page)
    path = screenshot(page, "explore", zoo, tmp_path)
    assert Image.open(path).size == (1600, 1450)


def test_the_app_opens_on_the_photo_zoo(app_url, page):
    # A first visit with no ?zoo=: the photo zoo is the default wherever its A²-ResNet's weights are
    # (here the tests' stand-ins; on the shipped weights the same), the CIFAR-10 zoo one click away.
    page.goto(app_url)
    page.get_by_text("Click a position").wait_for(timeout=FIRST_RENDER_MS)
    wait_idle(page)
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stRadio"]').filter(has_text="Zoo")
    zoos = picker.locator("label").filter(has=page.locator('input[type="radio"]'))  # the options, not the title
    assert zoos.nth(0).inner_text().startswith("Photos: Imagenette") and zoos.nth(0).locator("input").is_checked()
    assert zoos.nth(1).inner_text().startswith("CIFAR-10") and not zoos.nth(1).locator("input").is_checked()
    info = page.locator('[data-testid="stMarkdown"]').filter(has_text="model view").first.inner_text()
    assert "model view 160×160 px" in info and "feature map 20×20" in info, info
