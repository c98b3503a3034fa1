"""Every page at a projector's 1024 px, a laptop's 1440 px and a wide screen's 1920 px, in Chromium, by the boxes of
what is drawn: no bar labels run into each other, no title is cut, what a class reads is ≥ 13 px, Compare's cards
fill the width, Explore keeps the lens map beside its bars and lets it grow, the Learn toy's sliders stay on screen
above the figures they drive; while hovering, the pinned cell stays marked; and a URL reproduces a view.

Screenshots of each page and width go to $A2LENS_SHOTS (or the temp dir)/a2lens_projector/, to look at.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from a2core.models import ARCHS
from tests.e2e.browser import CHARTS, wait_idle, wait_lens

WIDTHS = (1024, 1440, 1920)
FIRST_RENDER_MS = 600_000
SHOTS = Path(os.environ.get("A2LENS_SHOTS", tempfile.gettempdir())) / "a2lens_projector"
MIN_FONT_PX = 13
#: the photo zoo's classes written with "_" in its folders: never shown that way
UNDERSCORED = ("English_springer", "French_horn", "cassette_player", "chain_saw", "garbage_truck", "gas_pump",
               "golf_ball")

#: What every lens card's visible text is checked for, in the page's coordinates (run on the lens root: the lens
#: lives in a shadow root, which document.querySelectorAll does not enter).
LENS_BOXES_JS = """root => {
    const visible = e => e.offsetParent && getComputedStyle(e).visibility !== 'hidden' && e.textContent.trim();
    const box = e => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; };
    const font = e => parseFloat(getComputedStyle(e).fontSize);
    const bars = [...root.querySelectorAll('.bars')].map(b => [...b.querySelectorAll('.bar .name, .bar .value')]
        .filter(visible).map(e => ({...box(e), text: e.textContent})));
    const texts = [...root.querySelectorAll(
        '.card-title, .prediction, .note, .map-title, .colorbar span, .bar .name, .bar .value, .caption, .axis')]
        .filter(visible);
    return {
        bars,
        small: texts.filter(e => font(e) < %d).map(e => [e.className, e.textContent, font(e)]),
        cut: texts.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => [e.className, e.textContent]),
        outside: [...root.querySelectorAll('.card')].flatMap(c => [...c.querySelectorAll('*')].filter(visible)
            .filter(e => e.getBoundingClientRect().right > c.getBoundingClientRect().right + 1)
            .map(e => [e.className, e.textContent.slice(0, 30)])),
        text: root.innerText,
    };
}""" % MIN_FONT_PX


def _overlaps(boxes: list[dict]) -> list:
    return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a["x"] < b["x"] + b["w"] - 0.5 and b["x"] < a["x"] + a["w"] - 0.5
            and a["y"] < b["y"] + b["h"] - 0.5 and b["y"] < a["y"] + a["h"] - 0.5]


def _check_lens(page, width: int) -> dict:
    drawn = page.locator(".a2lens").first.evaluate(LENS_BOXES_JS)
    for labels in drawn["bars"]:
        assert labels, f"a bar chart without a single label at {width} px"
        assert _overlaps(labels) == [], (width, _overlaps(labels))
    assert drawn["small"] == [], (width, drawn["small"])
    assert drawn["cut"] == [] and drawn["outside"] == [], (width, drawn["cut"], drawn["outside"])
    assert not [c for c in UNDERSCORED if c in drawn["text"]], drawn["text"][:300]
    return drawn


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _goto(page, url: str, width: int, height: int = 1000) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url)


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_fills_the_width_with_readable_cards(app_url, page, width):
    # Every model of the photo zoo, asked for by the URL (as a shared link would).
    _goto(page, f"{app_url}/compare?zoo=imagenette&models={','.join(ARCHS)}", width)
    page.get_by_role("heading", name="Compare attention designs").wait_for(timeout=FIRST_RENDER_MS)
    wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    page.get_by_text("channel covariance").first.wait_for(timeout=FIRST_RENDER_MS)
    wait_idle(page)
    page.wait_for_timeout(500)  # the grid's columns follow the lens's width (a ResizeObserver)
    _shot(page, f"compare_{width}")

    cards = page.locator(".a2lens .card")
    assert cards.count() == len(ARCHS)
    boxes = [cards.nth(i).bounding_box() for i in range(cards.count())]
    families = cards.evaluate_all("cs => cs.map(c => c.dataset.family)")
    lens = page.locator(".a2lens").first.bounding_box()
    # A grid that fills the width, each family of designs from a new row under its title: here (families of 1, 3
    # and 3) the rows of a family are as even as its count allows (3 cards at 2 a row: 2 + 1, never 1 + 1 + 1), the
    # largest family's first row ends at the lens's right edge, every card one width, none under 220 px.
    groups = {f: [b for b, g in zip(boxes, families) if g == f] for f in dict.fromkeys(families)}
    assert len(groups) == 3, families  # the first seven: the baseline, channel and spatial attention
    for family, members in groups.items():
        rows = sorted({round(b["y"]) for b in members})
        per_row = [sum(1 for b in members if round(b["y"]) == y) for y in rows]
        assert max(per_row) - min(per_row) <= 1, (width, family, per_row)
    assert len({round(b["width"]) for b in boxes}) == 1 and all(b["width"] >= 220 for b in boxes), (width, boxes)
    widest = max(groups.values(), key=len)
    first_row = [b for b in widest if round(b["y"]) == min(round(b["y"]) for b in widest)]
    assert max(b["x"] + b["width"] for b in first_row) >= lens["x"] + lens["width"] - 2
    assert max(b["x"] + b["width"] for b in boxes) <= width
    titles = page.locator(".a2lens .family-title").all_inner_texts()
    assert [t.split(":")[0] for t in titles] == ["No attention", "Channel attention", "Spatial attention, global and "
                                                 "pairwise"], titles

    _check_lens(page, width)
    plain = page.locator('.a2lens .card[data-kind="plain"]')
    assert plain.count() == 1 and plain.locator(".colorbar").count() == 0, "the plain ResNet has no colour bar"
    assert page.locator('.a2lens .card[data-kind="context"] .colorbar').count() == 1

    # GSoP's covariance: its axes hold the matrix and nothing else (they spanned −20 … 40 for 32 channels).
    cov = page.locator(CHARTS).filter(has_text="channel covariance").first
    ticks = [float(t) for t in cov.locator(".xtick text, .ytick text").all_text_contents() if t.strip()]
    assert ticks and min(ticks) >= 0 and max(ticks) <= 31, ticks
    # The Grad-CAM titles wrap inside their cards instead of being cut.
    titles = page.locator('[data-testid="stMarkdown"]').filter(has_text="Grad-CAM of “")
    assert titles.count() == len(ARCHS)
    cut = titles.evaluate_all("es => es.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)")
    assert cut == [], cut
    body = page.locator("body").inner_text()
    assert not [c for c in UNDERSCORED if c in body]


@pytest.mark.parametrize("width", WIDTHS)
def test_explore_keeps_the_lens_beside_its_bars_and_grows(app_url, page, width):
    _goto(page, f"{app_url}/?zoo=imagenette", width, 1000)
    wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    wait_idle(page)
    page.wait_for_timeout(300)
    _shot(page, f"explore_{width}")

    stage = page.locator(".a2lens .card .row > .map .stage").first.bounding_box()
    bars = page.locator(".a2lens .card .row > .bars").first.bounding_box()
    assert bars["x"] >= stage["x"] + stage["width"] - 1 and abs(bars["y"] - stage["y"]) < 80, (stage, bars)
    assert stage["width"] >= 270, stage
    if width == 1920:
        assert stage["width"] >= 480, stage  # grows with the screen (it stayed 320 px)
    assert bars["x"] + bars["width"] <= width
    _check_lens(page, width)

    # The top-5 names are whole, inside their chart, with spaces.
    top5 = page.locator(CHARTS).filter(has=page.locator(".bars")).first
    chart = top5.bounding_box()
    names = top5.locator(".ytick text")
    assert names.count() == 5
    for i in range(names.count()):
        box = names.nth(i).bounding_box()
        assert box["x"] >= chart["x"] - 1 and box["x"] + box["width"] <= chart["x"] + chart["width"] + 1
        assert "_" not in names.nth(i).text_content()
    fonts = top5.locator(".ytick text, .bars text").evaluate_all(
        "ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize))")
    assert min(fonts) >= MIN_FONT_PX, fonts

    # The Grad-CAM class picker shows its whole value; the class it explains is named in the title below it.
    value = page.locator('[data-testid="stSelectbox"]').filter(has_text="Grad-CAM of the class").locator("input")
    shown = value.input_value()
    assert shown == "the predicted class", shown
    assert value.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), shown  # the whole name in view

    # The gathering grid's titles: dark, ≥ 13 px; and no empty band above the grid.
    grid = page.locator(CHARTS).filter(has=page.locator(".annotation-text")).first
    sizes = grid.locator(".annotation-text").evaluate_all("ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize))")
    assert sizes and min(sizes) >= MIN_FONT_PX, sizes
    heading = page.get_by_role("heading", name="Gathering maps").bounding_box()
    above = page.get_by_text("✕ at cell").first.bounding_box()  # the Grad-CAM's caption, above the heading
    assert heading["y"] - (above["y"] + above["height"]) < 100, (above, heading)


def test_hovering_shows_the_pin_and_a_pin_moves_the_enlarged_descriptor(app_url, page):
    _goto(page, f"{app_url}/?zoo=cifar10", 1440)
    wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    wait_idle(page)
    card = page.locator(".a2lens .card").first
    stage = page.locator(".a2lens .card .row > .map .stage").first
    side = 16
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()

    def at(cell):
        return box["x"] + box["width"] * (cell[1] + 0.5) / side, box["y"] + box["height"] * (cell[0] + 0.5) / side

    page.mouse.click(*at((3, 12)))  # pin
    page.get_by_text("✕ at cell (3, 12)").first.wait_for()
    wait_idle(page)
    top = card.get_attribute("data-top").split(",")[0]
    titles = page.locator(f"{CHARTS} .gtitle").all_text_contents()  # the enlarged maps' titles
    assert f"d{top} gathers from" in titles and f"d{top} is sent to" in titles, (top, titles)

    page.mouse.move(*at((12, 2)))  # hover elsewhere: the ✕ follows the mouse, the pinned cell stays framed
    page.wait_for_function("c => c.dataset.cell === '12,2'", arg=card.element_handle())
    marker = stage.locator(".marker").bounding_box()
    pin = stage.locator(".pin").bounding_box()
    cell = box["width"] / side
    assert abs(marker["x"] + marker["width"] / 2 - at((12, 2))[0]) < cell / 2
    assert abs(pin["x"] + pin["width"] / 2 - at((3, 12))[0]) < cell / 2
    assert abs(pin["y"] + pin["height"] / 2 - at((3, 12))[1]) < cell / 2
    page.mouse.move(2, 2)  # the mouse leaves: the ✕ is back on the pin, which needs no frame
    page.wait_for_function("c => c.dataset.cell === '3,12'", arg=card.element_handle())
    assert not stage.locator(".pin").is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_learn_tabs_whole_and_the_toys_sliders_stay_above_its_figures(app_url, page, width):
    _goto(page, f"{app_url}/learn?zoo=cifar10", width, 768)
    tabs = page.get_by_role("tab")
    tabs.nth(3).wait_for(timeout=FIRST_RENDER_MS)
    wait_idle(page)
    # the tab titles wrap rather than scroll behind an arrow (the page's stylesheet arrives with its run)
    page.wait_for_function("() => { const t = document.querySelector('[role=tablist]');"
                           " return t && t.scrollWidth <= t.clientWidth + 1; }", timeout=10_000)
    for i in range(4):
        tab = tabs.nth(i).bounding_box()
        assert tab["x"] + tab["width"] <= width and tabs.nth(i).evaluate("t => t.scrollWidth <= t.clientWidth + 1")
    tabs.nth(2).click()
    page.get_by_text("The bilinear pooling view").wait_for()
    wait_idle(page)
    fonts = page.locator(".a2toy .cells span").evaluate_all(
        "cs => cs.map(c => parseFloat(getComputedStyle(c).fontSize))")
    assert min(fonts) >= MIN_FONT_PX, min(fonts)
    # Scrolled down to Z: the sliders are still on screen, above Z, and Z is on screen too.
    z = page.locator(".a2toy .section").filter(has_text="Z = G softmax(V)")
    z.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    sliders = page.locator(".a2toy .sliders").bounding_box()
    z_box = z.bounding_box()
    assert sliders["y"] >= 0 and sliders["y"] + sliders["height"] <= z_box["y"] + 1, (sliders, z_box)
    assert z_box["y"] + z_box["height"] <= 768
    _shot(page, f"learn_toy_{width}")


def test_a_url_reproduces_the_view(app_url, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(FIRST_RENDER_MS)
    page.goto(f"{app_url}/?zoo=cifar10&size=64&block=layer3.2.attn&pos=0.1000,0.9000")
    wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    wait_idle(page)
    lens = page.locator(".a2lens").first
    assert lens.get_attribute("data-pinned") == "0.1000,0.9000"
    info = page.locator('[data-testid="stMarkdown"]').filter(has_text="model view").first
    assert "model view 64×64" in info.inner_text() and "layer3.2.attn" in info.inner_text()

    # Pin another cell: the address bar follows.
    stage = page.locator(".a2lens .card .row > .map .stage").first
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    page.wait_for_function("() => new URLSearchParams(location.search).get('pos') !== '0.1000,0.9000'")
    wait_idle(page)
    url = page.url
    query = parse_qs(urlsplit(url).query)
    assert query["zoo"] == ["cifar10"] and query["size"] == ["64"] and query["block"] == ["layer3.2.attn"]
    y, x = (float(v) for v in query["pos"][0].split(","))
    assert abs(y - 0.25) < 0.05 and abs(x - 0.75) < 0.05
    shown = info.inner_text()

    # A classmate opens that URL: the same view, the same pinned position.
    other = context.new_page()
    other.goto(url)
    wait_lens(other, timeout_ms=FIRST_RENDER_MS)
    wait_idle(other)
    assert other.locator(".a2lens").first.get_attribute("data-pinned") == query["pos"][0]
    assert other.locator('[data-testid="stMarkdown"]').filter(has_text="model view").first.inner_text() == shown
    # A bad value is named, not silently dropped.
    other.goto(f"{app_url}/?zoo=bogus")
    other.get_by_text("was ignored").first.wait_for()
    assert "zoo=bogus" in other.locator('[data-testid="stAlert"]').first.inner_text()
    context.close()
