"""Global Context block (GCNet, Cao et al., ICCV Workshops 2019).

    p = softmax_L(W_k X)                    (N, L)     one context map for all queries
    context = Σ_j p_j x_j                   (N, c)
    t = W_v2 ReLU(LN(W_v1 context))         (N, c)     bottleneck transform, c → c/r → c
    Y = X + t                               broadcast to every position

GCNet observed that a non-local block's attention maps are almost the same for
every query, so it computes one query-independent map, making the cost
linear in L like SE while keeping a spatial attention map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import at_least_float32, flatten_spatial, pointwise


@dataclass
class GlobalContextMaps:
    """context: (N, L) softmax over positions; channel: (N, c) the transform's output added to X.

    spatial: the feature map's (H, W) or (T, H, W), with L their product.
    scale: (N, c) gate in (0, 1) that multiplies X before ``channel`` is added, Y = X ⊙ scale + channel,
    for GC variants that fuse by scaling (timm's ``fuse_scale``); None for this block, which only adds.
    """

    context: Tensor
    channel: Tensor
    spatial: tuple[int, ...]
    scale: Tensor | None = None


class GlobalContext(nn.Module):
    """GC block for (N, c, H, W) or (N, c, T, H, W).

    Args:
        in_channels: c.
        reduction: r of the transform's bottleneck (c // r channels, at least ``min_channels``).

    The transform's last convolution starts at zero, so the block starts as the identity.
    """

    def __init__(self, in_channels: int, reduction: int = 4, min_channels: int = 4):
        super().__init__()
        hidden = max(in_channels // reduction, min_channels)
        self.conv_attn = nn.Conv2d(in_channels, 1, 1)
        self.transform = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1),
            nn.LayerNorm([hidden, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, in_channels, 1),
        )
        nn.init.zeros_(self.transform[-1].weight)
        nn.init.zeros_(self.transform[-1].bias)

    def no_weight_decay(self) -> set[str]:
        """Parameters that set the softmax's temperature; decaying them flattens the attention maps."""
        return {"conv_attn.weight"}

    def forward(self, x: Tensor, return_maps: bool = False):
        logits = flatten_spatial(pointwise(self.conv_attn, x)).squeeze(1)  # (N, L)
        p = at_least_float32(logits).softmax(dim=-1)
        context = torch.bmm(flatten_spatial(x), p.unsqueeze(-1).to(x.dtype))  # (N, c, 1)
        t = self.transform(context.unsqueeze(-1))  # (N, c, 1, 1)
        y = x + t.view(*t.shape[:2], *([1] * (x.dim() - 2)))
        if not return_maps:
            return y
        return y, GlobalContextMaps(context=p, channel=at_least_float32(t.flatten(1)), spatial=tuple(x.shape[2:]))
