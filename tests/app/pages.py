"""Open the app, or one of its pages, in Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def open_page(view: str | None = None) -> AppTest:
    """The app after its first run, switched to ``views/<view>.py`` when given (models load in the first run)."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    if view is not None:
        at.switch_page(f"views/{view}.py").run()
    return at
