"""The Compare and Learn pages in a real browser: one click moves every model, the lecture tabs,
and the screenshots docs/compare.png and docs/learn.png."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from tests.e2e.browser import CHARTS, settled_box, wait_idle

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
QUERY = r"Query position: cell \((\d+), (\d+)\)"


def _open(page, app_url: str, path: str) -> None:
    # The entry page registers the pages with st.navigation; open it first, then the page itself.
    page.goto(app_url)
    page.locator('[data-testid="stSidebarNav"]').wait_for()
    page.goto(f"{app_url}/{path}")


def _wait_heatmaps(page, count: int) -> None:
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length >= n",
        arg=[f"{CHARTS} .heatmaplayer image", count], timeout=300_000,
    )


def _query_cell(page) -> tuple[int, int]:
    text = page.get_by_text(re.compile(r"Query position: cell")).first.inner_text()
    return tuple(int(v) for v in re.search(QUERY, text.replace("\n", " ")).groups())


def test_compare_click_moves_every_model(app_url, page):
    _open(page, app_url, "compare")
    page.get_by_role("heading", name="Compare attention designs").wait_for(timeout=300_000)
    page.get_by_text("Non-local (spatial)").first.wait_for()
    # the picker, SE's 3 feature maps, Non-local's row, A²'s implied map and 3 gathering maps
    _wait_heatmaps(page, 9)
    wait_idle(page)
    assert page.get_by_text("A² (double attention)").count() >= 1
    assert _query_cell(page) == (8, 8)

    # Click the top-left cell of the position picker (the page's first chart): its first,
    # invisible, selectable marker is cell (0, 0).
    cell = page.locator(CHARTS).first.locator(".scatterlayer .point").first
    box = settled_box(cell)
    # plotly selects the hovered point, so hover first, then click
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(500)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "() => /Query position: cell \\((0|1), (0|1)\\)/.test(document.body.innerText)", timeout=60_000
    )
    wait_idle(page)
    row, col = _query_cell(page)
    # Non-local's row and A²'s implied attention now describe the same clicked cell.
    # (the columns below the query line update later in the same rerun, so wait for them)
    page.wait_for_function(
        "([a, b]) => document.body.innerText.includes(a) && document.body.innerText.includes(b)",
        arg=[f"attention row of the clicked cell ({row}, {col})", f"implied attention of cell ({row}, {col})"],
        timeout=120_000,
    )

    page.set_viewport_size({"width": 1600, "height": 1500})
    page.wait_for_timeout(1500)
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "compare.png"))
    assert Image.open(DOCS / "compare.png").size == (1600, 1500)


def test_learn_tabs_render(app_url, page):
    _open(page, app_url, "learn")
    page.get_by_role("heading", name="Learn: double attention, step by step").wait_for(timeout=300_000)
    page.get_by_text("Channel attention: SE").wait_for()
    page.locator(".katex").nth(5).wait_for()  # KaTeX typesets after the text arrives
    assert page.locator(".katex").count() >= 6, "equations are typeset"

    page.get_by_role("tab", name="4 · Two orders, two costs").click()
    page.get_by_text("2.3 GiB").first.wait_for()

    page.get_by_role("tab", name="2 · Step by step").click()
    page.get_by_text("4 · Global descriptors G").wait_for()
    _wait_heatmaps(page, 1)

    page.get_by_role("tab", name="3 · Toy to drive by hand").click()
    page.get_by_text("The bilinear pooling view").wait_for()
    page.get_by_text(re.compile(r"The ball at cell \(1, 1\) receives")).wait_for()
    wait_idle(page)
    page.set_viewport_size({"width": 1600, "height": 1500})
    page.wait_for_timeout(1500)
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "learn.png"))
    assert Image.open(DOCS / "learn.png").size == (1600, 1500)
