"""Boxes on the Python side, through Streamlit's AppTest: the URL's ``?boxes=``, the session, the ``.npz`` download,
a sample's own object boxes (toggle), and Compare's query dependence of the photo shown.

The browser's half (drawing, scoring, sending on mouse-up) is tests/e2e/test_lens_boxes_browser.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app import pages
from tests.app.pages import lens_data

pytestmark = pytest.mark.slow  # AppTest page runs, a second or more each (--durations)

SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"
SPRINGER = SAMPLES / "imagenette" / "English_springer" / "ILSVRC2012_val_00008162.jpg"  # the photo zoo's default
CHAINSAW = "chain_saw · val_00011170"  # eight boxes
BOXES = "0.1,0.2,0.5,0.9_0.6,0.1,0.8,0.35"
BOX_LIST = [[0.1, 0.2, 0.5, 0.9], [0.6, 0.1, 0.8, 0.35]]
TIMEOUT = 300


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch):
    monkeypatch.delenv("A2LENS_WEIGHTS", raising=False)


def open_link(query: dict[str, str], view: str | None = None) -> AppTest:
    return pages.open_link(query, view, timeout=TIMEOUT)


def link_notes(at) -> str:
    return "\n".join(w.value for w in at.warning if "The link's" in w.value)


def digest(path: Path) -> str:
    """The name a photo's boxes are kept under: its picture's digest (app.upload.Picture.digest)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def csv_boxes(cls: str, file: str) -> np.ndarray:
    """The sample's boxes from the shipped CSV, read here with the csv module: the samples are 224×224 copies
    squeezed from the original photo, so the view is the whole file and a corner is x / orig_width, y / orig_height
    (BOXES.md)."""
    with open(SAMPLES / "imagenette" / "boxes.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["class"] == cls and r["file"] == file]
    return np.array([[float(r["x0"]) / float(r["orig_width"]), float(r["y0"]) / float(r["orig_height"]),
                      float(r["x1"]) / float(r["orig_width"]), float(r["y1"]) / float(r["orig_height"])] for r in rows])


def test_a_links_boxes_open_on_the_lens_and_stay_in_the_url():
    at = open_link({"zoo": "imagenette", "boxes": BOXES})
    assert lens_data(at)["boxes"] == BOX_LIST
    assert at.query_params["boxes"] == BOXES and link_notes(at) == ""
    # The same photo on Compare: the boxes follow (they belong to the photo, not the page).
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert lens_data(at)["boxes"] == BOX_LIST and at.query_params["boxes"] == BOXES


def test_drawn_boxes_go_into_the_url_and_a_reload_shows_them():
    at = open_link({"zoo": "imagenette"})
    assert "boxes" not in at.query_params and lens_data(at)["boxes"] == []
    # Where app.lens keeps the boxes the browser sends (app.boxes: per photo, by the MD5 of its bytes).
    at.session_state["a2lens_boxes"] = {digest(SPRINGER): [[0.1235, 0.2, 0.5, 1.0]]}
    at.run()
    assert at.query_params["boxes"] == "0.1235,0.2,0.5,1"  # four decimals at most, trailing zeros dropped
    again = open_link(dict(at.query_params))  # a reload, or the link shared
    assert lens_data(again)["boxes"] == [[0.1235, 0.2, 0.5, 1.0]]  # the very floats: what the browser scored
    assert again.query_params == at.query_params
    # Another photo has no boxes (they leave the URL); back on the first photo, they are back.
    at.selectbox(key="explore_sample_imagenette").set_value(CHAINSAW).run()
    assert lens_data(at)["boxes"] == [] and "boxes" not in at.query_params
    at.selectbox(key="explore_sample_imagenette").set_value("English_springer · val_00008162").run()
    assert len(lens_data(at)["boxes"]) == 1 and "boxes" in at.query_params
    # Cleared boxes leave the URL.
    at.session_state["a2lens_boxes"] = {}
    at.run()
    assert "boxes" not in at.query_params and lens_data(at)["boxes"] == []


@pytest.mark.parametrize("bad", ["nonsense", "0.5,0.5,0.4,0.9", "0.1,0.2,0.5", "nan,0,1,1", "0,0,1e999,1",
                                 "_".join(["0,0,1,1"] * 17), "0," * 2000, "0.1,0.2,0.5,0.9;drop table"])
def test_a_tampered_boxes_value_is_ignored_with_a_plain_message(bad):
    at = open_link({"zoo": "imagenette", "boxes": bad})
    assert not at.error
    assert "`boxes=" in link_notes(at) and "was ignored" in link_notes(at)
    assert lens_data(at)["boxes"] == [] and "boxes" not in at.query_params


def test_boxes_the_browser_sends_are_checked_before_they_are_kept(monkeypatch):
    from app import boxes as photo_boxes

    # The component's callback (app.lens._store_boxes) hands app.boxes.store whatever the message held.
    kept = {}
    monkeypatch.setattr(photo_boxes.st, "session_state", kept)
    for bad in ([[0.5, 0.5, 0.4, 0.9]], [[0, 0, 2, 1]], "x", [[None, 0, 1, 1]], {"a": 1}, [[0.1, 0.1, 0.2, 0.2]] * 17):
        assert photo_boxes.store("photo", bad) is False and kept == {}
    assert photo_boxes.store("photo", [[0.123456, 0, 1, 1]]) is True
    assert kept == {"a2lens_boxes": {"photo": [[0.1235, 0.0, 1.0, 1.0]]}}
    assert photo_boxes.store("photo", []) is True and kept == {"a2lens_boxes": {}}  # cleared
    for i in range(photo_boxes.PHOTOS_KEPT + 2):  # the last few photos only
        photo_boxes.store(f"p{i}", [[0, 0, 1, 1]])
    assert list(kept["a2lens_boxes"]) == [f"p{i}" for i in range(2, photo_boxes.PHOTOS_KEPT + 2)]


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """{key: the data callable} of every download button drawn: AppTest has no media file manager, and Streamlit
    drops a deferred download's callable without one, so the page's own callable is caught on its way in."""
    from streamlit.delta_generator import DeltaGenerator

    caught = {}
    original = DeltaGenerator.download_button

    def download_button(self, label, data, *args, **kwargs):
        caught[kwargs.get("key")] = data
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", download_button)
    return caught


def _npz(downloads) -> dict[str, np.ndarray]:
    data = downloads["explore_npz"]()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return dict(npz)


def test_the_npz_download_holds_the_boxes_as_fractions_of_the_view(downloads):
    open_link({"zoo": "imagenette", "boxes": BOXES})
    arrays = _npz(downloads)
    np.testing.assert_allclose(arrays["boxes"], BOX_LIST)
    assert arrays["boxes"].shape == (2, 4)
    np.testing.assert_allclose(arrays["object_boxes"], csv_boxes("English_springer", SPRINGER.name), atol=1e-12)
    assert "layer2.1.attn/gather" in arrays  # still every map
    # None drawn: an empty (0, 4) list; a CIFAR-10 sample has no object boxes.
    open_link({"zoo": "cifar10"})
    arrays = _npz(downloads)
    assert arrays["boxes"].shape == (0, 4) and "object_boxes" not in arrays


@pytest.mark.parametrize("view", ["explore", "compare"])
def test_the_toggle_draws_the_samples_own_boxes(view):
    at = open_link({"zoo": "imagenette", "sample": CHAINSAW}, view)
    key = f"{view}_object_boxes"
    assert lens_data(at)["object_boxes"] == []  # off by default
    at.toggle(key=key).set_value(True).run()
    assert not at.exception
    np.testing.assert_allclose(lens_data(at)["object_boxes"], csv_boxes("chain_saw", "ILSVRC2012_val_00011170.jpg"),
                               atol=1e-12)
    assert len(lens_data(at)["object_boxes"]) == 8
    assert "boxes" not in at.query_params  # the sample's boxes are not the user's: not in the URL
    # An uploaded photo, and the CIFAR-10 samples, have none: no toggle.
    at.file_uploader[0].upload("photo.jpg", SPRINGER.read_bytes(), "image/jpeg").run()
    assert not any(t.key == key for t in at.toggle) and lens_data(at)["object_boxes"] == []
    at = open_link({"zoo": "cifar10"}, view)
    assert not any(t.key == key for t in at.toggle)


def _pairwise_query_dependence(rows: np.ndarray) -> float:
    # GCNet's measure written out: the P × P cosine matrix, its off-diagonal mean.
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    cos = unit @ unit.T
    p = len(rows)
    return float((1 - cos)[~np.eye(p, dtype=bool)].mean())


def test_compare_shows_the_photos_query_dependence_beside_the_lens():
    from app.common import run_probe, weights_dir
    from app.upload import picture

    at = open_link({"zoo": "imagenette", "models": "se_resnet,nl_resnet,a2_resnet,gc_resnet", "size": "160",
                    "block": "layer3.1.attn"}, "compare")
    (line,) = [m.value for m in at.markdown if m.value.startswith("**Query dependence on this photo**")]
    assert any("0 = every query sees the same map" in c.value for c in at.caption)
    folder = weights_dir() / "imagenette"
    expected = {}
    for arch in ("nl_resnet", "a2_resnet", "gc_resnet"):
        maps = run_probe(arch, str(folder / f"{arch}.safetensors"), picture(SPRINGER.read_bytes()), 160)
        block = maps.blocks["layer3.1.attn"]
        if arch == "nl_resnet":
            rows = block.arrays["attention"]
        elif arch == "a2_resnet":  # implied rows: row j = Σᵢ vᵢⱼ gathering map i
            n = len(block.arrays["gather"])
            rows = block.arrays["distribute"].reshape(n, -1).T @ block.arrays["gather"].reshape(n, -1)
        else:
            rows = np.tile(block.arrays["context"].reshape(1, -1), (100, 1))
        expected[arch] = _pairwise_query_dependence(np.asarray(rows, np.float64))
    assert expected["gc_resnet"] == pytest.approx(0, abs=1e-9)
    assert expected["nl_resnet"] > 0.01  # something to show
    assert line == ("**Query dependence on this photo** (`layer3.1.attn`): "
                    f"Non-local **{expected['nl_resnet']:.3f}** · A² **{expected['a2_resnet']:.3f}** · "
                    f"GC **{expected['gc_resnet']:.3f}**")
    assert "SE" not in line.split(":", 1)[1]  # channel designs have no map per query
