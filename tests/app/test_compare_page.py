"""The Compare page through Streamlit's AppTest: the lens's cards, the shared pinned position, the zoo table."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from a2core.figures import lens as figure_lens
from a2core.figures.compare import ARCH_LABELS, ARCH_SHORT
from a2core.models import ARCHS, archs_with_weights, zoo_dir
from a2core.weights import WEIGHTS_DIR
from tests.app.pages import lens_data, open_page
from tests.app.plotly_json import arr, charts
from tests.image_cases import BAD, mime


# every test here runs the page in AppTest for a second or more (pytest --durations)
pytestmark = [pytest.mark.usefixtures("warm_models"), pytest.mark.slow]  # fixture: tests/app/conftest.py


@pytest.fixture
def at():
    at = open_page("compare")
    assert not at.exception
    return at


def query_cell(at) -> tuple[int, int]:
    text = next(m.value for m in at.markdown if m.value.startswith("**Query position:**"))
    return tuple(int(v) for v in re.search(r"cell \((\d+), (\d+)\)", text).groups())


def captions_with(at, prefix: str) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith(prefix)]


def lens_cards(at) -> list[dict]:
    """The cards of the page's lens: one per model shown, drawn in the browser."""
    return lens_data(at)["cards"]


def test_default_columns_render_with_predictions(at):
    cards = lens_cards(at)
    assert [c["title"] for c in cards] == [ARCH_LABELS[a] for a in ("se_resnet", "nl_resnet", "a2_resnet")]
    assert [c["kind"] for c in cards] == ["channel", "nonlocal", "a2"]
    assert all(len(c["prediction"]) == 3 and c["prediction"][0][1] >= c["prediction"][1][1] for c in cards)
    # SE's weights: one per channel of layer2.2's 32; Non-local's full 256 × 256 attention at 16×16.
    assert figure_lens.unpack(cards[0]["channel"]).shape == (32,)
    attention = figure_lens.unpack(cards[1]["attention"])
    assert attention.shape == (256, 256) and abs(float(attention.astype("float64").sum(axis=1).mean()) - 1) < 1e-2


def test_picking_columns(at):
    picked = ["resnet", "gc_resnet", "eca_resnet", "gsop_resnet"]
    at.multiselect(key="cmp_archs_cifar10").set_value(picked).run()
    assert not at.exception
    cards = lens_cards(at)
    # in the article's families: the baseline, then channel attention (ECA, GSoP), then spatial (GC)
    shown = ["resnet", "eca_resnet", "gsop_resnet", "gc_resnet"]
    assert [c["title"] for c in cards] == [ARCH_LABELS[a] for a in shown]
    assert [c["kind"] for c in cards] == ["plain", "channel", "channel", "context"]
    assert [c["group"].split(":")[0] for c in cards] == ["No attention", "Channel attention", "Channel attention",
                                                         "Spatial attention, global and pairwise"]
    assert cards[0]["caption"].startswith("No attention block"), "the plain ResNet says it has no block"
    assert cards[3]["map_title"] == "global context map", "GC shows its context map"
    # GSoP's covariance is a square heatmap of c' = c/2 channels (16 at layer2), drawn by the server
    squares = [t for c in charts(at) for t in c["data"]
               if t["type"] == "heatmap" and t.get("colorscale") and "ch %{y}" in t.get("hovertemplate", "")]
    assert squares and arr(squares[0]["z"]).shape == (16, 16)


def test_one_pin_moves_every_model(at):
    before = query_cell(at)
    at.session_state["a2lens_position"] = {"shared": (0.05, 0.95)}  # top right
    at.run()
    assert not at.exception
    after = query_cell(at)
    assert after != before and after == (0, 15)
    assert lens_data(at)["position"] == [0.05, 0.95]  # every card's query cell, in the browser
    assert all("(0, 15)" in c for c in captions_with(at, "✕ at cell")) and captions_with(at, "✕ at cell")


def test_block_picker_changes_the_feature_map(at):
    at.radio(key="cmp_block_cifar10").set_value("layer3.2.attn").run()
    assert not at.exception
    text = next(m.value for m in at.markdown if m.value.startswith("**Query position:**"))
    assert "8×8 feature map of `layer3.2.attn`" in text
    nl = next(c for c in lens_cards(at) if c["kind"] == "nonlocal")
    assert nl["shape"] == [8, 8] and figure_lens.unpack(nl["attention"]).shape == (64, 64)


def test_a_weights_folder_without_some_models(tmp_path, monkeypatch):
    # A2LENS_WEIGHTS points the app at other weights; the page offers what that folder holds.
    for arch in ("resnet", "a2_resnet"):
        shutil.copy(WEIGHTS_DIR / f"{arch}.safetensors", tmp_path)
    monkeypatch.setenv("A2LENS_WEIGHTS", str(tmp_path))
    at = open_page("compare")
    assert not at.exception
    assert at.multiselect(key="cmp_archs_cifar10").options == [ARCH_SHORT["resnet"], ARCH_SHORT["a2_resnet"]]
    assert at.multiselect(key="cmp_archs_cifar10").value == ["a2_resnet"]
    (missing,) = captions_with(at, "No weight file in")
    assert all(ARCH_LABELS[a] in missing for a in ("se_resnet", "nl_resnet", "gc_resnet", "eca_resnet", "gsop_resnet"))
    (table,) = [d for d in at.dataframe if "params" in d.value.columns]
    assert list(table.value["model"]) == [ARCH_LABELS["resnet"], ARCH_LABELS["a2_resnet"]]


def zoo_frame(at):
    (table,) = [d for d in at.dataframe if "params" in d.value.columns]
    return table


def test_block_choice_survives_an_input_size_change(at):
    # The radio's labels do not depend on the size (the browser drops a choice whose labels change;
    # tests/e2e/test_pages_browser.py checks that part), and the size is told beside it.
    picker = at.radio(key="cmp_block_cifar10")
    labels = list(picker.options)
    picker.set_value("layer3.2.attn").run()
    at.select_slider(key="cmp_size_cifar10").set_value(64).run()
    assert not at.exception
    assert list(at.radio(key="cmp_block_cifar10").options) == labels
    assert at.radio(key="cmp_block_cifar10").value == "layer3.2.attn"
    assert any(c.value == "At 64 px: 16×16 feature map." for c in at.caption)
    at.slider(key="cmp_top").set_value(2).run()
    assert at.radio(key="cmp_block_cifar10").value == "layer3.2.attn"
    assert "16×16 feature map of `layer3.2.attn`" in next(
        m.value for m in at.markdown if m.value.startswith("**Query position:**"))


@pytest.mark.parametrize("name", ["notes.png", "bomb.png"])
def test_a_bad_upload_keeps_the_zoo_table(at, name):
    data, word = BAD[name]
    at.file_uploader[0].upload(name, data, mime(name)).run()
    assert not at.exception
    (error,) = at.error
    assert name in error.value and word in error.value.lower()
    # Pillow's own wording stays out of the message (it speaks of "DOS attack" and limits in pixels).
    assert "DOS" not in error.value and "exceeds limit" not in error.value
    # every model the zoo ships, the series' ones as their weights land
    assert list(zoo_frame(at).value["model"]) == [ARCH_LABELS[a] for a in archs_with_weights(zoo_dir("cifar10"))]


def test_zoo_table_shows_two_decimals_and_latency_only_when_measured(at):
    table = zoo_frame(at)
    assert "latency (ms)" not in table.value.columns, "no column of None before the toggle"
    assert json.loads(table.proto.columns)["top-1 (val)"]["type_config"]["format"] == "%.2f %%"
    at.toggle(key="cmp_latency").set_value(True).run()
    latency = zoo_frame(at).value["latency (ms)"]
    assert len(latency) == len(archs_with_weights(zoo_dir("cifar10"))) and (latency > 0).all()


def bordered_blocks(node):
    for child in getattr(node, "children", {}).values():
        if "border: true" in str(getattr(child, "proto", "")):
            yield child
        yield from bordered_blocks(child)


def test_all_seven_models_leave_no_empty_card(at):
    at.multiselect(key="cmp_archs_cifar10").set_value(list(ARCHS)).run()
    assert not at.exception
    cards = list(bordered_blocks(at.main))
    # a lens card per model (in the browser), and server-drawn cards: the channel designs' insides, Grad-CAM
    assert len(lens_cards(at)) == len(ARCHS)
    channel_designs = ("se_resnet", "eca_resnet", "gsop_resnet")
    assert len(cards) == len(channel_designs) + len(ARCHS) and all(card.children for card in cards)
    # the picker's chips are short names, so none is cut in the sidebar
    assert all(len(label) <= 10 for label in at.multiselect(key="cmp_archs_cifar10").options)
