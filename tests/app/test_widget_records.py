"""A session forgets the widgets it no longer shows (app.common's fix of Streamlit keeping every WidgetMetadata).

A chart's widget id hashes its figure, so a chart that changes with each image or
click is a new widget every run; Streamlit 1.67 drops the old one's value but kept
its record, callback and all, for the life of the session (bench/memory.py
--diagnose found it: README, Classroom: Memory).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow  # an AppTest run over several reruns


def _changing_chart():
    import plotly.graph_objects as go
    import streamlit as st

    import app.common  # noqa: F401  (what every page imports: it installs the fix)

    run = st.session_state.setdefault("run", 0) + 1
    st.session_state["run"] = run
    held = bytearray(100_000)  # what the callback closes over, as Explore's close over its figure and probe
    figure = go.Figure(go.Scatter(x=[0, 1], y=[run, run]))  # a new figure, so a new widget id, every run
    st.plotly_chart(figure, key="chart", on_select=lambda: len(held), selection_mode=("points",))

    def changed():
        st.session_state["callbacks"] = st.session_state.get("callbacks", 0) + 1

    st.selectbox("pick", ["a", "b", "c"], key="pick", on_change=changed)


def _records(at: AppTest) -> dict:
    return at._session_state._state._new_widget_state.widget_metadata


def test_records_of_replaced_widgets_are_dropped_and_callbacks_still_fire():
    at = AppTest.from_function(_changing_chart, default_timeout=60).run()
    assert not at.exception
    first = set(_records(at))
    for _ in range(12):
        at.run()
    assert at.session_state["run"] == 13
    records = _records(at)
    # One chart and one selectbox on the page: their two records, not one chart record per run.
    assert len(records) == 2, sorted(records)
    assert len(first) == 2 and first != set(records)  # the chart's id did change each run
    at.selectbox(key="pick").select("b").run()
    assert at.session_state["callbacks"] == 1  # the selectbox kept its record and its callback
    at.selectbox(key="pick").select("c").run()
    assert at.session_state["callbacks"] == 2
