"""The Measure page in a real browser, on the shipped weights and the JSON beside them: the plot's error bars and
uniform line are drawn, the tables are there; on the shared both-zoos server (no JSON), the plain message."""

from __future__ import annotations

import json

import pytest

from a2core.weights import WEIGHTS_DIR
from bench.sessions import serve
from tests.e2e.browser import CHARTS, wait_idle

PLOTTED = {"gather", "row_mean", "context", "spatial", "gradcam", "center"}


@pytest.fixture(scope="module")
def shipped_url(tmp_path_factory) -> str:
    """A server on the shipped weights (the e2e session's own server has random photo weights and no JSON)."""
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with serve(timeout_s=60, xsrf_protection=True, log=log) as server:
        yield server.url


def _open(page, url: str, zoo: str) -> None:
    page.goto(f"{url}/?zoo={zoo}")
    page.locator('[data-testid="stSidebarNav"]').wait_for()
    page.goto(f"{url}/measure?zoo={zoo}")
    page.get_by_role("heading", name="Measured attention").wait_for(timeout=120_000)


def test_photo_zoo_plot_draws_one_error_bar_per_row_and_the_uniform_line(shipped_url, page):
    _open(page, shipped_url, "imagenette")
    page.locator(f"{CHARTS} .errorbar").first.wait_for(timeout=60_000)
    wait_idle(page)
    results = json.loads((WEIGHTS_DIR / "imagenette" / "attention_val.json").read_text())["results"]
    rows = [r for r in results if r["map"] in PLOTTED and "box_energy" in r
            and (r["kind"] != "baseline" or r["arch"] == "resnet")]
    assert page.locator(f"{CHARTS} .errorbar").count() == len(rows)
    assert page.get_by_text("uniform map: ").count() == 1  # the line's label
    body = page.locator("body").inner_text()
    assert "box energy, val (69)" in body and "box energy, train (366)" in body
    assert "python -m a2core.metrics --zoo imagenette" in body


def test_cifar_zoo_has_query_dependence_and_no_plot(shipped_url, page):
    _open(page, shipped_url, "cifar10")
    page.get_by_text("no object boxes").wait_for()
    assert page.locator(CHARTS).count() == 0
    assert "query dependence (photos)" in page.locator("body").inner_text()


def test_a_zoo_without_the_json_gets_a_message(app_url, page):
    _open(page, app_url, "imagenette")  # the session's server: random photo weights, no JSON beside them
    page.get_by_text("No measured attention for this zoo yet").wait_for()
    assert page.locator(CHARTS).count() == 0
