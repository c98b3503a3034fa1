"""Boxes drawn on the lens in Chromium: every card's box energy and pointing game are a2core.metrics's.

The lens is the notebook's standalone page (``LensView.save``, the app's lens.js) on random A², Non-local and
GC maps. Boxes are dragged with the mouse; the expected scores are computed here by ``a2core.metrics`` (numpy,
float64) from the boxes the page reports and the map each card drew, and the drawn maps are checked against
``analysis.implied_attention`` and the maps themselves, so both halves are a2core's.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from a2core.figures import lens
from a2core.metrics import box_energy, cover_fractions, pointing_hit
from a2core.probe import analysis


@pytest.fixture
def lens_page(page, tmp_path):
    rng = np.random.default_rng(0)
    h = w = 8
    gather = rng.dirichlet(np.full(h * w, 0.3), size=6).reshape(6, h, w).astype(np.float32)
    distribute = rng.dirichlet(np.full(6, 0.5), size=h * w).T.reshape(6, h, w).astype(np.float32)
    attention = rng.dirichlet(np.full(h * w, 0.2), size=h * w).astype(np.float32)
    context = rng.dirichlet(np.full(h * w, 0.3)).astype(np.float32)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    cards = [lens.a2_card(gather, distribute, title="A²"), lens.nonlocal_card(attention, (h, w), title="Non-local"),
             lens.context_card(context, (h, w), title="GC")]
    path = tmp_path / "lens.html"
    lens.LensView(lens.lens_data(image, cards, position=(0.3, 0.6))).save(path)
    page.goto(path.as_uri())
    page.wait_for_selector(".a2lens .card[data-values]")
    # What the page drew for the pinned cell (0.3, 0.6) → cell (2, 4): a2core's maps (float16 for Non-local).
    j = 2 * w + 4
    expected = {"a2": analysis.implied_attention(gather, distribute, (2, 4)).reshape(-1),
                "nonlocal": attention[j].astype(np.float16).astype(np.float64), "context": context}
    return page, expected


def _drag(page, stage, start, end):
    box = stage.bounding_box()
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    middle = [(a + b) / 2 for a, b in zip(start, end)]
    page.mouse.move(box["x"] + box["width"] * middle[0], box["y"] + box["height"] * middle[1])
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1])
    page.mouse.up()


def _cards(page) -> list[dict]:
    return page.eval_on_selector_all(".a2lens .card", "cards => cards.map(c => ({kind: c.dataset.kind, "
                                     "values: c.dataset.values, energy: c.dataset.boxEnergy, "
                                     "pointing: c.dataset.pointing}))")


def test_dragged_boxes_score_every_map_as_a2core_does(lens_page):
    page, expected = lens_page
    root = page.locator(".a2lens")
    assert all(c["energy"] is None for c in _cards(page))  # no box, no score
    page.click("button.draw-boxes")
    stage = page.locator(".a2lens .card .stage").first
    pinned = root.get_attribute("data-pinned")
    _drag(page, stage, (0.1, 0.2), (0.55, 0.7))
    _drag(page, stage, (0.4, 0.6), (0.95, 0.9))  # a second, overlapping box
    assert root.get_attribute("data-pinned") == pinned  # drawing neither pins nor moves the position
    boxes = np.array(json.loads(root.get_attribute("data-boxes")))
    assert boxes.shape == (2, 4)
    np.testing.assert_allclose(boxes[0], [0.1, 0.2, 0.55, 0.7], atol=0.02)
    cards = _cards(page)
    assert [c["kind"] for c in cards] == ["a2", "nonlocal", "context"]
    energies = []
    for card in cards:
        values = np.array(json.loads(card["values"]))
        np.testing.assert_allclose(values, expected[card["kind"]], rtol=1e-6, atol=1e-9)
        cover = cover_fractions(boxes, (8, 8))
        want = box_energy(values.reshape(8, 8), cover)
        assert float(card["energy"]) == pytest.approx(want, rel=1e-6, abs=1e-7)  # float32 tolerance
        assert card["pointing"] == ("1" if pointing_hit(values.reshape(8, 8), cover) else "0")
        energies.append((want, card["kind"]))
    # The ranked list puts the designs in the order of their box energy.
    ranked = page.locator(".a2lens .box-tools .ranked").inner_text()
    order = [kind for _, kind in sorted(energies, reverse=True)]
    names = {"a2": "A²", "nonlocal": "Non-local", "context": "GC"}
    positions = [ranked.index(names[k] + " ") for k in order]
    assert positions == sorted(positions)
    assert float(root.get_attribute("data-box-latency")) < 50  # event → every score redrawn
    # Hovering after drawing rescores the new rows at once; clearing removes every score.
    page.click("button.draw-boxes")
    stage.hover(position={"x": 5, "y": 5})
    moved = _cards(page)[1]
    assert moved["values"] != cards[1]["values"]
    want = box_energy(np.array(json.loads(moved["values"])).reshape(8, 8), cover_fractions(boxes, (8, 8)))
    assert float(moved["energy"]) == pytest.approx(want, rel=1e-6, abs=1e-7)
    page.click("button.clear-boxes")
    assert all(c["energy"] is None for c in _cards(page))
    assert root.get_attribute("data-boxes") == "[]"
