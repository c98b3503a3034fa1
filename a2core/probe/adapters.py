"""Adapters: the attention modules of timm and torchvision, read as A²Lens's blocks.

An adapter is a function ``(module, x) → maps``: from the input ``x`` a module
received and the module's own layers and parameters, it computes the maps
dataclass of the matching A²Lens block (:mod:`a2core.blocks`), so everything
that shows an A²Lens block's maps shows these too. The module itself is left
alone: :mod:`a2core.probe.taps` calls the adapter from a forward hook, after the
module has computed its usual output.

| module | reads as | maps |
| --- | --- | --- |
| timm ``SEModule``, ``EffectiveSEModule``, efficientnet ``SqueezeExcite``; torchvision ``ops.SqueezeExcitation`` | SE | channel weights s (N, c) |
| timm ``EcaModule``, ``CecaModule`` | ECA | channel weights s (N, c) |
| timm ``GlobalContext`` | GC | context map (N, L), channel term (N, c), gate (N, c) |
| timm ``NonLocalAttn`` | Non-local | attention rows (N, L, L) |

Each module's output is a function of its maps: ``x ⊙ s`` for the channel
designs, ``x ⊙ scale + channel`` for GC, ``x + norm(z(g fᵀ))`` for Non-local
(``tests/test_adapters.py`` checks it module by module). timm is optional:
without it only torchvision's module is adapted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..blocks import EfficientChannelAttentionMaps, GlobalContextMaps, NonLocalMaps, SqueezeExcitationMaps
from ..blocks.common import at_least_float32

#: (module, the input x (N, c, H, W) it received) → the maps dataclass of the matching A²Lens block.
Adapter = Callable[[nn.Module, Tensor], object]


def _channel_gate(x: Tensor, s: Tensor) -> Tensor:
    """Gate logits or weights (N, c, 1, 1) or (N, 1, c) → (N, c), raised to at least float32."""
    return at_least_float32(s.reshape(x.shape[0], x.shape[1]))


def _squeeze(module: nn.Module, x: Tensor) -> Tensor:
    """timm's squeeze: the spatial mean, averaged with the spatial max when ``add_maxpool`` is set → (N, c, 1, 1)."""
    pooled = x.mean((2, 3), keepdim=True)
    if getattr(module, "add_maxpool", False):
        pooled = 0.5 * pooled + 0.5 * x.amax((2, 3), keepdim=True)
    return pooled


def timm_se(module: nn.Module, x: Tensor) -> SqueezeExcitationMaps:
    """timm ``SEModule``: s = gate(fc2(act(bn(fc1(squeeze(x))))))."""
    s = module.fc2(module.act(module.bn(module.fc1(_squeeze(module, x)))))
    return SqueezeExcitationMaps(channel=_channel_gate(x, module.gate(s)))


def timm_effective_se(module: nn.Module, x: Tensor) -> SqueezeExcitationMaps:
    """timm ``EffectiveSEModule`` (CenterMask's eSE): s = gate(fc(squeeze(x))), one c × c layer."""
    return SqueezeExcitationMaps(channel=_channel_gate(x, module.gate(module.fc(_squeeze(module, x)))))


def timm_efficientnet_se(module: nn.Module, x: Tensor) -> SqueezeExcitationMaps:
    """timm's EfficientNet / MobileNet ``SqueezeExcite``: s = gate(conv_expand(act1(conv_reduce(mean(x)))))."""
    s = module.conv_expand(module.act1(module.conv_reduce(x.mean((2, 3), keepdim=True))))
    return SqueezeExcitationMaps(channel=_channel_gate(x, module.gate(s)))


def torchvision_se(module: nn.Module, x: Tensor) -> SqueezeExcitationMaps:
    """torchvision ``ops.SqueezeExcitation`` (EfficientNet, MobileNetV3, RegNet): s = σ(fc2(δ(fc1(avgpool(x)))))."""
    s = module.fc2(module.activation(module.fc1(module.avgpool(x))))
    return SqueezeExcitationMaps(channel=_channel_gate(x, module.scale_activation(s)))


def timm_eca(module: nn.Module, x: Tensor) -> EfficientChannelAttentionMaps:
    """timm ``EcaModule``: s = gate(conv1d(mean(x))), with timm's optional MLP (``conv``, ``act``, ``conv2``)."""
    y = module.conv(x.mean((2, 3)).view(x.shape[0], 1, -1))
    if module.conv2 is not None:
        y = module.conv2(module.act(y))
    return EfficientChannelAttentionMaps(channel=_channel_gate(x, module.gate(y)))


def timm_ceca(module: nn.Module, x: Tensor) -> EfficientChannelAttentionMaps:
    """timm ``CecaModule``: ECA whose 1-D convolution wraps around the channels (circular padding)."""
    y = x.mean((2, 3)).view(x.shape[0], 1, -1)
    y = module.conv(nn.functional.pad(y, (module.padding, module.padding), mode="circular"))
    return EfficientChannelAttentionMaps(channel=_channel_gate(x, module.gate(y)))


def timm_global_context(module: nn.Module, x: Tensor) -> GlobalContextMaps:
    """timm ``GlobalContext``: p = softmax_L(conv_attn(x)) (the mean when it has none), context = X p;
    y = x ⊙ gate(mlp_scale(context)) + mlp_add(context), each term present when its MLP is."""
    n, c, h, w = x.shape
    if module.conv_attn is not None:
        p = at_least_float32(module.conv_attn(x).reshape(n, h * w)).softmax(dim=-1)  # (N, L)
    else:  # context by plain average pooling: the same weight 1/L at every position
        p = torch.full((n, h * w), 1.0 / (h * w), dtype=at_least_float32(x).dtype, device=x.device)
    context = torch.bmm(x.reshape(n, c, h * w), p.unsqueeze(-1).to(x.dtype)).view(n, c, 1, 1)
    scale = module.gate(module.mlp_scale(context)) if module.mlp_scale is not None else None
    added = module.mlp_add(context) if module.mlp_add is not None else torch.zeros_like(context)
    return GlobalContextMaps(
        context=p, channel=at_least_float32(added.flatten(1)), spatial=(h, w),
        scale=None if scale is None else at_least_float32(scale.flatten(1)),
    )


def timm_non_local(module: nn.Module, x: Tensor) -> NonLocalMaps:
    """timm ``NonLocalAttn``: f = softmax_keys(scale · t(x)ᵀ p(x)), row j where query j looks."""
    n, _, h, w = x.shape
    t = module.t(x).flatten(2)  # (N, c', L)
    p = module.p(x).flatten(2)
    attn = at_least_float32(torch.bmm(t.transpose(1, 2), p) * module.scale).softmax(dim=-1)  # (N, L, L)
    return NonLocalMaps(attention=attn, spatial=(h, w))


def _timm_adapters() -> dict[type, Adapter]:
    try:
        from timm.layers import CecaModule, EcaModule, EffectiveSEModule, GlobalContext, NonLocalAttn, SEModule
        from timm.models._efficientnet_blocks import SqueezeExcite
    except ImportError:  # timm is an optional extra
        return {}
    return {
        SEModule: timm_se,
        EffectiveSEModule: timm_effective_se,
        SqueezeExcite: timm_efficientnet_se,
        EcaModule: timm_eca,
        CecaModule: timm_ceca,
        GlobalContext: timm_global_context,
        NonLocalAttn: timm_non_local,
    }


@functools.cache
def adapters() -> dict[type, Adapter]:
    """Every adapted module class → its adapter (timm's only where timm is installed)."""
    from .._compat import import_torchvision

    import_torchvision()
    from torchvision.ops import SqueezeExcitation

    return {SqueezeExcitation: torchvision_se, **_timm_adapters()}


def adapter_for(module: nn.Module) -> Adapter | None:
    """The adapter for ``module``'s exact class, or None: a subclass may compute something else."""
    return adapters().get(type(module))
