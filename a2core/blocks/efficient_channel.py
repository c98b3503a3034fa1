"""Efficient Channel Attention (ECA-Net, Wang et al., CVPR 2020).

    s = σ(conv1d_k(mean_L(X)))      (N, c)   channel weights
    Y = X ⊙ s

SE's two fully connected layers are replaced by one 1-D convolution across
neighbouring channels, with no dimensionality reduction. The kernel size
follows the paper's adaptive rule k = |log₂(c)/γ + b/γ|, rounded to the
nearest odd number (γ = 2, b = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor, nn

from .common import at_least_float32, pool_channels


def eca_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """The paper's adaptive kernel size ψ(c), always odd."""
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


@dataclass
class EfficientChannelAttentionMaps:
    """channel: (N, c) weights in (0, 1)."""

    channel: Tensor


class EfficientChannelAttention(nn.Module):
    """ECA block for (N, c, *spatial) input; ``kernel_size`` defaults to ψ(c)."""

    def __init__(self, in_channels: int, kernel_size: int | None = None):
        super().__init__()
        k = kernel_size or eca_kernel_size(in_channels)
        if k % 2 == 0:
            # an even kernel cannot be centred on each channel: the output would lose a channel
            raise ValueError(f"kernel_size must be odd, got {k}")
        self.kernel_size = k
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x: Tensor, return_maps: bool = False):
        pooled = pool_channels(x).flatten(1)  # (N, c)
        s = self.conv(pooled.unsqueeze(1)).squeeze(1).sigmoid()  # (N, c)
        y = x * s.view(*s.shape, *([1] * (x.dim() - 2)))
        if not return_maps:
            return y
        return y, EfficientChannelAttentionMaps(channel=at_least_float32(s))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"
