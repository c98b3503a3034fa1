"""DoubleAttention (A²-Nets) against a straightforward einsum computation from φ, θ, ρ.

The reference below is written from the equations only (DEVELOPERS.md / the block docstring):

    A = φ(X) (m × L), B = θ(X) (n × L), V = ρ(X) (n × L)
    G = A softmax_L(B)ᵀ  (m × n),  Z = G softmax_n(V)  (m × L),  Y = X + BN(W_proj Z)

It shares no code with the block: its own 1×1 convolutions (einsum), its own softmax
(exp / sum) and its own eval-mode BatchNorm.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from a2core.blocks import DoubleAttention

ORDERS = ["gather_first", "pairwise"]
TOL = dict(rtol=1e-5, atol=1e-5)


def conv1x1(conv: torch.nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """(N, c, L) → (N, o, L) through a 1×1 conv's weight and bias."""
    out = torch.einsum("oc,ncl->nol", conv.weight[:, :, 0, 0], x)
    return out if conv.bias is None else out + conv.bias[None, :, None]


def softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    e = (x - x.amax(dim=dim, keepdim=True)).exp()
    return e / e.sum(dim=dim, keepdim=True)


def batchnorm_eval(bn: torch.nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """(N, c, L) with the running statistics."""
    scale = bn.weight / (bn.running_var + bn.eps).sqrt()
    return (x - bn.running_mean[None, :, None]) * scale[None, :, None] + bn.bias[None, :, None]


def batchnorm_train(bn: torch.nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """(N, c, L) with the batch's statistics (biased variance), as BatchNorm normalises in training."""
    mean, var = x.mean(dim=(0, 2), keepdim=True), x.var(dim=(0, 2), unbiased=False, keepdim=True)
    return (x - mean) / (var + bn.eps).sqrt() * bn.weight[None, :, None] + bn.bias[None, :, None]


def reference(block: DoubleAttention, x: torch.Tensor, train: bool = False) -> dict[str, torch.Tensor]:
    """A² on (N, c, *spatial), BatchNorm as in eval (or training) mode; maps are returned flat, (N, ·, L)."""
    X = x.flatten(2)
    A = conv1x1(block.phi, X)
    B = conv1x1(block.theta, X)
    V = conv1x1(block.rho, X)
    gather = softmax(B, dim=2)  # each descriptor's map over the L positions
    distribute = softmax(V, dim=1)  # each position's weights over the n descriptors
    G = torch.einsum("nml,nkl->nmk", A, gather)
    Z = torch.einsum("nmk,nkl->nml", G, distribute)
    Y = X + (batchnorm_train if train else batchnorm_eval)(block.proj[1], conv1x1(block.proj[0], Z))
    return dict(y=Y.view_as(x), A=A, gather=gather, distribute=distribute, G=G)


def randomise_proj(block: DoubleAttention) -> DoubleAttention:
    """Give proj's BatchNorm non-trivial values: at init it outputs zero and hides everything."""
    bn = block.proj[1]
    with torch.no_grad():
        bn.weight.normal_()
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    return block.eval()


def make(c, m, n, order="gather_first"):
    return randomise_proj(DoubleAttention(c, m, n, order=order))


@pytest.mark.parametrize("order", ORDERS)
def test_matches_einsum_reference(order):
    block = make(8, 6, 4, order)
    x = torch.randn(2, 8, 5, 7)
    y, maps = block(x, return_maps=True)
    ref = reference(block, x)
    torch.testing.assert_close(y, ref["y"], **TOL)
    torch.testing.assert_close(maps.gather.flatten(2), ref["gather"], **TOL)
    torch.testing.assert_close(maps.distribute.flatten(2), ref["distribute"], **TOL)
    torch.testing.assert_close(maps.descriptors, ref["G"], **TOL)
    # The output without maps is the same tensor.
    torch.testing.assert_close(block(x), y, rtol=0, atol=0)


@pytest.mark.parametrize("order", ORDERS)
def test_matches_einsum_reference_in_training_mode(order):
    block = make(8, 6, 4, order).train()
    x = torch.randn(3, 8, 5, 4, dtype=torch.float64)
    block.double()
    y, maps = block(x, return_maps=True)
    ref = reference(block, x, train=True)
    torch.testing.assert_close(y, ref["y"], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(maps.descriptors, ref["G"], rtol=1e-10, atol=1e-10)


def test_gather_and_distribute_are_the_papers_steps():
    # The forward folds distribute into the projection; composing the two methods gives the same Y.
    block = make(8, 6, 4)
    x = torch.randn(2, 8, 5, 3)
    a, b, v = (conv(x).flatten(2) for conv in (block.phi, block.theta, block.rho))
    g, gather_maps = block.gather(a, b)
    z, dist_maps = block.distribute(g, v)
    y, maps = block(x, return_maps=True)
    torch.testing.assert_close(x + block.proj(z.view(2, 6, 5, 3)), y, **TOL)
    torch.testing.assert_close(maps.gather.flatten(2), gather_maps, rtol=0, atol=0)
    torch.testing.assert_close(maps.distribute.flatten(2), dist_maps, rtol=0, atol=0)
    torch.testing.assert_close(maps.descriptors, g, rtol=0, atol=0)


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
def test_shipped_weights_load_and_match_the_obvious_block(train):
    # The fast block keeps the plain block's parameters: the shipped A²-ResNet's blocks load unchanged
    # into it and into bench's obvious block (three convs, two softmaxes, two bmm, conv + BN, add).
    from a2core import load_pretrained
    from a2core.models import attention_blocks
    from bench.blocks import ObviousDoubleAttention

    found = attention_blocks(load_pretrained("a2_resnet"))
    assert found
    for name, shipped in found.items():
        fast = DoubleAttention(shipped.in_channels, shipped.m, shipped.n)
        obvious = ObviousDoubleAttention(shipped.in_channels, shipped.m, shipped.n)
        fast.load_state_dict(shipped.state_dict(), strict=True)
        obvious.load_state_dict(shipped.state_dict(), strict=True)
        fast.train(train), obvious.train(train)
        x = torch.randn(4, shipped.in_channels, 8, 8)
        torch.testing.assert_close(fast(x), obvious(x), rtol=1e-5, atol=1e-5, msg=name)
        assert not torch.allclose(fast(x), x)  # the trained attention path is not zero


def test_orders_agree_with_the_same_weights():
    first = make(12, 6, 3, "gather_first")
    pairwise = DoubleAttention(12, 6, 3, order="pairwise").eval()
    pairwise.load_state_dict(first.state_dict())  # same keys and shapes in both orders
    x = torch.randn(3, 12, 6, 4)
    y1, m1 = first(x, return_maps=True)
    y2, m2 = pairwise(x, return_maps=True)
    assert not torch.allclose(y1, x)  # the comparison is not between two identities
    torch.testing.assert_close(y1, y2, **TOL)
    for name in ("gather", "distribute", "descriptors"):
        torch.testing.assert_close(getattr(m1, name), getattr(m2, name), **TOL)


@pytest.mark.parametrize("order", ORDERS)
def test_softmax_axes(order):
    block = make(8, 4, 5, order)
    x = 3 * torch.randn(2, 8, 6, 9)  # large logits make a wrong axis obvious
    _, maps = block(x, return_maps=True)
    assert maps.gather.shape == (2, 5, 6, 9)
    assert maps.distribute.shape == (2, 5, 6, 9)
    assert maps.descriptors.shape == (2, 4, 5)
    assert (maps.gather >= 0).all() and (maps.distribute >= 0).all()
    # gathering map of each descriptor: a distribution over the positions
    torch.testing.assert_close(maps.gather.sum(dim=(2, 3)), torch.ones(2, 5))
    # distribution weights of each position: a distribution over the n descriptors
    torch.testing.assert_close(maps.distribute.sum(dim=1), torch.ones(2, 6, 9))
    # and not the other way round (the sums along the wrong axes are not 1)
    assert not torch.allclose(maps.gather.sum(dim=1), torch.ones(2, 6, 9))
    assert not torch.allclose(maps.distribute.sum(dim=(2, 3)), torch.ones(2, 5))


@pytest.mark.parametrize("order", ORDERS)
def test_descriptors_are_features_pooled_by_the_gathering_maps(order):
    block = make(6, 5, 3, order)
    x = torch.randn(2, 6, 4, 4)
    _, maps = block(x, return_maps=True)
    A = conv1x1(block.phi, x.flatten(2))
    torch.testing.assert_close(maps.descriptors, A @ maps.gather.flatten(2).transpose(1, 2), **TOL)


@pytest.mark.parametrize("order", ORDERS)
def test_video_input_is_the_math_on_flattened_positions(order):
    block = make(8, 4, 4, order)
    x = torch.randn(2, 8, 3, 4, 5)  # (N, c, T, H, W)
    y, maps = block(x, return_maps=True)
    ref = reference(block, x)  # the reference sees L = T·H·W positions
    assert y.shape == x.shape
    assert maps.gather.shape == maps.distribute.shape == (2, 4, 3, 4, 5)
    torch.testing.assert_close(y, ref["y"], **TOL)
    torch.testing.assert_close(maps.gather.flatten(2), ref["gather"], **TOL)
    torch.testing.assert_close(maps.distribute.flatten(2), ref["distribute"], **TOL)
    torch.testing.assert_close(maps.descriptors, ref["G"], **TOL)
    # the same positions laid out as a 2-D image give the same result
    torch.testing.assert_close(block(x.flatten(2, 3)).unflatten(2, (3, 4)), y, **TOL)


@pytest.mark.parametrize("order", ORDERS)
def test_starts_as_identity_and_gradients_flow(order):
    block = DoubleAttention(8, 4, 2, order=order).train()
    x = torch.randn(2, 8, 5, 5, requires_grad=True)
    y = block(x)
    assert torch.equal(y, x)  # proj's BatchNorm starts at zero: an inserted block is the identity
    y.square().sum().backward()
    # only proj's BN scale can move away from the identity at first
    assert block.proj[1].weight.grad.abs().sum() > 0
    for name in ("phi", "theta", "rho"):
        assert getattr(block, name).weight.grad.abs().sum() == 0

    block.zero_grad()
    with torch.no_grad():
        block.proj[1].weight.fill_(0.5)
    block(x).square().sum().backward()
    for name in ("phi", "theta", "rho", "proj"):
        for p in getattr(block, name).parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all()
            assert p.grad.abs().sum() > 0, f"{name} gets no gradient"


@pytest.mark.parametrize("order", ORDERS)
def test_gradients_match_the_reference(order):
    block = make(6, 4, 3, order)
    x = torch.randn(2, 6, 4, 3, requires_grad=True)
    weights = [block.phi.weight, block.theta.weight, block.rho.weight, block.proj[0].weight]

    grads = torch.autograd.grad(block(x).sin().sum(), [x, *weights])
    ref_grads = torch.autograd.grad(reference(block, x)["y"].sin().sum(), [x, *weights])
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("order", ORDERS)
def test_single_position(order):
    # L = 1: each gathering map is the single position, so G is A itself.
    block = make(4, 3, 2, order)
    x = torch.randn(3, 4, 1, 1)
    y, maps = block(x, return_maps=True)
    assert torch.equal(maps.gather, torch.ones(3, 2, 1, 1))
    A = conv1x1(block.phi, x.flatten(2))  # (N, m, 1)
    torch.testing.assert_close(maps.descriptors, A.expand(-1, -1, 2), **TOL)
    torch.testing.assert_close(y, reference(block, x)["y"], **TOL)


@pytest.mark.parametrize("order", ORDERS)
def test_single_descriptor_and_channel(order):
    # n = 1: every position gives all its weight to the one descriptor.
    block = make(1, 1, 1, order)
    x = torch.randn(2, 1, 3, 5)
    y, maps = block(x, return_maps=True)
    assert torch.equal(maps.distribute, torch.ones(2, 1, 3, 5))
    torch.testing.assert_close(y, reference(block, x)["y"], **TOL)


@settings(max_examples=20, deadline=None)
@given(
    batch=st.integers(1, 3),
    c=st.integers(1, 6),
    m=st.integers(1, 4),
    n=st.integers(1, 4),
    spatial=st.lists(st.integers(1, 5), min_size=2, max_size=3),
    order=st.sampled_from(ORDERS),
)
def test_shapes_property(batch, c, m, n, spatial, order):
    block = make(c, m, n, order)
    x = torch.randn(batch, c, *spatial)
    y, maps = block(x, return_maps=True)
    ref = reference(block, x)
    torch.testing.assert_close(y, ref["y"], **TOL)
    assert maps.gather.shape == maps.distribute.shape == (batch, n, *spatial)
    torch.testing.assert_close(maps.descriptors, ref["G"], **TOL)
    torch.testing.assert_close(maps.gather.flatten(2).sum(-1), torch.ones(batch, n))
    torch.testing.assert_close(maps.distribute.sum(1), torch.ones(batch, *spatial))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="order"):
        DoubleAttention(4, 2, 2, order="scatter_first")
    with pytest.raises(ValueError, match="expected"):
        DoubleAttention(4, 2, 2)(torch.randn(2, 4, 5))
    with pytest.raises(ValueError, match="logit_init"):
        DoubleAttention(4, 2, 2, logit_init="xavier")


def _mean_gathering_entropy(block, x):
    with torch.no_grad():
        gather = block.eval()(x, return_maps=True)[1].gather.flatten(2)
    return -(gather * gather.log()).sum(-1).mean().item()


def test_he_logit_init_starts_the_maps_sharp_and_keeps_the_identity_start():
    torch.manual_seed(0)
    c, n, positions = 128, 32, 20 * 20
    x = torch.randn(4, c, 20, 20)
    default, he = DoubleAttention(c, 64, n), DoubleAttention(c, 64, n, logit_init="he")
    for conv in (he.theta, he.rho):  # He normal, fan_out of a 1×1 conv: std √(2/n)
        assert conv.weight.std().item() == pytest.approx((2 / n) ** 0.5, rel=0.05)
    assert he.phi.weight.std().item() == pytest.approx(default.phi.weight.std().item(), rel=0.05)  # φ as before
    uniform = torch.log(torch.tensor(float(positions))).item()
    assert uniform - _mean_gathering_entropy(default, x) < 0.2  # PyTorch's init: nearly uniform maps
    assert uniform - _mean_gathering_entropy(he, x) > 1.0
    assert torch.equal(he.train()(x), x)  # still an identity at the start: proj's BN scale is zero


def test_parameter_names_and_shapes():
    # Trained weights depend on these keys and shapes.
    shapes = {k: tuple(v.shape) for k, v in DoubleAttention(16, 8, 4).state_dict().items()}
    assert shapes == {
        "phi.weight": (8, 16, 1, 1),
        "phi.bias": (8,),
        "theta.weight": (4, 16, 1, 1),
        "theta.bias": (4,),
        "rho.weight": (4, 16, 1, 1),
        "rho.bias": (4,),
        "proj.0.weight": (16, 8, 1, 1),
        "proj.1.weight": (16,),
        "proj.1.bias": (16,),
        "proj.1.running_mean": (16,),
        "proj.1.running_var": (16,),
        "proj.1.num_batches_tracked": (),
    }
