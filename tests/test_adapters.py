"""Adapters: timm's and torchvision's attention modules read as A²Lens's blocks.

For every module type the maps must reproduce the module's own output: the module's forward is the
reference, and the output is rebuilt from the maps alone (channel designs, GC) or from the maps and
the module's value path (Non-local). Parameters are randomised so that no zero-initialised layer
hides a wrong map. timm is a test dependency (requirements-dev.txt): these tests run, never skip.
"""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

import a2core  # first: its torchvision shim lets timm import
from a2core import blocks
from a2core.probe import adapters
from a2core._compat import import_torchvision
from a2core.probe import probing, tapped_blocks

import timm  # noqa: E402
from timm import layers  # noqa: E402
from timm.models._efficientnet_blocks import SqueezeExcite  # noqa: E402

tv = import_torchvision()

C, H, W = 24, 5, 7  # a non-square map, so rows and columns cannot be swapped unnoticed


def randomised(module: nn.Module, seed: int = 0) -> nn.Module:
    """``module`` in float64 eval mode with every parameter and BN statistic drawn at random."""
    torch.manual_seed(seed)
    module = module.double().eval()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
        for b in module.modules():
            if isinstance(b, nn.BatchNorm2d):
                b.running_mean.copy_(torch.randn_like(b.running_mean))
                b.running_var.copy_(torch.rand_like(b.running_var) + 0.5)
    return module


def channel_output(x, maps):
    return x * maps.channel[:, :, None, None]


def gc_output(x, maps):
    scale = 1.0 if maps.scale is None else maps.scale[:, :, None, None]
    return x * scale + maps.channel[:, :, None, None]


def non_local_output(module, x, maps):
    # y = norm(z(g fᵀ)) + x with f the adapter's rows: the value path is the module's, the attention the maps'.
    n, _, h, w = x.shape
    g = module.g(x).flatten(2)  # (N, c', L)
    mixed = torch.bmm(g, maps.attention.transpose(1, 2)).unflatten(2, (h, w))
    return module.norm(module.z(mixed)) + x


CHANNEL_MODULES = {
    "timm SEModule": (lambda: layers.SEModule(C, rd_ratio=0.25), blocks.SqueezeExcitationMaps),
    "timm SEModule (max pool, BN, SiLU)": (lambda: layers.SEModule(C, add_maxpool=True, norm_layer=nn.BatchNorm2d,
                                                                   act_layer=nn.SiLU), blocks.SqueezeExcitationMaps),
    "timm EffectiveSEModule": (lambda: layers.EffectiveSEModule(C), blocks.SqueezeExcitationMaps),
    "timm EffectiveSEModule (max pool)": (lambda: layers.EffectiveSEModule(C, add_maxpool=True),
                                          blocks.SqueezeExcitationMaps),
    "timm efficientnet SqueezeExcite": (lambda: SqueezeExcite(C, act_layer=nn.SiLU), blocks.SqueezeExcitationMaps),
    "torchvision SqueezeExcitation": (lambda: tv.ops.SqueezeExcitation(C, 6), blocks.SqueezeExcitationMaps),
    "torchvision SqueezeExcitation (hard sigmoid)": (
        lambda: tv.ops.SqueezeExcitation(C, 8, scale_activation=nn.Hardsigmoid), blocks.SqueezeExcitationMaps),
    "timm EcaModule": (lambda: layers.EcaModule(C), blocks.EfficientChannelAttentionMaps),
    "timm EcaModule (k=5)": (lambda: layers.EcaModule(kernel_size=5), blocks.EfficientChannelAttentionMaps),
    "timm EcaModule (MLP)": (lambda: layers.EcaModule(C, use_mlp=True), blocks.EfficientChannelAttentionMaps),
    "timm CecaModule": (lambda: layers.CecaModule(kernel_size=5), blocks.EfficientChannelAttentionMaps),
}


@pytest.mark.parametrize("name", CHANNEL_MODULES)
def test_channel_maps_reproduce_the_module(name):
    make, maps_type = CHANNEL_MODULES[name]
    module = randomised(make())
    x = torch.randn(3, C, H, W, dtype=torch.float64)
    maps = adapters.adapter_for(module)(module, x)
    assert type(maps) is maps_type
    assert maps.channel.shape == (3, C) and maps.channel.dtype == torch.float64  # never lowered
    torch.testing.assert_close(channel_output(x, maps), module(x), rtol=1e-12, atol=1e-12)
    assert ((maps.channel >= 0) & (maps.channel <= 1)).all()  # a gate: sigmoid or hard sigmoid


def test_circular_eca_differs_from_zero_padded_eca_at_the_edges():
    # The same weights with zero padding: the wrap-around must change the first and last channels only.
    ceca = randomised(layers.CecaModule(kernel_size=5))
    eca = layers.EcaModule(kernel_size=5).double().eval()
    eca.conv.weight.data.copy_(ceca.conv.weight.data)
    x = torch.randn(2, C, H, W, dtype=torch.float64)
    s_c = adapters.adapter_for(ceca)(ceca, x).channel
    s_z = adapters.adapter_for(eca)(eca, x).channel
    torch.testing.assert_close(s_c[:, 2:-2], s_z[:, 2:-2])
    assert (s_c[:, :2] - s_z[:, :2]).abs().min() > 0


GC_MODULES = {
    "scale (timm's default)": dict(),
    "add (gcresnet's 'gca')": dict(fuse_add=True, fuse_scale=False),
    "scale and add": dict(fuse_add=True),
    "no attention (mean pooling)": dict(use_attn=False, fuse_add=True),
}


@pytest.mark.parametrize("name", GC_MODULES)
def test_global_context_maps_reproduce_the_module(name):
    module = randomised(layers.GlobalContext(C, **GC_MODULES[name]))
    x = torch.randn(2, C, H, W, dtype=torch.float64)
    maps = adapters.adapter_for(module)(module, x)
    assert type(maps) is blocks.GlobalContextMaps and maps.spatial == (H, W)
    assert maps.context.shape == (2, H * W)
    torch.testing.assert_close(maps.context.sum(-1), torch.ones(2, dtype=torch.float64))
    assert (maps.scale is None) == (module.mlp_scale is None)
    torch.testing.assert_close(gc_output(x, maps), module(x), rtol=1e-12, atol=1e-12)
    if module.conv_attn is None:
        torch.testing.assert_close(maps.context, torch.full_like(maps.context, 1 / (H * W)))
    else:  # an independent softmax of the attention logits
        logits = torch.einsum("nchw,c->nhw", x, module.conv_attn.weight[0, :, 0, 0]) + module.conv_attn.bias
        torch.testing.assert_close(maps.context, logits.flatten(1).softmax(-1))


@pytest.mark.parametrize("use_scale", [True, False])
def test_non_local_rows_reproduce_the_module(use_scale):
    module = randomised(layers.NonLocalAttn(C, use_scale=use_scale, rd_divisor=4))
    x = torch.randn(2, C, H, W, dtype=torch.float64)
    maps = adapters.adapter_for(module)(module, x)
    assert type(maps) is blocks.NonLocalMaps and maps.spatial == (H, W)
    assert maps.attention.shape == (2, H * W, H * W)
    torch.testing.assert_close(maps.attention.sum(-1), torch.ones(2, H * W, dtype=torch.float64))
    torch.testing.assert_close(non_local_output(module, x, maps), module(x), rtol=1e-10, atol=1e-10)


def test_maps_of_bf16_modules_come_in_float32():
    module = randomised(layers.GlobalContext(C, fuse_add=True)).to(torch.bfloat16)
    maps = adapters.adapter_for(module)(module, torch.randn(1, C, H, W, dtype=torch.bfloat16))
    assert maps.context.dtype == maps.channel.dtype == maps.scale.dtype == torch.float32


def test_subclasses_are_not_adapted():
    # A subclass may compute something else in its forward: only the exact classes are read.
    class MySE(layers.SEModule):
        def forward(self, x):
            return x

    assert adapters.adapter_for(layers.SEModule(C)) is not None
    assert adapters.adapter_for(MySE(C)) is None


MODELS = {
    # name → (builder, adapted module class, expected count)
    "timm seresnet18": (lambda: timm.create_model("seresnet18", num_classes=4), layers.SEModule, 8),
    "timm ecaresnet26t": (lambda: timm.create_model("ecaresnet26t", num_classes=4), layers.EcaModule, 8),
    "timm gcresnet33ts": (lambda: timm.create_model("gcresnet33ts", num_classes=4), layers.GlobalContext, 10),
    "timm resnet18 + NonLocalAttn": (lambda: timm.create_model("resnet18", num_classes=4,
                                                               block_args=dict(attn_layer="nl")),
                                     layers.NonLocalAttn, 8),
    "timm mobilenetv3_small_050": (lambda: timm.create_model("mobilenetv3_small_050", num_classes=4),
                                   SqueezeExcite, 9),
    "torchvision mobilenet_v3_small": (lambda: tv.models.mobilenet_v3_small(num_classes=4),
                                       tv.ops.SqueezeExcitation, 9),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_attention_maps_of_whole_models_leave_the_logits_alone(name):
    make, cls, count = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
    found = tapped_blocks(model)
    assert len(found) == count and all(type(m) is cls for m in found.values())
    logits, maps = a2core.attention_maps(model, x)
    torch.testing.assert_close(logits, expected, rtol=0, atol=0)  # bit for bit: the forward is untouched
    assert list(maps) == list(found)
    # Each module's maps are those of its adapter on the input it received in the model.
    name0 = list(found)[-1]
    with probing(model, inputs=[name0]) as probe, torch.no_grad():
        model(x)
    again = adapters.adapter_for(found[name0])(found[name0], probe.inputs[name0])
    for field in ("channel", "context", "attention"):
        if hasattr(again, field):
            torch.testing.assert_close(getattr(maps[name0], field), getattr(again, field))


def test_without_timm_only_torchvision_is_adapted(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # `import timm` now raises ImportError
    monkeypatch.setitem(sys.modules, "timm.layers", None)
    monkeypatch.setitem(sys.modules, "timm.models._efficientnet_blocks", None)
    adapters.adapters.cache_clear()
    try:
        found = adapters.adapters()
        assert set(found) == {tv.ops.SqueezeExcitation}
    finally:
        monkeypatch.undo()
        adapters.adapters.cache_clear()
    assert layers.SEModule in adapters.adapters()
