"""Small pieces shared by the attention blocks."""

from __future__ import annotations

from collections import OrderedDict

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


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, dilation: int = 1,
            groups: int = 1, act: bool = False) -> nn.Sequential:
    """k×k conv (no bias, "same" padding for odd k) + BatchNorm, and ReLU when ``act``.

    The children are named ``conv``, ``bn`` (and ``act``), as timm's ``ConvNormAct``, so weights map by name.
    """
    layers = {
        "conv": nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=dilation * (kernel_size - 1) // 2,
                          dilation=dilation, groups=groups, bias=False),
        "bn": nn.BatchNorm2d(out_channels),
    }
    if act:
        layers["act"] = nn.ReLU(inplace=True)
    return nn.Sequential(OrderedDict(layers))


def require_image(x: Tensor, block: str) -> None:
    """Raise a clear error for input that is not (N, C, H, W): these designs are defined on 2-D maps only."""
    if x.dim() != 4:
        raise ValueError(f"{block} takes images (N, C, H, W); got a {x.dim()}-D tensor of shape {tuple(x.shape)}")


def gate(logits: Tensor) -> Tensor:
    """σ(logits) in at least float32 (see :func:`at_least_float32`)."""
    return at_least_float32(logits).sigmoid()


def he_init(module: nn.Module) -> None:
    """He normal init (fan-out, ReLU) of every conv in ``module``, as torchvision's ResNets and the SKNet and
    ResNeSt authors start every conv, the attention's included."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def select_branches(u: Tensor, weights: Tensor, dtype: torch.dtype) -> Tensor:
    """Σ_m weights[:, m] ⊙ u[:, m]: branches (N, M, c, H, W) mixed by per-channel weights (N, M, c), in ``dtype``.

    The weights stay in the softmax's precision until the product; the result takes the input's dtype, since
    autocast ran the branches' convs in bf16 (SK's selection, split attention's radix mix).
    """
    return (u * weights[..., None, None].to(u.dtype)).sum(1).to(dtype)
