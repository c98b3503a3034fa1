"""Compare with all thirteen models in a real browser: the cards come grouped by the seed article's families,
and one hover moves every card, CC-Net's two-pass reach drawn by lens.js as a2core computes it.

Expected values come from this process's forward pass (:func:`a2core.probe.compute_maps`) of the weights the
server runs on; the server's float32 pass differs in the last bits, hence the tolerance.
"""

from __future__ import annotations

import json

import numpy as np

from a2core import load_pretrained
from a2core.images import load_image
from a2core.models import ALL_ARCHS, FAMILIES, family_of, zoo_dir
from a2core.probe import compute_maps
from tests.e2e.browser import ROOT, SentFrames, wait_idle, wait_lens

FIRST_RENDER_MS = 600_000  # the first visit imports torch and loads thirteen models
SAMPLE = ROOT / "assets" / "samples" / "imagenette" / "English_springer" / "ILSVRC2012_val_00008162.jpg"


def _hover(page, stage, cell, shape):
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    page.mouse.move(box["x"] + box["width"] * (cell[1] + 0.5) / shape[1],
                    box["y"] + box["height"] * (cell[0] + 0.5) / shape[0])


def test_compare_groups_all_thirteen_by_family_and_one_hover_moves_them(app_url, weights_root, page):
    sent = SentFrames(page)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{app_url}/compare?zoo=imagenette&models={','.join(ALL_ARCHS)}")
    page.get_by_role("heading", name="Compare attention designs").wait_for(timeout=FIRST_RENDER_MS)
    wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    wait_idle(page)
    cards = page.locator(".a2lens .card")
    assert cards.count() == len(ALL_ARCHS)
    titles = page.locator(".a2lens .family-title").all_inner_texts()
    assert titles == ["No attention: the baseline"] + [title for title, _ in FAMILIES.values()]
    # every card sits under its design's family, the families in the article's order, each model once
    families = cards.evaluate_all("cs => cs.map(c => c.dataset.family)")
    names = cards.evaluate_all("cs => cs.map(c => c.querySelector('.card-title').textContent)")
    by_title = {title: family for family, (title, _) in FAMILIES.items()}
    order = [by_title.get(f) for f in families]
    assert order == sorted(order, key=lambda f: [None, *FAMILIES].index(f))
    assert [order.count(f) for f in FAMILIES] == [len(archs) for _, archs in FAMILIES.values()]
    assert sum(1 for f in order if f is None) == 1 and names[0].startswith("ResNet-18")
    # each family's first card starts a row of its own, under the title
    boxes = [cards.nth(i).bounding_box() for i in range(cards.count())]
    starts = [i for i in range(len(order)) if i == 0 or order[i] != order[i - 1]]
    assert all(boxes[i]["x"] == boxes[0]["x"] for i in starts) and all(
        boxes[i]["y"] > boxes[i - 1]["y"] for i in starts[1:])

    kinds = cards.evaluate_all("cs => cs.map(c => c.dataset.kind)")
    weights = zoo_dir("imagenette", weights_root) / "cc_resnet.safetensors"
    cc = compute_maps(load_pretrained("cc_resnet", weights, zoo="imagenette"), load_image(SAMPLE.read_bytes()), 160)
    reach = cc.blocks["layer2.1.attn"].arrays["reach"]
    shape = cc.blocks["layer2.1.attn"].feature_size
    a2, crisscross = kinds.index("a2"), kinds.index("crisscross")
    mapped = [i for i, k in enumerate(kinds) if k != "channel"]  # every card with a map follows the position
    # the plain ResNet's grid and every spatial and mixed design's map; the channel designs draw bars
    assert len(mapped) == 1 + sum(1 for a in ALL_ARCHS if family_of(a) in ("spatial", "mixed"))
    before = sent.count
    for cell in [(1, 2), (shape[0] - 2, shape[1] // 2), (shape[0] // 2, shape[1] - 1)]:
        _hover(page, cards.nth(a2).locator(".stage").first, cell, shape)  # hover the A² card
        page.wait_for_function("([l, c]) => l.dataset.cell === c",
                               arg=[cards.nth(crisscross).element_handle(), f"{cell[0]},{cell[1]}"])
        cells = cards.evaluate_all("cs => cs.map(c => c.dataset.cell || null)")
        assert {cells[i] for i in mapped} == {f"{cell[0]},{cell[1]}"}, cells
        drawn = np.array(json.loads(cards.nth(crisscross).get_attribute("data-values")))
        np.testing.assert_allclose(drawn, reach[cell[0] * shape[1] + cell[1]], rtol=1e-3, atol=1e-6)
        assert abs(drawn.sum() - 1) < 1e-4  # two passes reach the whole image: one distribution over it
    page.wait_for_timeout(500)
    assert sent.count == before, f"{sent.count - before} websocket frames sent during the hovers"

    # A click pins the position for every model: the server's Grad-CAMs put their ✕ on it.
    pin = (3, 4)
    _hover(page, cards.nth(a2).locator(".stage").first, pin, shape)
    page.mouse.down()
    page.mouse.up()
    page.get_by_text(f"✕ at cell ({pin[0]}, {pin[1]})").first.wait_for()
    wait_idle(page)
    captions = page.get_by_text("✕ at cell").all_inner_texts()
    assert len(captions) == len(ALL_ARCHS) and all(f"({pin[0]}, {pin[1]})" in c for c in captions), captions
