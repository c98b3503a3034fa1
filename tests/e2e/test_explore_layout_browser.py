"""The Explore page in Chromium at classroom widths: a block choice that survives other widgets, and a layout
that holds at 1024 and 1280 px."""

from __future__ import annotations

import pytest

from tests.e2e.browser import CHARTS, settled_box, wait_idle, wait_lens

FIRST_RENDER_MS = 600_000


def _open(page, app_url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{app_url}/?zoo=cifar10")  # the CIFAR-10 zoo's block names and sizes below
    wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    wait_idle(page)


def _info(page) -> str:
    return page.locator('[data-testid="stMarkdown"]').filter(has_text="model view").first.inner_text()


def test_block_choice_survives_resolution_and_other_widgets(app_url, page):
    # Issue 20, item 1: pick layer3, move Resolution 32 → 64, then nudge Map opacity.
    _open(page, app_url, 1440)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="A² block").locator("input").click()
    page.get_by_role("option").filter(has_text="layer3.2.attn").click()
    wait_idle(page)
    assert "layer3.2.attn" in _info(page) and "8×8" in _info(page)

    sliders = page.locator('[data-testid="stSidebar"] input[type="range"]')  # Resolution, then Map opacity
    sliders.nth(0).focus()
    page.keyboard.press("ArrowRight")
    page.get_by_text("model view 64×64").wait_for()
    wait_idle(page)
    assert "layer3.2.attn" in _info(page) and "16×16" in _info(page)

    sliders.nth(1).focus()
    page.keyboard.press("ArrowLeft")
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)
    assert "layer3.2.attn" in _info(page) and "16×16" in _info(page), _info(page)
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="A² block")
    shown = picker.inner_text() + " " + picker.locator("input").first.input_value()
    assert "layer3.2.attn" in shown, shown


def _boxes(locator) -> list[dict]:
    return [b for b in (locator.nth(i).bounding_box() for i in range(locator.count())) if b]


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] - 1 and b["x"] < a["x"] + a["width"] - 1
            and a["y"] < b["y"] + b["height"] - 1 and b["y"] < a["y"] + a["height"] - 1)


@pytest.mark.parametrize("width", [1024, 1280])
def test_layout_holds_at_classroom_widths(app_url, page, width, tmp_path):
    # Issue 20, item 7.
    _open(page, app_url, width)
    page.screenshot(path=str(tmp_path / f"explore_{width}.png"), full_page=True)

    grid = page.locator(CHARTS).filter(has=page.locator(".annotation-text")).first
    settled_box(grid)
    # Every red frame lies on a tile's picture (geometry without the stroke, in page pixels).
    frames = grid.locator(".shapelayer path").evaluate_all("""paths => paths.map(p => {
        const b = p.getBBox(), m = p.getScreenCTM();
        return {x: m.a * b.x + m.e, y: m.d * b.y + m.f, width: m.a * b.width, height: m.d * b.height};
    })""")
    tiles = grid.locator(".imagelayer image").evaluate_all("""images => images.map(i => {
        const r = i.getBoundingClientRect();
        return {x: r.x, y: r.y, width: r.width, height: r.height};
    })""")
    assert frames, "the clicked cell's descriptors are framed"
    for frame in frames:
        assert any(abs(frame["x"] - t["x"]) <= 2 and abs(frame["y"] - t["y"]) <= 2
                   and abs(frame["width"] - t["width"]) <= 2 and abs(frame["height"] - t["height"]) <= 2
                   for t in tiles), (frame, tiles[:4])
    # Tile titles do not run into each other.
    titles = _boxes(grid.locator(".annotation-text"))
    assert len(titles) >= 8
    assert not [(a, b) for i, a in enumerate(titles) for b in titles[i + 1:] if _overlap(a, b)]

    # The lens's map keeps a usable size; the prediction sits beside the lens where both fit (1280 px) and
    # below it where they do not (1024 px: the lens keeps its map beside its bars), never over it; its bars
    # and descriptor tiles inside the page.
    stage = page.locator(".a2lens .stage").first.bounding_box()
    assert stage["width"] >= 180 and stage["height"] >= 180, stage
    lens = page.locator(".a2lens").first.bounding_box()
    prediction = page.get_by_text("The model's view").first.bounding_box()
    assert not _overlap(lens, prediction), (lens, prediction)
    if width >= 1280:
        assert lens["x"] + lens["width"] <= prediction["x"] + 1, (lens, prediction)
    for part in (".a2lens .bars", ".a2lens .tiles"):
        box = page.locator(part).first.bounding_box()
        assert box["width"] > 100 and box["x"] + box["width"] <= width, (part, box)

    # The most probable class's percentage is shown whole, inside its chart.
    top5 = page.locator(CHARTS).filter(has=page.locator(".bars")).first
    chart = settled_box(top5)
    labels = top5.locator(".bars text")
    texts = [labels.nth(i).text_content() for i in range(labels.count())]
    assert any(t.endswith("%") and "." in t for t in texts), texts
    for box in _boxes(labels):
        assert box["x"] + box["width"] <= chart["x"] + chart["width"] + 1

    # The photo appears once as it is, without an overlay.
    assert page.get_by_text("The model's view").count() == 1
