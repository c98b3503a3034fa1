"""The zoo: every arch builds, trains a step, and has its attention where the docs say."""

from __future__ import annotations

import pytest
import torch

from a2core import blocks
from a2core.models import ARCHS, attention_blocks, build

BLOCK_TYPE = {
    "resnet": None,
    "se_resnet": blocks.SqueezeExcitation,
    "nl_resnet": blocks.NonLocal,
    "a2_resnet": blocks.DoubleAttention,
    "gc_resnet": blocks.GlobalContext,
    "eca_resnet": blocks.EfficientChannelAttention,
    "gsop_resnet": blocks.GlobalSecondOrderPooling,
}


def test_registry_lists_the_seven_archs():
    assert set(ARCHS) == set(BLOCK_TYPE)
    assert len(ARCHS) == len(set(ARCHS)) == 7


def test_unknown_arch_is_refused():
    with pytest.raises(ValueError, match="unknown arch"):
        build("vit")


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_backward(arch):
    torch.manual_seed(0)
    model = build(arch, num_classes=10).train()
    x = torch.randn(2, 3, 32, 32)
    logits = model(x)
    assert logits.shape == (2, 10)
    torch.nn.functional.cross_entropy(logits, torch.tensor([3, 7])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} gets no gradient"
        assert torch.isfinite(p.grad).all(), name
    # the backbone learns from the first step; zero-initialised attention outputs open up later
    assert model.conv1.weight.grad.abs().sum() > 0
    assert model.fc.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("arch", ARCHS)
def test_attention_blocks_are_named_and_typed(arch):
    model = build(arch)
    found = attention_blocks(model)
    kind = BLOCK_TYPE[arch]
    if kind is None:
        assert found == {}
        return
    assert list(found) == ["layer2.2.attn", "layer3.2.attn"]
    assert all(type(block) is kind for block in found.values())
    assert dict(model.named_modules())["layer2.2.attn"] is found["layer2.2.attn"]


@pytest.mark.parametrize("arch", ARCHS)
def test_blocks_without_attention_have_an_identity(arch):
    model = build(arch)
    named = dict(model.named_modules())
    attended = set(attention_blocks(model))
    for stage in (1, 2, 3):
        for i in range(3):
            name = f"layer{stage}.{i}.attn"
            if name not in attended:
                assert isinstance(named[name], torch.nn.Identity)


def test_double_attention_sizes():
    found = attention_blocks(build("a2_resnet"))
    l2, l3 = found["layer2.2.attn"], found["layer3.2.attn"]
    assert (l2.in_channels, l2.m, l2.n) == (32, 16, 8)
    assert (l3.in_channels, l3.m, l3.n) == (64, 32, 16)
    assert l2.order == l3.order == "gather_first"


def test_feature_map_sizes_at_the_attention_blocks():
    model = build("a2_resnet").eval()
    seen = {}
    handles = [
        block.register_forward_pre_hook(lambda m, args, name=name: seen.__setitem__(name, tuple(args[0].shape)))
        for name, block in attention_blocks(model).items()
    ]
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    for h in handles:
        h.remove()
    assert seen == {"layer2.2.attn": (1, 32, 16, 16), "layer3.2.attn": (1, 64, 8, 8)}


def test_archs_share_the_backbone():
    # Only the attention differs, so accuracies compare: the non-attention parameters match.
    def backbone(arch):
        return {k: tuple(v.shape) for k, v in build(arch).state_dict().items() if ".attn." not in k}

    reference = backbone("resnet")
    for arch in ARCHS:
        assert backbone(arch) == reference, arch


@pytest.mark.parametrize("arch", ["a2_resnet", "nl_resnet", "gc_resnet"])
def test_residual_attention_starts_as_identity(arch):
    # With the last layer of each residual attention at zero, the block's output is its input.
    model = build(arch).eval()
    channels = {"layer2.2.attn": 32, "layer3.2.attn": 64}
    for name, block in attention_blocks(model).items():
        x = torch.randn(2, channels[name], 4, 4)
        assert torch.equal(block(x), x)


def test_num_classes():
    assert build("resnet", num_classes=3)(torch.randn(1, 3, 32, 32)).shape == (1, 3)
