"""The series' archs go through the package as the zoo's do: weights round-trip through safetensors with their
metadata, and one probed forward pass reads every block's maps with the shapes their docstrings give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from a2core import load_pretrained
from a2core.metrics.scored import block_query_dependence, block_scores
from a2core.models import SERIES_ARCHS, attention_blocks
from a2core.probe.maps import compute_maps
from bench.zoo_weights import write_photo_weights

SAMPLE = sorted(Path("assets/samples/imagenette").rglob("*.jpg"))[0]
KIND = {"cbam_resnet": "CBAM", "bam_resnet": "BAM", "sk_resnet": "SelectiveKernel", "cc_resnet": "CrissCross",
        "resnest": "SplitAttention", "triplet_resnet": "TripletAttention"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_photo_weights(tmp_path_factory.mktemp("weights"), archs=SERIES_ARCHS)


@pytest.mark.slow
@pytest.mark.parametrize("arch", SERIES_ARCHS)
def test_compute_maps_reads_every_block(arch, folder):
    model = load_pretrained(arch, folder / "imagenette" / f"{arch}.safetensors", zoo="imagenette")
    result = compute_maps(model, Image.open(SAMPLE), size=160)
    assert result.blocks and {b.kind for b in result.blocks.values()} == {KIND[arch]}
    assert set(result.blocks) == set(attention_blocks(model))
    for name, block in result.blocks.items():
        for field, array in block.arrays.items():
            assert np.isfinite(array).all(), (name, field)
        h, w = block.feature_size
        arrays = block.arrays
        if arch == "cbam_resnet":
            assert arrays["spatial_map"].shape == (h, w) and arrays["channel"].ndim == 1
        elif arch == "triplet_resnet":
            assert arrays["spatial_map"].shape == (h, w)
            assert arrays["channel_width"].shape[1] == w and arrays["channel_height"].shape[1] == h
        elif arch == "bam_resnet":
            assert arrays["attention"].shape[1:] == (h, w) and arrays["spatial_map"].shape == (h, w)
        elif arch == "cc_resnet":
            assert arrays["attention"].shape == (2, h * w, h * w) and arrays["reach"].shape == (h * w, h * w)
            np.testing.assert_allclose(arrays["reach"].sum(-1), 1, rtol=1e-5)
        else:  # SK, split attention: per-channel weights over branches / splits, summing to 1
            weights = arrays["branch" if arch == "sk_resnet" else "radix"]
            assert weights.shape[0] == 2
            np.testing.assert_allclose(weights.sum(0), 1, rtol=1e-5)


#: What the measured-attention scores read of each design: its spatial gate, CC-Net's two-pass reach, nothing
#: for the channel designs (no map over the image).
SCORED_MAPS = {"cbam_resnet": ["spatial"], "bam_resnet": ["spatial"], "triplet_resnet": ["spatial"],
               "cc_resnet": ["row_mean", "rows"], "sk_resnet": [], "resnest": []}


@pytest.mark.slow
@pytest.mark.parametrize("arch", SERIES_ARCHS)
def test_the_scores_read_each_design(arch, folder):
    model = load_pretrained(arch, folder / "imagenette" / f"{arch}.safetensors", zoo="imagenette")
    result = compute_maps(model, Image.open(SAMPLE), size=160)
    for name, block in result.blocks.items():
        offered = block_scores(block)
        assert [m.name for m in offered.maps] == SCORED_MAPS[arch], name
        for scored in offered.maps:
            assert (scored.values >= 0).all() and scored.values.shape[-2:] == block.feature_size[-2:]
        dependence = block_query_dependence(block)
        if arch == "cc_resnet":
            np.testing.assert_allclose(offered.queries, block.arrays["reach"], rtol=1e-6)
            assert 0 <= dependence <= 1
        else:
            assert dependence is None


#: Each design's module at the place of A²'s ``layer2.1.attn`` (the stage's last block) and of ``layer1.1.attn``
#: (stage 1, where CC-Net, as Non-local, has none), read off the placement table of a2core.models.resnet.
LIKE = {"cbam_resnet": ("layer2.1.attn", "layer1.1.attn"), "bam_resnet": ("layer2.attn", "layer1.attn"),
        "sk_resnet": ("layer2.1.conv1", "layer1.1.conv1"), "cc_resnet": ("layer2.1.attn", None),
        "resnest": ("layer2.1.conv1", "layer1.1.conv1"), "triplet_resnet": ("layer2.1.attn", "layer1.1.attn")}


@pytest.mark.parametrize("arch", SERIES_ARCHS)
def test_block_like_finds_each_designs_block_of_a_stage(arch, folder):
    model = load_pretrained(arch, folder / "imagenette" / f"{arch}.safetensors", zoo="imagenette")
    result = compute_maps(model, Image.open(SAMPLE), size=160)
    for name, expected in zip(("layer2.1.attn", "layer1.1.attn"), LIKE[arch]):
        found = result.block_like(name)
        assert (found.name if found is not None else None) == expected, name
