"""The Measure page through Streamlit's AppTest: the shipped JSON's numbers in its tables and plot, on both zoos,
and a plain message for a zoo without the JSON.

The expected numbers are read from the JSON here, not through a2core.metrics.tables or a2core.figures.measure.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from a2core.weights import WEIGHTS_DIR
from tests.app.pages import APP
from tests.app.plotly_json import arr, charts
from bench.zoo_weights import link_cifar_weights, write_photo_weights

pytestmark = pytest.mark.slow  # AppTest page runs, a second or more each (--durations)

PHOTO = WEIGHTS_DIR / "imagenette"
#: The maps the plot shows (a design's summary over its block, Grad-CAM, the centred prior), as the brief lists them.
PLOTTED = {"gather", "row_mean", "context", "spatial", "gradcam", "center"}
NUMBER = r"(-?\d+\.\d+) \[(-?\d+\.\d+), (-?\d+\.\d+)\]"


def open_measure(zoo: str) -> AppTest:
    """The Measure page on ``zoo``, opened directly (the Explore page and its models are never run)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["a2lens_zoo"] = zoo
    at.switch_page("views/measure.py").run()
    assert not at.exception
    return at


def load(path) -> dict:
    return json.loads(path.read_text())


def table_lines(at, header: str) -> list[str]:
    (table,) = [m.value for m in at.markdown if m.value.startswith(header)]
    return table.splitlines()[2:]


def line_of(lines: list[str], row: dict) -> str:
    """The design table's line of a JSON row: its arch, block and map, or a prior by its map."""
    key = (f"prior: `{row['map']}`" if row["kind"] == "baseline"
           else f"`{row['arch']}` `{row['block']}` `{row['map']}`")
    (line,) = [ln for ln in lines if ln.startswith(f"| {key} |")]
    return line


def assert_cell(cell: str, row: dict, score: str) -> None:
    value, low, high = (float(v) for v in re.search(NUMBER, cell).groups())
    np.testing.assert_allclose([value, low, high], [row[score], *row[f"{score}_ci"]], atol=0.005 + 1e-9)


def test_photo_zoo_tables_and_plot_equal_the_json():
    at = open_measure("imagenette")
    val, train = load(PHOTO / "attention_val.json"), load(PHOTO / "attention_train.json")
    lines = table_lines(at, "| map | grid |")
    trains = {(r["arch"], r["block"], r["map"]): r for r in train["results"]}
    checked = 0
    for row in val["results"]:
        if row["map"] not in PLOTTED | {"uniform"} or (row["kind"] == "baseline" and row["arch"] != "resnet"):
            continue
        cells = line_of(lines, row).split(" | ")
        # map, grid, box energy (val), pointing (val), box energy (train), pointing (train), deletion, insertion
        assert_cell(cells[2], row, "box_energy")
        assert_cell(cells[3], row, "pointing")
        assert_cell(cells[4], trains[row["arch"], row["block"], row["map"]], "box_energy")
        assert_cell(cells[5], trains[row["arch"], row["block"], row["map"]], "pointing")
        checked += 1
    assert checked >= 18  # 7 Grad-CAMs, 6 GC contexts, 2 A² gathers, 2 Non-local row means, 2 priors

    # Query dependence: Non-local's rows, A²'s implied rows, GC's context, CC-Net's two-pass reach once its
    # weights ship, each as the JSON has it.
    query = table_lines(at, "| zoo | design |")
    scored = [r for r in val["results"] if "query_dependence" in r]
    per_query = {"NonLocal", "DoubleAttention", "GlobalContext"}
    if (PHOTO / "cc_resnet.safetensors").exists():
        per_query.add("CrissCross")
    assert len(query) == len(scored) and {r["kind"] for r in scored} == per_query
    for row in scored:
        (line,) = [ln for ln in query if f"`{row['arch']}` | `{row['block']}` ({row['map']})" in ln]
        assert_cell(line, row, "query_dependence")

    # The plot: one dot and error bar per summary map (priors once), the uniform map as a line.
    (fig,) = charts(at)
    (dots,) = fig["data"]
    expected = [r for r in val["results"] if r["map"] in PLOTTED and "box_energy" in r
                and (r["kind"] != "baseline" or r["arch"] == "resnet")]
    x = arr(dots["x"]).astype(float)
    assert len(x) == len(arr(dots["error_x"]["array"])) == len(arr(dots["error_x"]["arrayminus"])) == len(expected)
    np.testing.assert_allclose(sorted(x), sorted(r["box_energy"] for r in expected))
    np.testing.assert_allclose(sorted(x + arr(dots["error_x"]["array"])),
                               sorted(r["box_energy_ci"][1] for r in expected))
    assert "ResNet-18 · layer3 · gradcam" in list(dots["y"])  # the plain model named by the zoo's backbone
    (line,) = [s for s in fig["layout"]["shapes"] if s.get("name") == "uniform"]
    (uniform,) = {r["box_energy"] for r in val["results"] if r["map"] == "uniform"}
    assert line["x0"] == line["x1"] == pytest.approx(uniform)
    # The commands the JSON records, val and train.
    (code,) = [c.value for c in at.code]
    assert "--zoo imagenette --data DIR/val" in code and "--json attention_train.json" in code


def test_cifar_zoo_shows_query_dependence_and_no_box_plot():
    at = open_measure("cifar10")
    val = load(WEIGHTS_DIR / "attention_val.json")
    query = table_lines(at, "| zoo | design |")
    scored = [r for r in val["results"] if "query_dependence" in r]
    assert len(query) == len(scored) >= 6  # Non-local, A² and GC, two blocks each, and CC-Net once shipped
    for row in scored:
        (line,) = [ln for ln in query if f"`{row['arch']}` | `{row['block']}` ({row['map']})" in ln]
        assert line.startswith("| cifar10 |")
        assert_cell(line, row, "query_dependence")
    # CIFAR-10 has no object boxes: no design table, no plot, and it says so.
    assert not charts(at) and not [m for m in at.markdown if m.value.startswith("| map | grid |")]
    assert any("no object boxes" in c.value for c in at.caption)
    assert "--zoo cifar10" in at.code[0].value


@pytest.mark.parametrize("zoo", ["cifar10", "imagenette"])
def test_a_zoo_without_the_json_gets_a_message(tmp_path, monkeypatch, zoo):
    # A weights folder with weight files and no attention_*.json: the CIFAR-10 zoo's files, one random photo model.
    folder = link_cifar_weights(tmp_path, archs=["resnet"])
    write_photo_weights(folder, archs=["resnet"])
    monkeypatch.setenv("A2LENS_WEIGHTS", str(folder))
    at = open_measure(zoo)
    assert not at.error and not charts(at) and not at.code
    (info,) = at.info
    assert "No measured attention for this zoo yet" in info.value and "attention_val.json" in info.value
    assert f"--zoo {zoo}" in info.value
