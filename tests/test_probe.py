"""attention_maps: one no-grad forward through inert taps, with the model left exactly as it was."""

from __future__ import annotations

import pytest
import torch

import copy
import pickle

from a2core import attention_maps, blocks
from a2core.models import ARCHS, attention_blocks, build
from a2core.probe import block_strides, holder_of, probing, tapped_blocks


def expected_shapes(block, n: int, hw: int) -> dict[str, tuple]:
    """The documented map shapes for a block at an hw × hw feature map."""
    c, L = {16: 32, 8: 64}[hw], hw * hw
    if isinstance(block, blocks.DoubleAttention):
        per_position = (n, block.n, hw, hw)
        return {"gather": per_position, "distribute": per_position, "descriptors": (n, block.m, block.n)}
    if isinstance(block, blocks.NonLocal):
        return {"attention": (n, L, L), "spatial": (hw, hw)}
    if isinstance(block, blocks.GlobalContext):
        return {"context": (n, L), "channel": (n, c), "spatial": (hw, hw), "scale": None}  # adds, never scales
    if isinstance(block, blocks.GlobalSecondOrderPooling):
        cr = block.reduced_channels
        return {"covariance": (n, cr, cr), "channel": (n, c)}
    return {"channel": (n, c)}  # SE, ECA


def all_hooks(model):
    return [
        (name, kind, len(getattr(module, kind)))
        for name, module in model.named_modules()
        for kind in ("_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs", "_backward_hooks")
        if getattr(module, kind)
    ]


def taps_only(model):
    """The hooks a probed model may carry: one pre-hook and one forward hook (with kwargs) per attention block,
    and one forward hook (keeping its output for Grad-CAM) per layer holding one."""
    holders = {holder_of(model, name) for name in attention_blocks(model)}
    return sorted(
        [(name, kind, 1) for name in attention_blocks(model)
         for kind in ("_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs")]
        + [(name, "_forward_hooks", 1) for name in holders]
    )


def perturbed(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build(arch)
    with torch.no_grad():  # open the zero-initialised blocks so their maps matter to the logits
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("arch", ARCHS)
def test_maps_logits_and_model_state(arch):
    model = perturbed(arch).eval()
    plain = copy.deepcopy(model)  # never probed: no taps
    before = {k: v.clone() for k, v in model.state_dict().items()}
    forwards = []
    counter = model.register_forward_hook(lambda *_: forwards.append(1))
    x = torch.randn(2, 3, 32, 32)

    logits, maps = attention_maps(model, x)

    counter.remove()
    assert len(forwards) == 1  # one forward pass for logits and every map
    assert not any(m.training for m in model.modules())
    assert sorted(all_hooks(model)) == taps_only(model)  # nothing but the taps, once each
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not logits.requires_grad
    with torch.no_grad():
        torch.testing.assert_close(logits, plain(x), rtol=0, atol=0)
        # Outside a probe the taps are inert: the model computes what it computed before.
        torch.testing.assert_close(model(x), plain(x), rtol=0, atol=0)

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
            elif shape is None:
                assert value is None, (name, field)
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


def test_the_model_runs_in_the_mode_it_is_in():
    # No flag is flipped (another thread may be running the same model): a training model stays training,
    # and its BatchNorm layers update as in any training-mode forward.
    model = build("se_resnet").train()
    model.layer1.eval()  # e.g. a frozen stage
    modes = {name: m.training for name, m in model.named_modules()}
    stats = model.layer2[0].bn1.running_mean.clone()
    x = torch.randn(2, 3, 32, 32)
    logits, _ = attention_maps(model, x)
    assert {name: m.training for name, m in model.named_modules()} == modes
    assert not torch.equal(model.layer2[0].bn1.running_mean, stats)


def test_eval_model_stays_in_eval():
    model = build("gc_resnet").eval()
    attention_maps(model, torch.randn(1, 3, 32, 32))
    assert not any(m.training for m in model.modules())


def test_other_hooks_survive_and_failures_leave_inert_taps():
    model = build("a2_resnet").eval()
    block = model.layer2[2].attn
    mine = block.register_forward_hook(lambda *_: None)
    attention_maps(model, torch.randn(1, 3, 32, 32))
    assert mine.id in block._forward_hooks and len(block._forward_hooks) == 2
    mine.remove()
    with pytest.raises(RuntimeError):
        attention_maps(model, torch.randn(1, 1, 32, 32))  # wrong number of channels
    assert sorted(all_hooks(model)) == taps_only(model)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), copy.deepcopy(model)(x))
    _, maps = attention_maps(model, x)
    assert set(maps) == {"layer2.2.attn", "layer3.2.attn"}


def test_taps_are_installed_once_even_on_copies():
    model = build("a2_resnet").eval()
    attention_maps(model, torch.randn(1, 3, 32, 32))
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        _, maps = attention_maps(twin, torch.randn(1, 3, 32, 32))
        assert sorted(all_hooks(twin)) == taps_only(twin)
        assert set(maps) == {"layer2.2.attn", "layer3.2.attn"}


def test_a_block_called_with_return_maps_inside_a_probe_keeps_its_own_output():
    model = build("a2_resnet").eval()
    block = model.layer2[2].attn
    x = torch.randn(1, 32, 16, 16)
    with torch.no_grad(), probing(model, maps=tapped_blocks(model)) as probe:
        y, own = block(x, return_maps=True)  # the caller asked itself: the tap leaves the pair alone
        y2 = block(x)
    assert torch.equal(y, y2) and torch.equal(own.gather, probe.maps["layer2.2.attn"].gather)


def test_unknown_block_names_raise():
    with pytest.raises(KeyError):
        with probing(build("a2_resnet"), inputs=["layer9.attn"]):
            pass


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


@pytest.mark.parametrize("arch", ["a2_resnet", "nl_resnet", "se_resnet"])
@pytest.mark.parametrize("zoo, size, stage_strides", [
    ("cifar10", 32, {"layer1": 1, "layer2": 2, "layer3": 4}),
    ("imagenette", 160, {"layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}),
])
def test_block_strides_follow_the_backbone(arch, zoo, size, stage_strides):
    # The CIFAR backbone keeps the input's resolution until layer2; the photo one has a stride-4 stem.
    model = build(arch, zoo=zoo).eval()
    strides = block_strides(model, size)
    assert list(strides) == list(attention_blocks(model))  # every block, in forward order
    for name, stride in strides.items():
        assert stride == stage_strides[name.split(".")[0]], name
    assert {name.split(".")[0] for name in strides} >= {"layer3"}
    assert not model.training
    assert block_strides(build("resnet", zoo=zoo).eval(), size) == {}
