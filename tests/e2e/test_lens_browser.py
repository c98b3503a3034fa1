"""The instant lens in a real browser: what it draws for a hovered position is a2core's numbers, hovering
never reaches the server, a click or the arrow keys pin the position and Python follows.

Expected values are computed here by :mod:`a2core.probe` (``analysis.implied_attention`` in numpy, float64),
independently of lens.js, from the maps the server computed (the page's own .npz download: another
process's float32 forward pass differs in the last bits), which are checked against this process's
forward pass of the same weights and picture.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from a2core import load_pretrained
from a2core.images import load_image
from a2core.probe import analysis, compute_maps
from a2core.models import zoo_dir
from app.common import ZOO_VIEWS
from tests.e2e.browser import ROOT, SentFrames, wait_idle, wait_lens

FIRST_RENDER_MS = 600_000  # the first visit imports torch and loads the model
PHOTO = ROOT / "assets" / "samples" / "imagenette" / "church"


@pytest.fixture
def upload(tmp_path):
    path = tmp_path / "lens_photo.png"
    Image.open(sorted(PHOTO.iterdir())[0]).convert("RGB").resize((300, 240)).save(path)
    return path


def _maps(weights_root, zoo: str, arch: str, picture: bytes):
    model = load_pretrained(arch, zoo_dir(zoo, weights_root) / f"{arch}.safetensors", zoo=zoo)
    return compute_maps(model, load_image(picture), ZOO_VIEWS[zoo].sizes[0])


def _hover(page, stage, cell, shape):
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    page.mouse.move(box["x"] + box["width"] * (cell[1] + 0.5) / shape[1],
                    box["y"] + box["height"] * (cell[0] + 0.5) / shape[0])


def _open(page, url: str, path) -> str:
    page.goto(url)
    wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    before = page.locator(".a2lens").first.get_attribute("data-signature")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_text(path.name).first.wait_for()
    signature = wait_lens(page, before)
    wait_idle(page)
    return signature


def test_explore_hover_draws_a2cores_numbers_without_the_server(app_url, weights_root, page, zoo, upload):
    sent = SentFrames(page)
    _open(page, f"{app_url}/?zoo={zoo}", upload)
    probe = _maps(weights_root, zoo, "a2_resnet", upload.read_bytes())
    blocks = probe.double_attention_blocks()
    finest = max(blocks, key=lambda n: blocks[n].feature_size)  # the block Explore opens on
    with page.expect_download() as download:
        page.get_by_role("button", name="All maps of this image").click()
    served = np.load(download.value.path(), allow_pickle=False)
    gather, distribute = served[f"{finest}/gather"], served[f"{finest}/distribute"]
    np.testing.assert_allclose(gather, blocks[finest].arrays["gather"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(distribute, blocks[finest].arrays["distribute"], rtol=1e-3, atol=1e-6)
    shape = gather.shape[1:]
    card, stage = page.locator(".a2lens .card").first, page.locator(".a2lens .stage").first

    before = sent.count
    cells = [(r, c) for r in range(shape[0]) for c in range(shape[1])][7::max(1, shape[0] * shape[1] // 20)][:20]
    assert len(cells) == 20
    for cell in cells:
        _hover(page, stage, cell, shape)
        page.wait_for_function("([l, c]) => l.dataset.cell === c", arg=[card.element_handle(), f"{cell[0]},{cell[1]}"])
        drawn = np.array(json.loads(card.get_attribute("data-values"))).reshape(shape)
        weights = np.array(json.loads(card.get_attribute("data-weights")))
        np.testing.assert_allclose(drawn, analysis.implied_attention(gather, distribute, cell), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(weights, distribute[:, cell[0], cell[1]], rtol=1e-9, atol=1e-15)
        top = [int(i) for i in card.get_attribute("data-top").split(",")]
        assert top == list(analysis.top_descriptors(distribute, cell, k=3))
    page.wait_for_timeout(500)
    assert sent.count == before, f"{sent.count - before} websocket frames sent during 20 hovers"

    # A click pins the position: Python hears of it, and the Grad-CAM's ✕ (drawn by the server) follows.
    pin = cells[3]
    _hover(page, stage, pin, shape)
    page.mouse.down()
    page.mouse.up()
    page.get_by_text(f"✕ at cell ({pin[0]}, {pin[1]})").first.wait_for()
    assert sent.count > before
    page.mouse.move(2, 2)  # the mouse leaves: the lens shows the pinned position again
    page.wait_for_function("([l, c]) => l.dataset.cell === c", arg=[card.element_handle(), f"{pin[0]},{pin[1]}"])

    # The arrow keys move the pinned position one cell; once they rest, Python follows.
    page.locator(".a2lens").first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    moved = (min(pin[0] + 1, shape[0] - 1), min(pin[1] + 1, shape[1] - 1))
    assert card.get_attribute("data-cell") == f"{moved[0]},{moved[1]}"
    page.get_by_text(f"✕ at cell ({moved[0]}, {moved[1]})").first.wait_for()


def test_compare_shares_one_hover_across_models(app_url, weights_root, page, zoo, upload):
    sent = SentFrames(page)
    _open(page, f"{app_url}/compare?zoo={zoo}", upload)
    cards = page.locator(".a2lens .card")
    kinds = [cards.nth(i).get_attribute("data-kind") for i in range(cards.count())]
    assert kinds == ["channel", "nonlocal", "a2"]  # SE, Non-local, A²: the default columns
    nl = _maps(weights_root, zoo, "nl_resnet", upload.read_bytes())
    name = next(iter(nl.blocks))  # Compare opens on the zoo's first A² place, where Non-local sits too
    attention = nl.blocks[name].arrays["attention"]
    shape = nl.blocks[name].feature_size
    before = sent.count
    for cell in [(1, 2), (shape[0] - 2, shape[1] // 2), (shape[0] // 2, shape[1] - 1)]:
        _hover(page, cards.nth(2).locator(".stage").first, cell, shape)  # hover the A² card
        page.wait_for_function("([l, c]) => l.dataset.cell === c",
                               arg=[cards.nth(1).element_handle(), f"{cell[0]},{cell[1]}"])
        assert cards.nth(2).get_attribute("data-cell") == f"{cell[0]},{cell[1]}"
        row = np.array(json.loads(cards.nth(1).get_attribute("data-values")))
        # Non-local's L × L matrix travels as float16: relative error ≤ 2⁻¹¹ (plus float16's subnormals).
        np.testing.assert_allclose(row, attention[cell[0] * shape[1] + cell[1]], rtol=2 ** -11, atol=6e-8)
    page.wait_for_timeout(500)
    assert sent.count == before
