"""The Explore page in a real browser, on each zoo: upload, heatmaps, a hover and a click on the lens, the README
screenshot."""

from __future__ import annotations

import json

from PIL import Image

from tests.e2e.browser import CHARTS, ROOT, screenshot, wait_idle, wait_lens

FIRST_RENDER_MS = 600_000  # the first visit imports torch and loads the model
SAMPLES = ROOT / "assets" / "samples"
#: per zoo: a picture to upload (path, size it is saved at), the finest A² map's side and its descriptors
CASES = {
    "cifar10": dict(photo=SAMPLES / "ship" / "val_0000.jpg", upload_px=96, side=16, n=8),
    "imagenette": dict(photo=SAMPLES / "imagenette" / "garbage_truck" / "ILSVRC2012_val_00008430.jpg",
                       upload_px=480, side=20, n=16),
}


def test_upload_click_and_screenshot(app_url, page, zoo, tmp_path):
    case = CASES[zoo]
    upload = tmp_path / "my_photo.png"
    Image.open(case["photo"]).resize((case["upload_px"],) * 2).save(upload)

    page.set_viewport_size({"width": 1600, "height": 1450})  # tall enough for the README to show the grid
    page.goto(f"{app_url}/?zoo={zoo}")
    before = wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_text("my_photo.png").first.wait_for()
    wait_lens(page, before)
    wait_idle(page)
    side = case["side"]
    info = page.locator('[data-testid="stMarkdown"]').filter(has_text="model view").first.inner_text()
    assert f"feature map {side}×{side}" in info and f"n = {case['n']}" in info, info

    # Heatmaps are drawn: the gathering grid by plotly, the lens's maps on canvases.
    page.wait_for_function("s => document.querySelectorAll(s).length >= 2",
                           arg=f"{CHARTS} .heatmaplayer image, {CHARTS} .imagelayer image")
    errors = page.locator('[data-testid="stException"]')
    assert not errors.count(), errors.first.inner_text()
    card = page.locator(".a2lens .card").first
    assert card.get_attribute("data-cell") == f"{side // 2},{side // 2}"  # the default: the centre
    assert page.locator(".a2lens .bar").count() == case["n"]  # one bar per descriptor

    # Hover then click the cell 30 % from the top, 65 % from the left of the image: not the default centre.
    expected = (int(0.3 * side), int(0.65 * side))
    box = page.locator(".a2lens .stage").first.bounding_box()
    x = box["x"] + box["width"] * (expected[1] + 0.5) / side
    y = box["y"] + box["height"] * (expected[0] + 0.5) / side
    page.mouse.move(x, y)
    tip = page.locator(".a2lens .tooltip")
    assert tip.is_visible() and f"cell ({expected[0]}, {expected[1]})" in tip.inner_text()
    page.mouse.click(x, y)
    page.get_by_text(f"✕ at cell ({expected[0]}, {expected[1]})").first.wait_for()
    wait_idle(page)
    assert card.get_attribute("data-cell") == f"{expected[0]},{expected[1]}"
    assert f"cell ({expected[0]}, {expected[1]})" in page.locator(".a2lens .bars .map-title").first.inner_text()
    # The model's view is drawn pixel for pixel or in whole blocks, never stretched and smoothed.
    view = page.locator('[data-testid="stImage"] img').first
    natural, shown = view.evaluate("i => [i.naturalWidth, i.clientWidth]")
    assert natural >= shown and natural >= 150, (natural, shown)

    wait_idle(page)
    path = screenshot(page, "explore", zoo, tmp_path)
    assert Image.open(path).size == (1600, 1450)

    # A bar's hover text: its descriptor's weight at the pinned cell, as the card wrote it (data-weights).
    weights = json.loads(card.get_attribute("data-weights"))
    top = int(card.get_attribute("data-top").split(",")[0])
    page.locator(".a2lens .bar").nth(top).hover()
    assert tip.inner_text() == f"descriptor d{top}\nweight {weights[top]:.5f}"


def test_the_app_opens_on_the_photo_zoo(app_url, page):
    # A first visit with no ?zoo=: the photo zoo is the default wherever its A²-ResNet's weights are
    # (here the tests' stand-ins; on the shipped weights the same), the CIFAR-10 zoo one click away.
    page.goto(app_url)
    wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    wait_idle(page)
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stRadio"]').filter(has_text="Zoo")
    zoos = picker.locator("label").filter(has=page.locator('input[type="radio"]'))  # the options, not the title
    assert zoos.nth(0).inner_text().startswith("Photos: Imagenette") and zoos.nth(0).locator("input").is_checked()
    assert zoos.nth(1).inner_text().startswith("CIFAR-10") and not zoos.nth(1).locator("input").is_checked()
    info = page.locator('[data-testid="stMarkdown"]').filter(has_text="model view").first.inner_text()
    assert "model view 160×160 px" in info and "feature map 20×20" in info, info


#: Set once the page's "model view" line names a sample: a MutationObserver, so that a sample shown for one
#: frame between two photos is seen too.
WATCH_SAMPLE = """() => {
    window.__sawSample = false;
    new MutationObserver(() => {
        const line = [...document.querySelectorAll('[data-testid="stMarkdown"]')]
            .find(m => m.innerText.includes('model view'));
        if (line && line.innerText.includes('sample')) window.__sawSample = true;
    }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def test_a_second_photo_follows_the_first_without_the_sample_in_between(app_url, page, tmp_path):
    # Streamlit's uploader, given a file while it holds one, first reports it empty (a run of the page on its
    # sample), then uploads: the page now empties the uploader once a photo is shown, so the next one comes alone.
    first, second = tmp_path / "first_photo.png", tmp_path / "second_photo.png"
    picture = Image.open(CASES["imagenette"]["photo"])
    picture.resize((320, 320)).save(first)
    picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((300, 300)).save(second)
    page.goto(f"{app_url}/?zoo=imagenette")
    before = wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    dropzone = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    model_view = page.locator('[data-testid="stMarkdown"]').filter(has_text="model view")
    dropzone.set_input_files(str(first))
    model_view.filter(has_text="first_photo.png").wait_for()
    shown = wait_lens(page, before)
    wait_idle(page)
    page.evaluate(WATCH_SAMPLE)
    dropzone.set_input_files(str(second))
    model_view.filter(has_text="second_photo.png").wait_for()
    wait_lens(page, shown)
    wait_idle(page)
    assert not page.evaluate("() => window.__sawSample"), "the sample was shown between the two photos"
    # the uploader holds no file; the sidebar names the photo shown
    assert page.locator('[data-testid="stFileUploaderFile"]').count() == 0
    assert page.get_by_text("Showing second_photo.png").count() == 1
    assert not page.locator('[data-testid="stException"]').count()
