"""The browser-side views' sources: one JavaScript file per view, shared by the app and notebooks.

``heat.js`` holds the drawing helpers every view uses; :func:`script` prepends it to a view's file
so each view is a single ES module (what ``st.components.v2`` and a notebook's ``<script type=module>``
both take). Shipped as package data: nothing is fetched at run time.
"""

from __future__ import annotations

import functools
import html
import json
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent


@functools.cache
def script(view: str) -> str:
    """The ES module of ``view`` (``lens``, ``toy``): heat.js, then ``<view>.js`` with its ``export default``."""
    return (HERE / "heat.js").read_text(encoding="utf-8") + "\n" + (HERE / f"{view}.js").read_text(encoding="utf-8")


@functools.cache
def style(view: str) -> str:
    """The CSS of ``view``: heat.css (what every view shares), then ``<view>.css``."""
    return "\n".join((HERE / f"{name}.css").read_text(encoding="utf-8") for name in ("heat", view))


class NotebookView:
    """A browser view in a notebook: as a cell's last line it draws ``data`` with ``<view>.js``, the app's script.

    The module's default export is called as Streamlit calls it; what the view would send back to
    Python (a pinned position, slider values) stays in the page: a notebook has no Python side to hear it.
    """

    view = ""  # the subclass's script: lens, toy

    def __init__(self, data: dict) -> None:
        self.data = data

    def _repr_html_(self) -> str:
        element = f"a2-{self.view}-{uuid.uuid4().hex}"
        payload = json.dumps(self.data).replace("</", "<\\/")  # "</" cannot end the script early
        return (f'<div id="{element}"></div><style>{style(self.view)}</style><script type="module">\n'
                f"{script(self.view)}\n{self.view}({{data: {payload}, parentElement: document.getElementById("
                f"{json.dumps(element)}), setStateValue() {{}}, setTriggerValue() {{}}}});\n</script>")

    def save(self, path) -> None:
        """A standalone HTML page of the view (opens offline: everything is inlined, nothing is fetched)."""
        Path(path).write_text(f"<!doctype html><meta charset='utf-8'><title>{html.escape('A²Lens ' + self.view)}"
                              "</title>" + self._repr_html_(), encoding="utf-8")
