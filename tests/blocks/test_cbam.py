"""CBAM against timm's ``CbamModule`` (the paper's avg-then-max order, an MLP with biases as the authors')."""

from __future__ import annotations

import pytest
import torch
from timm.layers.cbam import CbamModule

from a2core.blocks import CBAM

from tests.blocks.helpers import switch_on

TOL = dict(rtol=1e-5, atol=1e-6)


def to_timm(block: CBAM) -> CbamModule:
    ref = CbamModule(block.mlp[0].in_channels, rd_channels=block.mlp[0].out_channels, mlp_bias=True)
    names = {"mlp.0.": "channel.fc1.", "mlp.2.": "channel.fc2.", "spatial.conv.": "spatial.conv.conv.",
             "spatial.bn.": "spatial.conv.bn."}
    state = {}
    for key, value in block.state_dict().items():
        for ours, theirs in names.items():
            key = key.replace(ours, theirs) if key.startswith(ours) else key
        state[key] = value
    ref.load_state_dict(state)  # strict: every parameter has its counterpart
    return ref.eval()


@pytest.mark.parametrize("c", [4, 16, 64])
def test_equals_timm_cbam(c):
    block = switch_on(CBAM(c)).eval()
    ref = to_timm(block)
    x = torch.randn(3, c, 6, 9)
    y, maps = block(x, return_maps=True)
    torch.testing.assert_close(y, ref(x), **TOL)
    # the maps are the two gates timm multiplies by
    after_channel = ref.channel(x)
    torch.testing.assert_close(after_channel, x * maps.channel[..., None, None], **TOL)
    torch.testing.assert_close(ref.spatial(after_channel), after_channel * maps.spatial_map[:, None], **TOL)
    assert maps.channel.shape == (3, c) and maps.spatial_map.shape == (3, 6, 9)
    assert ((maps.spatial_map > 0) & (maps.spatial_map < 1)).all()


def test_spatial_gate_sees_the_channel_gated_features():
    # CBAM is sequential: the spatial gate pools X ⊙ M_c, not X. Scaling one channel up must move the spatial
    # map only through what survives the channel gate.
    block = switch_on(CBAM(8)).eval()
    x = torch.randn(2, 8, 5, 5)
    _, maps = block(x, return_maps=True)
    gated = x * maps.channel[..., None, None]
    pooled = torch.cat([gated.mean(1, keepdim=True), gated.amax(1, keepdim=True)], 1)
    torch.testing.assert_close(maps.spatial_map, torch.sigmoid(block.spatial(pooled))[:, 0], **TOL)


def test_refuses_video():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        CBAM(8)(torch.randn(1, 8, 2, 3, 3))
