"""A small class on one real server: concurrent sessions upload different photos and pin positions, with no error.

The full 30-session run is ``python -m bench.load`` (run with any training paused; numbers in the README).
"""

from __future__ import annotations

import pytest

from bench.load import LENS, run, student_photo
from bench.sessions import QUERY, Session, serve

pytestmark = pytest.mark.slow  # serves the app and drives concurrent sessions


def test_four_concurrent_sessions_upload_and_click_without_errors():
    result = run(sessions=4, clicks=2, deadline_s=240)
    assert result["errors"] == []
    latency = result["latency_s"]
    assert latency["open"]["n"] == latency["upload"]["n"] == 4 and latency["pin"]["n"] == 8
    assert all(0 < v["p50"] <= v["max"] for v in latency.values())
    assert result["server_peak_rss"] >= result["server_rss_before"] > 0


def test_a_session_sees_its_own_upload_and_pin():
    # The driver is only worth its numbers if the server really ran the page for it.
    with serve() as server:
        session = Session(server.url, query=QUERY)
        session.open()
        name, data = student_photo(3)
        session.upload(name, data)
        assert session.lenses[LENS]["position"] == [0.5, 0.5]  # the default: the centre
        signature = session.lenses[LENS]["signature"]
        session.pin(LENS, y=1.5 / 32, x=30.5 / 32)  # top right of the 32-pixel view
        assert session.lenses[LENS]["position"] == [1.5 / 32, 30.5 / 32]
        assert session.lenses[LENS]["signature"] == signature  # the same maps, a new pinned position
        # The server's panels follow the pin: the Grad-CAM's ✕ sits on cell (0, 15) of its 16×16 map (2 px a cell).
        (marker,) = [t for t in session.charts[f"explore_gradcam_{LENS.rsplit('_', 1)[1]}"]["data"]
                     if t.get("name") == "position"]
        assert (marker["y"][0] // 2, marker["x"][0] // 2) == (0, 15)
        # A click on the third tile of the gathering grid enlarges that tile's descriptor.
        grid = session.charts["explore_grid"]
        tiles = next(i for i, t in enumerate(grid["data"]) if t.get("name") == "tiles")
        third = grid["layout"]["annotations"][2]["text"].replace("<b>", "").split(" ")[0]  # "d5"
        session.click("explore_grid", x=grid["data"][tiles]["x"][2], y=grid["data"][tiles]["y"][2],
                      curve_number=tiles, point_number=2)
        enlarged = session.charts["explore_enlarged"]["layout"]["title"]["text"]
        assert enlarged == f"{third} gathers from", (enlarged, third)
        session.close()
        assert session.errors == []
        assert [r.action.split(" ")[0] for r in session.runs] == ["open", "upload", "pin", "click"]


def test_the_driver_speaks_to_a_server_with_xsrf_protection_on():
    # The load test runs as a real server is configured; without the token, Streamlit refuses the upload.
    import pytest
    import requests

    with serve(xsrf_protection=True) as server:
        with_token = Session(server.url, query=QUERY, xsrf=True)
        with_token.open()
        with_token.upload(*student_photo(2))
        assert with_token.errors == [] and with_token.lenses[LENS]["position"] == [0.5, 0.5]
        with_token.close()
        without = Session(server.url, query=QUERY)
        without.open()
        with pytest.raises(requests.HTTPError, match="403"):
            without.upload(*student_photo(3))
        without.close()


def test_cpu_per_action_times_each_action_of_one_session_at_a_time():
    # bench.load --cpu: the server's CPU time read around each action (README, Classroom: CPU per action).
    from bench.load import cpu_per_action

    result = cpu_per_action(sessions=2, clicks=1, zoo="cifar10", settle_s=0.1)
    assert result["errors"] == []
    assert {a: len(v) for a, v in result["cpu_s"].items()} == {"open": 2, "upload": 2, "pin": 2}
    # every action made the server work (clock ticks of 10 ms: an upload runs the model, never 0)
    assert all(x >= 0 for v in result["cpu_s"].values() for x in v) and min(result["cpu_s"]["upload"]) > 0
