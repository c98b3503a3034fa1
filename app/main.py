"""A²Lens: see the attention inside a CNN.  Run with ``streamlit run app/main.py``."""

import sys
from pathlib import Path

# `streamlit run` puts app/ on the path, not the repository; the pages import a2core and app.common.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from app import sessions  # noqa: E402

sessions.install()  # closed tabs give their uploads back (once per server; a no-op afterwards)
sessions.share_cores()  # one torch thread per forward pass: the class's sessions are the parallelism

# An emoji, not a ":material/…:" icon: the browser fetches those favicons from fonts.gstatic.com, and a
# classroom server may be offline. Streamlit draws an emoji favicon in the page itself (a data: URL).
st.set_page_config(page_title="A²Lens", page_icon="🔎", layout="wide")

HERE = Path(__file__).resolve().parent
pages = [
    st.Page(HERE / "views" / "explore.py", title="Explore", icon=":material/travel_explore:", default=True),
    st.Page(HERE / "views" / "compare.py", title="Compare", icon=":material/compare:"),
    st.Page(HERE / "views" / "measure.py", title="Measure", icon=":material/straighten:"),
    st.Page(HERE / "views" / "learn.py", title="Learn", icon=":material/school:"),
]
page = st.navigation(pages)
page.run()
sessions.settle(page.url_path)  # after each page's first full run: what it loaded for good leaves the GC's walk
