"""Boxes drawn on the lens in Chromium: every card's box energy and pointing game are a2core.metrics's.

The lens is the notebook's standalone page (``LensView.save``, the app's lens.js) on random A², Non-local and
GC maps. Boxes are dragged with the mouse; the expected scores are computed here by ``a2core.metrics`` (numpy,
float64) from the boxes the page reports and the map each card drew, and the drawn maps are checked against
``analysis.implied_attention`` and the maps themselves, so both halves are a2core's.

In the app (a real server, the photo zoo): a drag sends nothing, a finished box goes to Python once (the URL, the
.npz) and a reload shows it; the toggle draws a sample's ImageNet boxes, scored as drawn ones.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from a2core.figures import lens
from a2core.metrics import box_energy, cover_fractions, pointing_hit
from a2core.probe import analysis
from tests.e2e.browser import LENSES_JS, ROOT, SentFrames, wait_idle, wait_lens


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


# ------------------------------------------------------------------ in the app: boxes travel to Python and back

SPRINGER = ROOT / "assets" / "samples" / "imagenette" / "English_springer" / "ILSVRC2012_val_00008162.jpg"


def _root_boxes(page) -> list:
    return json.loads(page.locator(".a2lens").first.get_attribute("data-boxes"))


def _url_boxes(page) -> str | None:
    return page.evaluate("() => new URLSearchParams(location.search).get('boxes')")


def test_drawn_boxes_reach_the_url_on_mouse_up_and_a_reload_shows_them(app_url, page):
    sent = SentFrames(page)
    page.goto(f"{app_url}/?zoo=imagenette")
    wait_lens(page, timeout_ms=600_000)
    wait_idle(page)
    assert _url_boxes(page) is None
    root = page.locator(".a2lens").first
    page.locator("button.draw-boxes").first.click()
    stage = page.locator(".a2lens .card .stage").first
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    at = lambda fx, fy: (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)  # noqa: E731
    before = sent.count
    page.mouse.move(*at(0.15, 0.2))
    page.mouse.down()
    for step in range(1, 21):  # a drag: every score follows in the browser, nothing is sent
        page.mouse.move(*at(0.15 + 0.03 * step, 0.2 + 0.035 * step))
    page.wait_for_timeout(300)
    assert sent.count == before, f"{sent.count - before} websocket frames during a drag"
    assert page.locator(".a2lens .card[data-box-energy]").count() >= 1
    page.mouse.up()  # the box is finished: now it goes to Python, once
    page.wait_for_function("() => new URLSearchParams(location.search).has('boxes')")
    wait_idle(page)
    per_box = sent.count - before
    assert per_box == 1, f"{per_box} websocket frames for one finished box"
    print(f"websocket frames sent for one finished box: {per_box} (0 during the drag); "
          f"mouse-up to painted scores: {root.get_attribute('data-box-latency')} ms")
    assert float(root.get_attribute("data-box-latency")) < 50
    drawn = _root_boxes(page)
    assert len(drawn) == 1
    np.testing.assert_allclose(drawn[0], [0.15, 0.2, 0.75, 0.9], atol=0.02)
    assert _url_boxes(page) == ",".join(f"{v:.4f}".rstrip("0").rstrip(".") for v in drawn[0])
    energies = page.eval_on_selector_all(".a2lens .card", "cs => cs.map(c => c.dataset.boxEnergy)")

    # The .npz download holds the very boxes, as fractions of the view.
    with page.expect_download() as download:
        page.get_by_role("button", name="All maps of this image").click()
    served = np.load(download.value.path(), allow_pickle=False)
    assert served["boxes"].tolist() == drawn
    assert served["object_boxes"].shape[1] == 4

    # A reload (or the link shared) shows the same boxes, scored the same.
    url = page.url
    page.reload()
    wait_lens(page, timeout_ms=120_000)
    wait_idle(page)
    assert page.url == url and _root_boxes(page) == drawn
    assert page.eval_on_selector_all(".a2lens .card", "cs => cs.map(c => c.dataset.boxEnergy)") == energies

    # Cleared boxes leave the URL.
    page.locator("button.clear-boxes").first.click()
    page.wait_for_function("() => !new URLSearchParams(location.search).has('boxes')")
    assert _root_boxes(page) == []


def test_the_toggle_draws_the_samples_boxes_scored_like_drawn_ones(app_url, page):
    page.goto(f"{app_url}/compare?zoo=imagenette&models=nl_resnet,a2_resnet,gc_resnet")
    signature = wait_lens(page, timeout_ms=600_000)
    wait_idle(page)
    assert page.locator(".a2lens .card[data-box-energy]").count() == 0
    page.get_by_text("Show the object's boxes").click()
    page.wait_for_function(f"() => ({LENSES_JS})()[0].dataset.objectBoxes !== '[]'")
    wait_idle(page)
    root = page.locator(".a2lens").first
    assert root.get_attribute("data-signature") == signature  # the maps were not sent again
    objects = np.array(json.loads(root.get_attribute("data-object-boxes")))
    # The springer's ImageNet box (BOXES.md: 375×500 original, x 33–283, y 0–461), on the squeezed 224×224 view.
    np.testing.assert_allclose(objects, [[33 / 375, 0, 283 / 375, 461 / 500]], atol=1e-12)
    cards = page.locator(".a2lens .card")
    assert cards.count() == 3 and page.locator(".a2lens .card[data-box-energy]").count() == 3
    assert page.locator(".a2lens .card .box.object").count() == 3  # one box on each card's map
    for i in range(3):
        values = np.array(json.loads(cards.nth(i).get_attribute("data-values")))
        side = int(round(len(values) ** 0.5))
        want = box_energy(values.reshape(side, side), cover_fractions(objects, (side, side)))
        assert float(cards.nth(i).get_attribute("data-box-energy")) == pytest.approx(want, rel=1e-6, abs=1e-7)
    assert "boxes" not in page.url.split("?", 1)[-1].split("&")  # not the user's boxes: not in the URL
