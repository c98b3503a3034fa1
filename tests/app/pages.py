"""Open the app, or one of its pages, in Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
VIEWS = Path(APP).parent / "views"


def open_page(view: str | None = None, zoo: str | None = "cifar10") -> AppTest:
    """The app after its first run, switched to ``views/<view>.py`` when given (models load in the first run).

    ``zoo`` is the model source the session starts on, as if the user had picked it on an earlier page
    (so a test of one zoo stays on it once the photo zoo's weights land); None leaves the app's default.
    """
    at = AppTest.from_file(APP, default_timeout=60)
    if zoo is not None:
        at.session_state["a2lens_zoo"] = zoo
    at.run()
    if view is not None:
        at.switch_page(f"views/{view}.py").run()
    return at


def open_link(query: dict[str, str], view: str | None = None, timeout: float = 120) -> AppTest:
    """A new session whose first run is ``app/main.py`` (Explore), or the page ``views/<view>.py`` itself (a link to
    that page), with ``query`` as the URL's query string; it ran without an exception."""
    at = AppTest.from_file(APP if view is None else str(VIEWS / f"{view}.py"), default_timeout=timeout)
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def lens_data(at) -> dict:
    """The data the page gave its lens (the browser-side view of ``a2core/figures/web/lens.js``)."""
    import json

    (lens,) = [e for e in at.get("bidi_component") if e.proto.component_name == "a2lens.lens"]
    return json.loads(lens.proto.json)
