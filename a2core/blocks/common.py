"""Small pieces shared by the attention blocks."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def flatten_spatial(x: Tensor) -> Tensor:
    """(N, C, *spatial) → (N, C, L) with L the number of positions."""
    return x.flatten(2)


def at_least_float32(x: Tensor) -> Tensor:
    """``x`` raised to float32 when it is in a lower precision (bf16, fp16), else unchanged.

    Softmaxes and covariances lose too much in 8 mantissa bits, so the blocks
    compute them and return their maps in this precision: float32 under
    autocast, float64 stays float64 (``.float()`` would lower it).
    """
    return x.to(torch.promote_types(x.dtype, torch.float32))


def conv1x1_bn(in_channels: int, out_channels: int, zero_init: bool = False) -> nn.Sequential:
    """1×1 conv + BatchNorm; ``zero_init`` starts the output at zero (identity residual)."""
    bn = nn.BatchNorm2d(out_channels)
    if zero_init:
        nn.init.zeros_(bn.weight)
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), bn)


def pool_channels(x: Tensor) -> Tensor:
    """Global average pooling of (N, C, *spatial) to (N, C, 1, 1), for images and videos."""
    return x.flatten(2).mean(-1)[..., None, None]


def pointwise(conv: nn.Module, x: Tensor) -> Tensor:
    """Apply a 1×1 Conv2d (and BatchNorm2d) module to images or videos.

    A 1×1 convolution is a per-position linear map, so one set of 2-D weights
    serves (N, C, T, H, W) input seen as (N, C, T·H, W).
    """
    if x.dim() == 5:
        return conv(x.flatten(2, 3)).unflatten(2, x.shape[2:4])
    return conv(x)
