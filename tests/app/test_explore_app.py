"""The Explore page through Streamlit's AppTest: sample, upload, block picker, clicks, bad files."""

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from a2core.figures import lens as figure_lens
from tests.app.pages import lens_data, open_page
from tests.app.plotly_json import arr, charts
from tests.image_cases import BAD, ODD, encode, mime, picture

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "samples"


pytestmark = pytest.mark.usefixtures("warm_model")  # tests/app/conftest.py


@pytest.fixture
def at():
    return open_page()


def chart_with_trace(at, name: str) -> dict:
    return next(c for c in charts(at) if any(t.get("name") == name for t in c["data"]))


def top5(at) -> dict[str, float]:
    (bar,) = chart_with_trace(at, "top-k")["data"]
    return dict(zip(arr(bar["y"]).tolist(), arr(bar["x"]).tolist()))


def info_line(at) -> str:
    return next(m.value for m in at.markdown if "model view" in m.value)


def chart(at, key: str) -> dict:
    """The plotly figure of the chart with this widget key."""
    (found,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id.endswith("-" + key)]
    return found


def grid_chart(at) -> dict:
    return chart(at, "explore_grid")


def grid_heatmaps(at) -> list:
    """The gathering grid's maps as the pictures sent (h, w, RGBA), one per descriptor."""
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(t["source"].split(",", 1)[1]))))
            for t in grid_chart(at)["data"] if t["type"] == "image" and t.get("name") == "map"]


def test_renders_on_a_sample_image(at):
    assert not at.exception and not at.error
    assert "sample cat · val_0000" in info_line(at)
    probs = top5(at)
    assert len(probs) == 5 and all(0 <= p <= 1 for p in probs.values())
    assert set(probs) <= {p.name for p in SAMPLE.iterdir() if p.is_dir()}
    assert any("Gathering maps" in s.value for s in at.subheader)
    # The default block is the one with the finest maps (16×16, n=8): 8 gathering maps in the grid.
    assert "16×16" in info_line(at) and "n = 8" in info_line(at)
    assert len(grid_heatmaps(at)) == 8
    assert {b.label for b in at.get("download_button")} >= {"⬇ Figure (PNG)", "⬇ All maps of this image (.npz)"}


@pytest.mark.slow
def test_upload_changes_the_prediction(at):
    before = top5(at)
    data = (SAMPLE / "ship" / "val_0002.jpg").read_bytes()
    at.file_uploader[0].upload("my_ship.jpg", data, "image/jpeg").run()
    assert not at.exception and not at.error
    assert "my_ship.jpg" in info_line(at)
    after = top5(at)
    assert after != before
    # The uploader is empty again, ready for the next photo (a full one would cost Streamlit two runs of the
    # page, one of them on the sample, when the next photo replaces its file); the sidebar names the photo.
    assert at.file_uploader[0].value is None and at.file_uploader[0].key != "explore_upload"
    assert any("Showing **my_ship.jpg**." in c.value for c in at.caption)
    second = (SAMPLE / "airplane" / "val_0004.jpg").read_bytes()
    at.file_uploader[0].upload("my_plane.jpg", second, "image/jpeg").run()
    assert not at.exception and "my_plane.jpg" in info_line(at) and top5(at) not in (before, after)
    assert at.file_uploader[0].value is None
    # "Use the sample instead" goes back to the sample and its prediction.
    at.button(key="explore_photo_forget").click().run()
    assert "sample" in info_line(at) and top5(at) == pytest.approx(before)


@pytest.mark.slow
def test_sample_picker_changes_the_image(at):
    before = top5(at)
    at.selectbox(key="explore_sample_cifar10").set_value("airplane · val_0004").run()
    assert "airplane · val_0004" in info_line(at)
    assert top5(at) != before


@pytest.mark.slow
def test_block_picker_changes_the_maps(at):
    picker = at.selectbox(key="explore_block_cifar10")
    assert picker.options[0].startswith("layer2.2.attn · 1/2 of the view")
    assert picker.options[-1].startswith("layer3.2.attn · 1/4 of the view")
    # The default view shows the finest maps (16×16), as the issue asks.
    assert picker.value == "layer2.2.attn"
    assert "16×16" in info_line(at) and "m = 16" in info_line(at) and "n = 8" in info_line(at)
    maps = grid_heatmaps(at)
    assert len(maps) == 8 and maps[0].shape[:2] == (16, 16)
    picker.set_value("layer3.2.attn").run()
    assert not at.exception
    assert "8×8" in info_line(at) and "m = 32" in info_line(at) and "n = 16" in info_line(at)
    maps = grid_heatmaps(at)
    assert len(maps) == 16 and maps[0].shape[:2] == (8, 8)
    # The enlarged descriptor's map carries the exact weights: a softmax over the 64 positions.
    (heat,) = [t for t in chart(at, "explore_enlarged")["data"] if t["type"] == "heatmap"]
    assert arr(heat["z"]).shape == (8, 8) and arr(heat["z"]).sum() == pytest.approx(1, abs=1e-4)


def test_the_lens_gets_the_blocks_maps_and_the_pinned_position(at):
    # The lens draws in the browser from the block's own float32 maps, exactly; a pinned position (the
    # shared fraction of the image) is passed in, and the server's panels (Grad-CAM's ✕) follow it.
    data = lens_data(at)
    (card,) = data["cards"]
    assert card["kind"] == "a2" and card["shape"] == [16, 16] and card["n"] == 8
    gather = figure_lens.unpack(card["gather"])
    assert gather.shape == (8, 16, 16) and gather.dtype == np.float32
    np.testing.assert_allclose(gather.reshape(8, -1).sum(axis=1), 1, atol=1e-5)  # a softmax over positions
    assert data["position"] == [0.5, 0.5] and "✕ at cell (8, 8)" in gradcam_caption(at)
    at.session_state["a2lens_position"] = {"shared": (0.01, 0.99)}
    at.run()
    assert lens_data(at)["position"] == [0.01, 0.99] and "✕ at cell (0, 15)" in gradcam_caption(at)
    assert lens_data(at)["signature"] == data["signature"]  # the same maps: the browser keeps its arrays


def gradcam_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("✕ at cell"))


@pytest.mark.slow
def test_distribution_maps_of_all_descriptors_on_demand(at):
    # Off by default, so a click does not rebuild and redraw a grid nobody looks at.
    assert not any(c.proto.id.endswith("-explore_distribution_grid") for c in at.get("plotly_chart"))
    at.toggle(key="explore_show_distribution").set_value(True).run()
    assert not at.exception
    grid = chart(at, "explore_distribution_grid")
    maps = [t for t in grid["data"] if t["type"] == "image" and t.get("name") == "map"]
    assert len(maps) == 8  # one per descriptor of the default block
    # Each tile is where its descriptor is sent: coloured like the enlarged "is sent to" map of that descriptor.
    titles = [a["text"].replace("<b>", "").replace("</b>", "").split(" ")[0] for a in grid["layout"]["annotations"]]
    chosen = at.selectbox(key="explore_descriptor").value
    sent = [t for t in chart(at, "explore_sent")["data"] if t["type"] == "heatmap"][0]
    tile = np.asarray(Image.open(io.BytesIO(base64.b64decode(maps[titles.index(chosen)]["source"].split(",", 1)[1]))))
    order = np.argsort(arr(sent["z"]).ravel())
    brightness = tile[..., :3].astype(float).sum(-1).ravel()[order]  # Viridis brightens with the weight
    assert brightness[-len(order) // 10:].mean() > brightness[:len(order) // 10].mean()


@pytest.mark.slow
def test_sort_by_sharpness_orders_the_grid(at):
    at.radio(key="explore_sort").set_value("sharpness").run()
    titles = [a["text"] for a in grid_chart(at)["layout"]["annotations"]]
    entropies = [float(t.split("H ")[1].split("<")[0]) for t in titles]
    assert entropies == sorted(entropies)


@pytest.mark.slow
def test_resolution_gives_finer_maps(at):
    at.select_slider(key="explore_size_cifar10").set_value(64).run()
    assert not at.exception
    # The default (finest) block's feature map doubles with the input: 16×16 → 32×32.
    assert "model view 64×64" in info_line(at) and "32×32" in info_line(at)
    assert grid_heatmaps(at)[0].shape[:2] == (32, 32)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_gets_a_message_and_the_app_keeps_working(at, name):
    data, word = BAD[name]
    at.file_uploader[0].upload(name, data, mime(name)).run()
    assert not at.exception
    assert len(at.error) == 1 and name in at.error[0].value and word.lower() in at.error[0].value.lower()
    # The same session recovers with a good upload.
    at.file_uploader[0].upload("fine.png", encode(picture(64, 64), "PNG"), "image/png").run()
    assert not at.exception and not at.error and "fine.png" in info_line(at)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ODD))
def test_awkward_but_valid_files_work(at, name):
    at.file_uploader[0].upload(name, ODD[name][0], mime(name)).run()
    assert not at.exception and not at.error
    assert name in info_line(at)
    assert len(top5(at)) == 5


@pytest.mark.slow
def test_block_choice_survives_a_resolution_change(at):
    # Issue 20, item 1: pick layer3, change the resolution, then touch an unrelated widget. AppTest sends
    # the option itself, not its label, so this passed before the fix too; the browser test
    # (tests/e2e/test_explore_layout_browser.py) is the one that caught the bug. The labels must not
    # depend on the resolution:
    labels = at.selectbox(key="explore_block_cifar10").options
    at.selectbox(key="explore_block_cifar10").set_value("layer3.2.attn").run()
    at.select_slider(key="explore_size_cifar10").set_value(64).run()
    assert not at.exception
    assert at.selectbox(key="explore_block_cifar10").value == "layer3.2.attn"
    assert "block `layer3.2.attn`" in info_line(at) and "16×16" in info_line(at)
    at.slider(key="explore_opacity").set_value(0.4).run()
    assert at.selectbox(key="explore_block_cifar10").value == "layer3.2.attn"
    assert "block `layer3.2.attn`" in info_line(at) and "16×16" in info_line(at)
    assert grid_heatmaps(at)[0].shape[:2] == (16, 16)
    assert at.selectbox(key="explore_block_cifar10").options == labels


@pytest.mark.slow
def test_the_photo_is_shown_clean_once(at):
    # Issue 20, item 7: the model's view appears once without any overlay.
    (view,) = [i for i in at.get("image") if any("model's view" in c for c in i.captions)]
    assert "32×32 px" in view.captions[0]
