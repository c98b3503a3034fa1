"""Squeeze-and-Excitation block (SENet, Hu et al., CVPR 2018).

    s = σ(W₂ δ(W₁ · mean_L(X)))     (N, c)   channel excitation weights
    Y = X ⊙ s                        (N, c, *spatial)

W₁: c → c/r and W₂: c/r → c are 1×1 convolutions on the pooled (N, c, 1, 1)
tensor, δ is ReLU and σ the logistic sigmoid. The design attends over channels
only: every position is rescaled by the same c weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .common import at_least_float32, pool_channels


@dataclass
class SqueezeExcitationMaps:
    """channel: (N, c) excitation weights in (0, 1)."""

    channel: Tensor


class SqueezeExcitation(nn.Module):
    """SE block for (N, c, *spatial) input.

    Args:
        in_channels: c.
        reduction: r, the bottleneck is c // r channels (at least ``min_channels``).
    """

    def __init__(self, in_channels: int, reduction: int = 4, min_channels: int = 4):
        super().__init__()
        hidden = max(in_channels // reduction, min_channels)
        self.fc1 = nn.Conv2d(in_channels, hidden, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, in_channels, 1)

    def forward(self, x: Tensor, return_maps: bool = False):
        s = self.fc2(self.act(self.fc1(pool_channels(x)))).sigmoid()  # (N, c, 1, 1)
        y = x * s.view(*s.shape[:2], *([1] * (x.dim() - 2)))
        if not return_maps:
            return y
        return y, SqueezeExcitationMaps(channel=at_least_float32(s.flatten(1)))
