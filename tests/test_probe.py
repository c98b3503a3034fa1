"""attention_maps: one no-grad forward that leaves the model exactly as it was."""

from __future__ import annotations

import pytest
import torch

from a2core import attention_maps, blocks
from a2core.models import ARCHS, attention_blocks, build


def expected_shapes(block, n: int, hw: int) -> dict[str, tuple]:
    """The documented map shapes for a block at an hw × hw feature map."""
    c, L = {16: 32, 8: 64}[hw], hw * hw
    if isinstance(block, blocks.DoubleAttention):
        per_position = (n, block.n, hw, hw)
        return {"gather": per_position, "distribute": per_position, "descriptors": (n, block.m, block.n)}
    if isinstance(block, blocks.NonLocal):
        return {"attention": (n, L, L), "spatial": (hw, hw)}
    if isinstance(block, blocks.GlobalContext):
        return {"context": (n, L), "channel": (n, c), "spatial": (hw, hw)}
    if isinstance(block, blocks.GlobalSecondOrderPooling):
        cr = block.reduced_channels
        return {"covariance": (n, cr, cr), "channel": (n, c)}
    return {"channel": (n, c)}  # SE, ECA


def all_hooks(model):
    return [
        (name, kind)
        for name, module in model.named_modules()
        for kind in ("_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs", "_backward_hooks")
        if getattr(module, kind)
    ]


def perturbed(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build(arch)
    with torch.no_grad():  # open the zero-initialised blocks so their maps matter to the logits
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("arch", ARCHS)
def test_maps_logits_and_model_state(arch):
    model = perturbed(arch).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    forwards = []
    counter = model.register_forward_hook(lambda *_: forwards.append(1))
    x = torch.randn(2, 3, 32, 32)

    logits, maps = attention_maps(model, x)

    counter.remove()
    assert len(forwards) == 1  # one forward pass for logits and every map
    assert model.training and all(m.training for m in model.modules())
    assert all_hooks(model) == []
    for key, value in model.state_dict().items():  # eval mode: BatchNorm statistics untouched
        assert torch.equal(value, before[key]), key
    assert not logits.requires_grad
    with torch.no_grad():
        torch.testing.assert_close(logits, model.eval()(x), rtol=0, atol=0)

    found = attention_blocks(model)
    assert list(maps) == list(found)
    for name, block in found.items():
        hw = 16 if name.startswith("layer2") else 8
        shapes = expected_shapes(block, 2, hw)
        assert set(vars(maps[name])) == set(shapes), name
        for field, shape in shapes.items():
            value = getattr(maps[name], field)
            if isinstance(value, torch.Tensor):
                assert tuple(value.shape) == shape, (name, field)
                assert not value.requires_grad, (name, field)
            else:
                assert tuple(value) == shape, (name, field)


def test_maps_are_what_the_block_computes_on_its_input():
    model = perturbed("a2_resnet").eval()
    inputs = {}
    handles = [
        block.register_forward_pre_hook(lambda m, args, name=name: inputs.__setitem__(name, args[0].clone()))
        for name, block in attention_blocks(model).items()
    ]
    x = torch.randn(2, 3, 32, 32)
    _, maps = attention_maps(model, x)
    for h in handles:
        h.remove()
    for name, block in attention_blocks(model).items():
        with torch.no_grad():
            _, direct = block(inputs[name], return_maps=True)
        for field in ("gather", "distribute", "descriptors"):
            torch.testing.assert_close(getattr(maps[name], field), getattr(direct, field), rtol=0, atol=0)


def test_no_grad_even_inside_enable_grad():
    model = perturbed("nl_resnet")
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    with torch.enable_grad():
        logits, maps = attention_maps(model, x)
    assert not logits.requires_grad
    assert not any(m.attention.requires_grad for m in maps.values())


def test_mixed_training_flags_are_restored():
    model = build("se_resnet").train()
    model.layer1.eval()  # e.g. a frozen stage
    model.layer3[2].attn.eval()
    attention_maps(model, torch.randn(1, 3, 32, 32))
    assert model.training and model.layer2.training and model.layer3[2].training
    assert not model.layer1.training and not any(m.training for m in model.layer1.modules())
    assert not model.layer3[2].attn.training


def test_eval_model_stays_in_eval():
    model = build("gc_resnet").eval()
    attention_maps(model, torch.randn(1, 3, 32, 32))
    assert not any(m.training for m in model.modules())


def test_other_hooks_survive_and_failures_clean_up():
    model = build("a2_resnet").train()
    block = model.layer2[2].attn
    mine = block.register_forward_hook(lambda *_: None)
    attention_maps(model, torch.randn(1, 3, 32, 32))
    assert list(block._forward_hooks) == [mine.id]
    mine.remove()
    with pytest.raises(RuntimeError):
        attention_maps(model, torch.randn(1, 1, 32, 32))  # wrong number of channels
    assert all_hooks(model) == []
    assert model.training and all(m.training for m in model.modules())


def test_model_without_attention():
    model = build("resnet").eval()
    x = torch.randn(2, 3, 32, 32)
    logits, maps = attention_maps(model, x)
    assert maps == {}
    with torch.no_grad():
        assert torch.equal(logits, model(x))


def test_other_input_sizes():
    model = build("a2_resnet").eval()
    _, maps = attention_maps(model, torch.randn(1, 3, 64, 48))
    assert maps["layer2.2.attn"].gather.shape == (1, 8, 32, 24)
    assert maps["layer3.2.attn"].distribute.shape == (1, 16, 16, 12)
