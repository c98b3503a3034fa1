"""The lens's data (a2core.figures.lens): what the browser gets is a2core's numbers, exactly, and a notebook
gets the same script."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from a2core.figures import lens, overlay, web


@pytest.fixture
def a2():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 6, 6))
    gather = np.exp(logits) / np.exp(logits).sum(axis=(1, 2), keepdims=True)
    distribute = np.exp(logits) / np.exp(logits).sum(axis=0, keepdims=True)
    return gather.astype(np.float32), distribute.astype(np.float32)


def test_pack_round_trips_float32_exactly_and_float16_within_its_precision():
    values = np.random.default_rng(1).random((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(lens.unpack(lens.pack(values)), values)
    half = lens.unpack(lens.pack(values, "float16"))
    assert half.dtype == np.float16 and half.shape == (3, 5)
    np.testing.assert_allclose(half, values, rtol=2 ** -11)
    with pytest.raises(ValueError, match="float32 or float16"):
        lens.pack(values, "float64")


def test_a2_card_carries_the_blocks_maps(a2):
    gather, distribute = a2
    card = lens.a2_card(gather, distribute, title="A²", prediction=[("cat", 0.7), ("dog", 0.2)])
    assert card["kind"] == "a2" and card["shape"] == [6, 6] and card["n"] == 4
    np.testing.assert_array_equal(lens.unpack(card["gather"]), gather)
    np.testing.assert_array_equal(lens.unpack(card["distribute"]), distribute)
    assert card["prediction"] == [["cat", 0.7], ["dog", pytest.approx(0.2)]]
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        lens.a2_card(gather, distribute[:2])


def test_block_card_reads_each_design():
    rng = np.random.default_rng(2)
    attention = rng.random((16, 16))
    block = lambda kind, **arrays: SimpleNamespace(kind=kind, arrays=arrays, feature_size=(4, 4))  # noqa: E731
    assert lens.block_card(block("NonLocal", attention=attention))["kind"] == "nonlocal"
    assert lens.block_card(block("GlobalContext", context=rng.random(16), channel=rng.random(8)))["kind"] == "context"
    for kind in ("SqueezeExcitation", "EfficientChannelAttention", "GlobalSecondOrderPooling"):
        assert lens.block_card(block(kind, channel=rng.random(8)))["kind"] == "channel"
    with pytest.raises(ValueError, match="L = 16"):
        lens.nonlocal_card(attention[:8], (4, 4))
    with pytest.raises(ValueError, match="no lens card"):
        lens.block_card(block("SomethingElse"))


def test_block_card_reads_the_series_designs():
    rng = np.random.default_rng(3)
    block = lambda kind, **arrays: SimpleNamespace(kind=kind, arrays=arrays, feature_size=(4, 4))  # noqa: E731
    import torch
    from a2core.blocks import CrissCrossAttention

    torch.manual_seed(0)
    cc = CrissCrossAttention(16).eval()
    with torch.no_grad():
        cc.gamma.fill_(0.5)  # a second pass that differs from the first
        _, maps = cc(torch.randn(1, 16, 4, 5), return_maps=True)
    attention = maps.attention[0].numpy()
    card = lens.block_card(SimpleNamespace(kind="CrissCross", arrays={"attention": attention,
                                                                     "reach": maps.reach[0].numpy()},
                                           feature_size=(4, 5)))
    assert card["kind"] == "crisscross" and card["passes"] == 2 and card["shape"] == [4, 5]
    column, row = lens.unpack(card["column"]), lens.unpack(card["row"])
    assert column.shape == (2, 20, 4) and row.shape == (2, 20, 5)
    # the crosses put back, one query at a time, are the block's dense matrices: nothing lost, nothing twice
    dense = np.zeros((2, 20, 20))
    for u in range(20):
        i, j = divmod(u, 5)
        dense[:, u, np.arange(4) * 5 + j] += column[:, u]
        dense[:, u, i * 5 + np.arange(5)] += row[:, u]
    np.testing.assert_allclose(dense, attention, rtol=1e-6, atol=1e-7)
    assert np.allclose(column[:, np.arange(20), np.arange(20) // 5], 0)  # the query is in its row only
    with pytest.raises(ValueError, match="L = 20"):
        lens.crisscross_card(attention[:, :8], (4, 5))
    for kind in ("CBAM", "TripletAttention", "BAM"):
        gate = rng.random((4, 4))
        card = lens.block_card(block(kind, spatial_map=gate, channel=rng.random(8)), title="x")
        assert card["kind"] == "context" and card["label"] == "gate" and card["title"] == "x"
        np.testing.assert_array_equal(lens.unpack(card["context"]), gate.reshape(-1).astype(np.float32))
    weights = rng.dirichlet([1, 1], size=8).T  # (2 branches, 8 channels)
    for kind, field in (("SelectiveKernel", "branch"), ("SplitAttention", "radix")):
        card = lens.block_card(block(kind, **{field: weights}))
        assert card["kind"] == "channel" and card["bars_title"].startswith("per channel")
        np.testing.assert_array_equal(lens.unpack(card["channel"]), weights[-1].astype(np.float32))


def test_lens_data_signature_ignores_the_position_only(a2):
    image = np.zeros((24, 24, 3), np.uint8)
    cards = [lens.a2_card(*a2)]
    a = lens.lens_data(image, cards, position=(0.1, 0.2))
    b = lens.lens_data(image, cards, position=(0.9, 0.5))
    c = lens.lens_data(image, cards, colorscale="Inferno")
    assert a["signature"] == b["signature"] != c["signature"]
    assert a["position"] == [0.1, 0.2] and a["colors"] == overlay.colormap("Viridis").tobytes().hex()
    assert len(a["colors"]) == 256 * 6
    json.dumps(a)  # JSON-ready as it is
    assert lens.payload_bytes(a) == len(json.dumps(a, separators=(",", ":")))
    with pytest.raises(ValueError, match="layout"):
        lens.lens_data(image, cards, layout="grid")


def test_the_notebook_view_embeds_the_apps_script(a2, tmp_path):
    data = lens.lens_data(np.zeros((24, 24, 3), np.uint8), [lens.a2_card(*a2, title="</script><b>")])
    html = lens.LensView(data)._repr_html_()
    assert web.script("lens") in html and web.style("lens") in html
    assert "export default function lens" in web.script("lens") and "function paintMap" in web.script("lens")
    assert html.count("</script>") == 1  # a title cannot close the script early
    lens.LensView(data).save(tmp_path / "lens.html")
    assert (tmp_path / "lens.html").read_text(encoding="utf-8").startswith("<!doctype html>")
