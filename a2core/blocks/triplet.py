"""Triplet attention (Misra et al., WACV 2021).

Three branches, each rotating the tensor so that a different pair of dimensions interacts, pooling over the
third (Z-pool: max and mean stacked), and gating with a 7×7 conv:

    gate(T)   = σ(BN(conv7×7([max_0(T); mean_0(T)])))      over T's last two dimensions
    s_cw      = gate(X as (H, C, W))                        (N, C, W)   channel–width
    s_ch      = gate(X as (W, H, C))ᵀ                       (N, C, H)   channel–height
    s_hw      = gate(X as (C, H, W))                        (N, H, W)   spatial, as CBAM's
    Y         = X ⊙ (s_cw + s_ch + s_hw) / 3

No reduction and almost no parameters (three 2 → 1 convolutions): the cross-dimension interaction is the
design's point. Branch order, Z-pool order (max first) and the conv + BN follow the authors' code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import conv_bn, gate, require_image


@dataclass
class TripletAttentionMaps:
    """Each branch's gate in (0, 1).

    channel_width:  (N, C, W)
    channel_height: (N, C, H)
    spatial_map:    (N, H, W)
    """

    channel_width: Tensor
    channel_height: Tensor
    spatial_map: Tensor


class TripletAttention(nn.Module):
    """Triplet attention for (N, c, H, W) input (``in_channels`` is accepted for a uniform factory, unused)."""

    def __init__(self, in_channels: int | None = None, kernel_size: int = 7):
        super().__init__()
        self.cw = conv_bn(2, 1, kernel_size)
        self.hc = conv_bn(2, 1, kernel_size)
        self.hw = conv_bn(2, 1, kernel_size)

    def forward(self, x: Tensor, return_maps: bool = False):
        require_image(x, "TripletAttention")
        s_cw = gate(self.cw(z_pool(x.transpose(1, 2))))[:, 0]  # pool over H: (N, C, W)
        s_hc = gate(self.hc(z_pool(x.permute(0, 3, 2, 1))))[:, 0]  # pool over W: (N, H, C)
        s_hw = gate(self.hw(z_pool(x)))[:, 0]  # pool over C: (N, H, W)
        s_ch = s_hc.transpose(1, 2)  # (N, C, H)
        weight = (s_cw[:, :, None, :] + s_ch[:, :, :, None] + s_hw[:, None]) / 3  # (N, C, H, W)
        y = x * weight.to(x.dtype)
        if not return_maps:
            return y
        return y, TripletAttentionMaps(channel_width=s_cw, channel_height=s_ch, spatial_map=s_hw)


def z_pool(x: Tensor) -> Tensor:
    """(N, D, A, B) → (N, 2, A, B): max and mean over dimension 1, max first."""
    return torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], dim=1)
