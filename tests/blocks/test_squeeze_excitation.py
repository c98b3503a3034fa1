"""SqueezeExcitation against timm's SEModule, which has the same parameter names.

Only the bottleneck width rule differs: timm defaults to c/16 rounded to a multiple of 8,
a2core uses c // r with r = 4 and at least 4 channels (the CIFAR stages have 16–64 channels).
We pass our width to timm (``rd_channels``) and test our rule on its own.
"""

from __future__ import annotations

import pytest
import torch
from timm.layers import SEModule

from a2core.blocks import SqueezeExcitation

TOL = dict(rtol=1e-5, atol=1e-6)


def to_timm(block: SqueezeExcitation) -> SEModule:
    ref = SEModule(block.fc1.in_channels, rd_channels=block.fc1.out_channels)
    ref.load_state_dict(block.state_dict())  # strict: fc1.*, fc2.* on both sides
    return ref


@pytest.mark.parametrize("c", [1, 16, 32, 64])
def test_equals_timm_se(c):
    block = SqueezeExcitation(c)
    ref = to_timm(block)
    x = torch.randn(3, c, 5, 7)
    y, maps = block(x, return_maps=True)
    torch.testing.assert_close(y, ref(x), **TOL)
    # The excitation weights are what timm multiplies each channel by.
    positive = x.abs() + 0.1
    gate = ref(positive) / positive
    torch.testing.assert_close(block(positive, return_maps=True)[1].channel, gate[..., 0, 0], **TOL)
    torch.testing.assert_close(gate, gate[..., :1, :1].expand_as(gate), **TOL)  # same at every position
    assert maps.channel.shape == (3, c)
    assert ((maps.channel > 0) & (maps.channel < 1)).all()


def test_excitation_is_the_two_layer_bottleneck():
    block = SqueezeExcitation(8, reduction=2)
    x = torch.randn(2, 8, 3, 3)
    _, maps = block(x, return_maps=True)
    squeeze = x.mean(dim=(2, 3))
    hidden = (squeeze @ block.fc1.weight[:, :, 0, 0].T + block.fc1.bias).clamp(min=0)
    expected = torch.sigmoid(hidden @ block.fc2.weight[:, :, 0, 0].T + block.fc2.bias)
    torch.testing.assert_close(maps.channel, expected, **TOL)


def test_bottleneck_width():
    assert SqueezeExcitation(64).fc1.out_channels == 16
    assert SqueezeExcitation(32).fc1.out_channels == 8
    assert SqueezeExcitation(8).fc1.out_channels == 4  # never below min_channels
    assert SqueezeExcitation(64, reduction=16, min_channels=2).fc1.out_channels == 4


def test_video_input_pools_over_time_and_space():
    block = SqueezeExcitation(8)
    x = torch.randn(2, 8, 3, 4, 5)
    y, maps = block(x, return_maps=True)
    y2d, maps2d = block(x.flatten(2, 3), return_maps=True)
    torch.testing.assert_close(y, y2d.unflatten(2, (3, 4)), **TOL)
    torch.testing.assert_close(maps.channel, maps2d.channel, **TOL)


def test_gradients_flow():
    block = SqueezeExcitation(8)
    x = torch.randn(2, 8, 4, 4, requires_grad=True)
    block(x).square().sum().backward()
    for p in block.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0
