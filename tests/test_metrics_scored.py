"""What each design scores (a2core.metrics.scored) and where the boxes land on the view (a2core.metrics.boxes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from a2core.metrics import boxes as box_list
from a2core.metrics import cover_fractions, query_dependence
from a2core.metrics.scored import SCORED, baselines, block_scores
from a2core.models import build
from a2core.probe import analysis
from a2core.probe.maps import BlockMaps, compute_maps
from bench.zoo_weights import photo_meta


@pytest.fixture(scope="module")
def photo_maps():
    """Every arch's maps of one random photo through randomly initialised photo-zoo models (He init for A²)."""
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    out = {}
    for arch in ("a2_resnet", "nl_resnet", "gc_resnet", "se_resnet"):
        torch.manual_seed(0)
        model = build(arch, num_classes=10, zoo="imagenette").eval()
        model.meta = photo_meta(arch)
        out[arch] = compute_maps(model, image, 96)
    return out


def test_a2_gather_is_the_implied_attention_averaged_over_queries(photo_maps):
    block = photo_maps["a2_resnet"].blocks["layer2.1.attn"]
    offered = block_scores(block)
    names = [s.name for s in offered.maps]
    n, h, w = block.arrays["gather"].shape
    assert names == [f"gather_{i}" for i in range(n)] + ["gather", "rows"]
    maps = {s.name: s for s in offered.maps}
    # Reference: analysis.implied_attention, one query position at a time.
    implied = np.stack([analysis.implied_attention(block.arrays["gather"], block.arrays["distribute"], (r, c))
                        for r in range(h) for c in range(w)])
    np.testing.assert_allclose(maps["gather"].values, implied.mean(0), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(maps["rows"].values, implied, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(offered.queries, implied.reshape(h * w, -1), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(maps["gather_3"].values, block.arrays["gather"][3])
    assert maps["gather"].auc and maps["rows"].stack and not maps["gather_0"].auc


def test_non_local_rows_and_gc_context(photo_maps):
    nl = photo_maps["nl_resnet"].blocks["layer3.1.attn"]
    offered = block_scores(nl)
    h, w = nl.feature_size
    maps = {s.name: s for s in offered.maps}
    np.testing.assert_allclose(maps["rows"].values.reshape(h * w, -1), nl.arrays["attention"], rtol=1e-6)
    np.testing.assert_allclose(maps["row_mean"].values.sum(), 1, rtol=1e-5)
    assert query_dependence(offered.queries) > 0.01  # random weights: rows differ by query
    gc = photo_maps["gc_resnet"].blocks["layer3.1.attn"]
    offered = block_scores(gc)
    assert [s.name for s in offered.maps] == ["context"] and offered.queries_map == "context"
    np.testing.assert_allclose(offered.maps[0].values.reshape(-1), gc.arrays["context"], rtol=1e-6)
    assert query_dependence(offered.queries) == pytest.approx(0, abs=1e-9)  # one map for every query


def test_channel_designs_score_nothing_and_a_spatial_map_needs_no_entry(photo_maps):
    assert block_scores(photo_maps["se_resnet"].blocks["layer1.0.attn"]).maps == ()
    # A design A²Lens does not list (here a made-up CBAM-like block) is scored by its ``spatial_map`` array.
    assert "Cbam" not in SCORED
    spatial = np.random.default_rng(1).random((1, 6, 6)) - 0.2
    block = BlockMaps("layer1.0.attn", "Cbam", (6, 6), {}, {"channel": np.ones(8), "spatial_map": spatial})
    (scored,) = block_scores(block).maps
    assert scored.name == "spatial" and scored.auc and scored.values.shape == (6, 6)
    np.testing.assert_allclose(scored.values, np.maximum(spatial[0], 0))
    assert block_scores(BlockMaps("x", "Cbam", (6, 6), {}, {"channel": np.ones(8)})).maps == ()


def test_baselines():
    uniform, center = baselines((8, 10))
    assert uniform.values.shape == center.values.shape == (8, 10)
    assert center.values.sum() == pytest.approx(1)
    # Largest in the four middle cells, symmetric, and the corners far below.
    assert np.unravel_index(np.argmax(center.values), (8, 10)) == (3, 4)
    np.testing.assert_allclose(center.values, center.values[::-1, ::-1])
    assert center.values[0, 0] < center.values[3, 4] / 10


def test_view_boxes_squeezed_square_file():
    # boxes.csv's photos are 224×224 copies squeezed from the original size: fractions of the original.
    rows = [(500, 375, 50, 75, 250, 300)]
    np.testing.assert_allclose(box_list.view_boxes(rows, (224, 224)), [[0.1, 0.2, 0.5, 0.8]])


def test_view_boxes_centre_crop_of_a_wide_file():
    # A 300×200 file whose box rows are in its own pixels: the view is the square x ∈ [50, 250].
    rows = [(300, 200, 0, 0, 300, 200), (300, 200, 0, 0, 40, 100), (300, 200, 100, 50, 300, 150)]
    np.testing.assert_allclose(box_list.view_boxes(rows, (300, 200)), [[0, 0, 1, 1], [0.25, 0.25, 1, 0.75]])
    # The same photo kept at twice the size (aspect kept): the same fractions.
    np.testing.assert_allclose(box_list.view_boxes(rows, (600, 400)), box_list.view_boxes(rows, (300, 200)))
    # And what a model sees: the crop of model_view lines up with these fractions.
    from a2core.images import model_view

    pixels = np.zeros((200, 300, 3), np.uint8)
    pixels[50:150, 100:300] = 255
    view = np.asarray(model_view(Image.fromarray(pixels), 40))[..., 0] > 127
    cover = cover_fractions(box_list.view_boxes(rows[2:], (300, 200)), (40, 40))
    assert np.mean((cover > 0.5) == view) > 0.97  # bicubic edges aside


def test_read_boxes_and_its_errors(tmp_path):
    good = tmp_path / "boxes.csv"
    good.write_text("split,class,file,orig_width,orig_height,x0,y0,x1,y1\n"
                    "val,tench,a.jpg,500,375,1,2,3,4\nval,tench,a.jpg,500,375,5,6,7,8\n")
    assert box_list.read_boxes(good) == {("tench", "a.jpg"): [(500, 375, 1, 2, 3, 4), (500, 375, 5, 6, 7, 8)]}
    missing = tmp_path / "missing.csv"
    missing.write_text("class,file,x0,y0,x1,y1\n")
    with pytest.raises(box_list.BoxesError, match="missing column.*orig_width"):
        box_list.read_boxes(missing)
    bad = tmp_path / "bad.csv"
    bad.write_text("class,file,orig_width,orig_height,x0,y0,x1,y1\ntench,a.jpg,500,375,1,2,x,4\n")
    with pytest.raises(box_list.BoxesError, match="line 2"):
        box_list.read_boxes(bad)
    flipped = tmp_path / "flipped.csv"
    flipped.write_text("class,file,orig_width,orig_height,x0,y0,x1,y1\ntench,a.jpg,500,375,9,2,3,4\n")
    with pytest.raises(box_list.BoxesError, match="x0 ≤ x1"):
        box_list.read_boxes(flipped)
