"""EfficientChannelAttention: the paper's kernel-size rule and timm's EcaModule.

ECA-Net (Wang et al. 2020, eq. 12): k = ψ(C) = |log₂(C)/γ + b/γ|_odd, γ = 2, b = 1, where
|t|_odd is the odd number nearest to t. timm's EcaModule clamps its adaptive kernel size to at
least 3, so for C with ψ(C) = 1 (C < 8) it is a different block; there we compare against timm
with the kernel size given explicitly.
"""

from __future__ import annotations

import math

import pytest
import torch
from timm.layers import EcaModule

from a2core.blocks import EfficientChannelAttention, eca_kernel_size

TOL = dict(rtol=1e-5, atol=1e-6)


def paper_kernel_size(c: int, gamma: float = 2, b: float = 1) -> int:
    """Nearest odd number to t = |log₂(c)/γ + b/γ|; exact ties (t even) go up, as the authors' code does."""
    t = abs(math.log2(c) / gamma + b / gamma)
    below = 2 * math.floor((t - 1) / 2) + 1  # largest odd ≤ t
    return below if t - below < (below + 2) - t else below + 2


@pytest.mark.parametrize("c", [1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 48, 64, 100, 128, 256, 512, 1024, 2048])
def test_kernel_size_follows_the_paper(c):
    assert eca_kernel_size(c) == paper_kernel_size(c)
    assert eca_kernel_size(c) % 2 == 1


@pytest.mark.parametrize("c, gamma, b", [(64, 1, 2), (64, 3, 1), (1000, 3, 2), (512, 4, 0)])
def test_kernel_size_with_other_gamma_b(c, gamma, b):
    assert eca_kernel_size(c, gamma=gamma, b=b) == paper_kernel_size(c, gamma, b)


def test_kernel_size_values_of_the_zoo_and_the_paper():
    # The CIFAR stages: ψ(16) = ψ(32) = ψ(64) = 3; ResNet-50's stages 256 … 2048: 5, 5, 5, 7.
    assert [eca_kernel_size(c) for c in (16, 32, 64)] == [3, 3, 3]
    assert [eca_kernel_size(c) for c in (256, 512, 1024, 2048)] == [5, 5, 5, 7]
    assert EfficientChannelAttention(64).conv.kernel_size == (3,)
    assert EfficientChannelAttention(64, kernel_size=5).conv.kernel_size == (5,)


@pytest.mark.parametrize("c", [8, 16, 32, 64, 256])
def test_equals_timm_eca_with_adaptive_kernel(c):
    block = EfficientChannelAttention(c)
    ref = EcaModule(channels=c)
    ref.conv.load_state_dict(block.conv.state_dict())  # fails if the kernel sizes differ
    x = torch.randn(2, c, 4, 6)
    torch.testing.assert_close(block(x), ref(x), **TOL)


@pytest.mark.parametrize("c", [1, 4, 7])
def test_small_channel_counts_differ_from_timm_only_by_its_clamp(c):
    block = EfficientChannelAttention(c)
    assert block.kernel_size == 1 and EcaModule(channels=c).conv.kernel_size == (3,)
    ref = EcaModule(kernel_size=1)
    ref.conv.load_state_dict(block.conv.state_dict())
    x = torch.randn(2, c, 3, 3)
    torch.testing.assert_close(block(x), ref(x), **TOL)


def test_channel_weights_are_a_local_conv_across_channels():
    block = EfficientChannelAttention(10, kernel_size=3)
    x = torch.randn(2, 10, 4, 4) + 0.5
    y, maps = block(x, return_maps=True)
    pooled = x.mean(dim=(2, 3))
    w = block.conv.weight[0, 0]
    padded = torch.nn.functional.pad(pooled, (1, 1))
    expected = torch.sigmoid(sum(w[k] * padded[:, k : k + 10] for k in range(3)))
    assert maps.channel.shape == (2, 10)
    torch.testing.assert_close(maps.channel, expected, **TOL)
    torch.testing.assert_close(y, x * expected[..., None, None], **TOL)


def test_video_input_and_gradients():
    block = EfficientChannelAttention(16)
    x = torch.randn(2, 16, 3, 4, 5, requires_grad=True)
    y, maps = block(x, return_maps=True)
    torch.testing.assert_close(y, block(x.flatten(2, 3)).unflatten(2, (3, 4)), **TOL)
    y.square().sum().backward()
    assert block.conv.weight.grad.abs().sum() > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_even_kernel_is_refused():
    with pytest.raises(ValueError, match="odd"):
        EfficientChannelAttention(16, kernel_size=4)
