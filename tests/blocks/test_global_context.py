"""GlobalContext against timm's GlobalContext configured as the paper's GC block.

timm.layers.GlobalContext computes the same function once configured:
  * ``fuse_add=True, fuse_scale=False``: timm's default fuses the transform multiplicatively
    (a sigmoid gate); GCNet's default and a2core's is the addition Y = X + t.
  * ``rd_channels``: timm's default bottleneck is c/8; ours is max(c // 4, 4).
  * LayerNorm: both normalise the bottleneck vector of the pooled context. Ours is
    ``nn.LayerNorm([c/r, 1, 1])`` (weights (c/r, 1, 1)); timm's is ``LayerNorm2d(c/r)`` over the
    channels at the one position (weights (c/r,)). The elements normalised are the same; timm's
    eps is 1e-6 against torch's 1e-5, so we give timm our eps.
"""

from __future__ import annotations

import pytest
import torch
from timm.layers import GlobalContext as TimmGlobalContext

from a2core.blocks import GlobalContext

TOL = dict(rtol=1e-5, atol=1e-5)


def make(c, **kwargs):
    block = GlobalContext(c, **kwargs)
    with torch.no_grad():  # the last conv starts at zero and would hide the transform
        for p in block.transform.parameters():
            p.normal_()
    return block


def to_timm(block: GlobalContext) -> TimmGlobalContext:
    conv1, norm, _, conv2 = block.transform
    ref = TimmGlobalContext(conv1.in_channels, fuse_add=True, fuse_scale=False, rd_channels=conv1.out_channels)
    mlp = ref.mlp_add
    ref.conv_attn.load_state_dict(block.conv_attn.state_dict())
    mlp.fc1.load_state_dict(conv1.state_dict())
    mlp.fc2.load_state_dict(conv2.state_dict())
    with torch.no_grad():
        mlp.norm.weight.copy_(norm.weight.flatten())
        mlp.norm.bias.copy_(norm.bias.flatten())
    mlp.norm.eps = norm.eps
    return ref


@pytest.mark.parametrize("c", [4, 16, 64])
def test_equals_timm_global_context(c):
    block = make(c)
    x = torch.randn(2, c, 5, 6)
    torch.testing.assert_close(block(x), to_timm(block)(x), **TOL)


def test_maps_context_and_channel():
    block = make(8)
    x = torch.randn(2, 8, 3, 5)
    y, maps = block(x, return_maps=True)
    logits = torch.einsum("c,ncl->nl", block.conv_attn.weight[0, :, 0, 0], x.flatten(2)) + block.conv_attn.bias
    expected = logits.exp() / logits.exp().sum(-1, keepdim=True)
    assert maps.context.shape == (2, 15) and maps.spatial == (3, 5)
    torch.testing.assert_close(maps.context, expected, **TOL)
    torch.testing.assert_close(maps.context.sum(-1), torch.ones(2))
    # channel: what is added to every position of each channel
    assert maps.channel.shape == (2, 8)
    torch.testing.assert_close(y - x, maps.channel[..., None, None].expand_as(x), **TOL)
    # and it is the transform of the attention-pooled context
    context = torch.einsum("ncl,nl->nc", x.flatten(2), expected)
    torch.testing.assert_close(maps.channel, block.transform(context[..., None, None]).flatten(1), **TOL)


def test_layer_norm_normalises_the_bottleneck_vector():
    block = GlobalContext(16)
    norm = block.transform[1]
    h = torch.randn(3, norm.normalized_shape[0], 1, 1)
    expected = (h - h.mean(1, keepdim=True)) / (h.var(1, unbiased=False, keepdim=True) + norm.eps).sqrt()
    torch.testing.assert_close(norm(h), expected * norm.weight + norm.bias, **TOL)


def test_starts_as_identity_and_gradients_flow():
    block = GlobalContext(8)
    x = torch.randn(2, 8, 4, 4)
    assert torch.equal(block(x), x)
    block(x).square().sum().backward()
    assert block.transform[-1].weight.grad.abs().sum() > 0  # the way out of the identity
    with torch.no_grad():
        block.transform[-1].weight.normal_()
    block.zero_grad()
    block(x).square().sum().backward()
    for p in block.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_video_input_is_the_image_math_on_flattened_positions():
    block = make(8)
    x = torch.randn(2, 8, 3, 4, 5)
    y, maps = block(x, return_maps=True)
    y2d, maps2d = block(x.flatten(2, 3), return_maps=True)
    assert maps.spatial == (3, 4, 5) and maps.context.shape == (2, 60)
    torch.testing.assert_close(y, y2d.unflatten(2, (3, 4)), **TOL)
    torch.testing.assert_close(maps.context, maps2d.context, **TOL)


def test_bottleneck_width():
    assert GlobalContext(64).transform[0].out_channels == 16
    assert GlobalContext(8).transform[0].out_channels == 4
