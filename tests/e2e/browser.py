"""Waiting on a Streamlit page in Playwright: the two things both browser tests need."""

from __future__ import annotations

CHARTS = '[data-testid="stPlotlyChart"]'


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
