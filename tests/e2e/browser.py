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


#: The lens roots of the page, in page order: st.components.v2 mounts each in a shadow root, which
#: document.querySelectorAll does not enter (Playwright's locators do).
LENSES_JS = """() => [document, ...[...document.querySelectorAll('*')].filter(e => e.shadowRoot).map(e => e.shadowRoot)]
    .flatMap(r => [...r.querySelectorAll('.a2lens')])"""


def wait_lens(page, signature: str | None = None, timeout_ms: int = 120_000) -> str:
    """Wait until a lens is drawn with maps other than ``signature``'s (a previous photo's) → its signature."""
    page.wait_for_function(
        f"s => {{ const l = ({LENSES_JS})()[0]; return l && l.dataset.frames && l.dataset.signature !== s; }}",
        arg=signature, timeout=timeout_ms)
    return page.locator(".a2lens").first.get_attribute("data-signature")


class SentFrames:
    """Counts the websocket frames the page sends to Streamlit (every rerun request is one); attach before goto."""

    def __init__(self, page) -> None:
        self.count = 0
        page.on("websocket", lambda ws: ws.on("framesent", self._sent) if "_stcore/stream" in ws.url else None)

    def _sent(self, _payload) -> None:
        self.count += 1
