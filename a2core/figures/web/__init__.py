"""The browser-side views' sources: one JavaScript file per view, shared by the app and notebooks.

``heat.js`` holds the drawing helpers every view uses; :func:`script` prepends it to a view's file
so each view is a single ES module (what ``st.components.v2`` and a notebook's ``<script type=module>``
both take). Shipped as package data: nothing is fetched at run time.
"""

from __future__ import annotations

import functools
from pathlib import Path

HERE = Path(__file__).resolve().parent


@functools.cache
def script(view: str) -> str:
    """The ES module of ``view`` (``lens``, ``toy``): heat.js, then ``<view>.js`` with its ``export default``."""
    return (HERE / "heat.js").read_text(encoding="utf-8") + "\n" + (HERE / f"{view}.js").read_text(encoding="utf-8")


@functools.cache
def style(view: str) -> str:
    """The CSS of ``view``."""
    return (HERE / f"{view}.css").read_text(encoding="utf-8")
