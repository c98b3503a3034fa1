"""Bottleneck Attention Module (BAM, Park et al., BMVC 2018).

A channel branch and a spatial branch, added and gated into one 3-D attention map:

    M_c = W₁ ReLU(BN(W₀ mean_HW(X)))                          (N, c)      logits, c → c/r → c
    M_s = conv1×1(f₂(f₁(ReLU(BN(conv1×1(X))))))                (N, H, W)   logits; f = 3×3 conv, dilation d,
                                                                          BN, ReLU (c/r channels)
    M   = σ(M_c + M_s)                                         (N, c, H, W)
    Y   = X ⊙ (1 + M)                                          (N, c, H, W)

BAM sits between a network's stages ("at each bottleneck", where the maps are pooled), not in every block.
The paper writes the sum M_c + M_s (eq. 2); the authors' code multiplies the two branches instead, and this
follows the paper. The dilated convolutions (d = 4) let the spatial branch see a wide context cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .common import gate, require_image


@dataclass
class BAMMaps:
    """Both branches' logits and the gate they make.

    channel_logits: (N, c)        M_c
    spatial_logits: (N, H, W)     M_s
    attention:      (N, c, H, W)  σ(M_c + M_s) in (0, 1); Y = X ⊙ (1 + attention)
    spatial_map:    (N, H, W)     attention averaged over the channels: where the block amplifies
    """

    channel_logits: Tensor
    spatial_logits: Tensor
    attention: Tensor
    spatial_map: Tensor


class BottleneckAttention(nn.Module):
    """BAM for (N, c, H, W) input.

    Args:
        in_channels: c.
        reduction: r of both branches (c // r hidden channels, at least ``min_channels``). The paper uses
            r = 16 on ImageNet ResNets; the zoo's stages are a quarter as wide, so r = 4 as for its SE blocks.
        dilation: d of the spatial branch's two 3×3 convolutions (4 in the paper).
    """

    def __init__(self, in_channels: int, reduction: int = 4, min_channels: int = 4, dilation: int = 4):
        super().__init__()
        hidden = max(in_channels // reduction, min_channels)
        self.channel = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, in_channels, 1),
        )
        self.spatial = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            *[_dilated(hidden, dilation) for _ in range(2)],
            nn.Conv2d(hidden, 1, 1),
        )

    def forward(self, x: Tensor, return_maps: bool = False):
        require_image(x, "BAM")
        m_c = self.channel(x.mean((2, 3), keepdim=True))  # (N, c, 1, 1)
        m_s = self.spatial(x)  # (N, 1, H, W)
        attention = gate(m_c + m_s)  # (N, c, H, W)
        y = x * (1 + attention).to(x.dtype)
        if not return_maps:
            return y
        return y, BAMMaps(channel_logits=m_c.flatten(1).to(attention.dtype),
                          spatial_logits=m_s[:, 0].to(attention.dtype), attention=attention,
                          spatial_map=attention.mean(1))


def _dilated(channels: int, dilation: int) -> nn.Sequential:
    # the authors' convs keep their bias before the BatchNorm; so do we, so that their weights map one to one
    conv = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
