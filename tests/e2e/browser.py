"""Waiting on a Streamlit page in Playwright, and the README's screenshots: what the browser tests share."""

from __future__ import annotations

import os
from pathlib import Path

CHARTS = '[data-testid="stPlotlyChart"]'
ROOT = Path(__file__).resolve().parents[2]
#: The zoo whose pages make docs/explore.png, compare.png and learn.png in this run (A2LENS_DOCS_ZOO), or
#: None, the default: the screenshots go to a temp folder and docs/ is left alone.
DOCS_ZOO = os.environ.get("A2LENS_DOCS_ZOO") or None


def screenshot(page, name: str, zoo: str, folder: Path) -> Path:
    """The page as ``docs/<name>.png`` when this run makes the docs of ``zoo``, else as a file in ``folder``."""
    path = ROOT / "docs" / f"{name}.png" if zoo == DOCS_ZOO else folder / f"{name}_{zoo}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=False)
    return path


def wait_idle(page) -> None:
    """Wait until the script run is over and no element is greyed out as stale."""
    # While the script runs Streamlit shows a status widget and greys out elements not yet redrawn.
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')")


def settled_box(locator, timeout_ms: int = 30_000) -> dict:
    """The element's bounding box once it has one."""
    # Plotly tears a chart down and draws it again when Streamlit re-renders it; in between the
    # element has no box, so poll for one instead of reading it once.
    locator.wait_for(state="visible", timeout=timeout_ms)
    for _ in range(timeout_ms // 100):
        if (box := locator.bounding_box()) is not None:
            return box
        locator.page.wait_for_timeout(100)
    raise AssertionError(f"{locator} never settled on the page")
