"""NonLocal (embedded Gaussian) against an einsum computation and against timm's NonLocalAttn.

timm.layers.NonLocalAttn computes the same function once configured:
  * ``use_scale=False``: timm scales θᵀφ by in_channels^-0.5 by default; the paper's embedded
    Gaussian (Wang et al. 2018, eq. 3) has no scale, and neither has a2core.
  * ``rd_channels=c'``: timm's default reduction is c/8 rounded to a multiple of 8; ours is c/2.
  * W_z: timm's ``z`` conv has a bias, ours (``proj.0``) has none; we set timm's to zero.
"""

from __future__ import annotations

import pytest
import torch
from timm.layers import NonLocalAttn

from a2core.blocks import NonLocal

TOL = dict(rtol=1e-5, atol=1e-5)


def conv1x1(conv, x):
    out = torch.einsum("oc,ncl->nol", conv.weight[:, :, 0, 0], x)
    return out if conv.bias is None else out + conv.bias[None, :, None]


def randomise_bn(bn: torch.nn.BatchNorm2d) -> None:
    with torch.no_grad():
        bn.weight.normal_()
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)


def make(c, inter=None):
    block = NonLocal(c, inter)
    randomise_bn(block.proj[1])  # at init proj outputs zero and hides the attention
    return block.eval()


def to_timm(block: NonLocal, use_scale: bool = False) -> NonLocalAttn:
    c = block.theta.in_channels
    ref = NonLocalAttn(c, use_scale=use_scale, rd_channels=block.inter_channels)
    with torch.no_grad():
        for ours, theirs in ((block.theta, ref.t), (block.phi, ref.p), (block.g, ref.g)):
            theirs.load_state_dict(ours.state_dict())
        ref.z.weight.copy_(block.proj[0].weight)
        ref.z.bias.zero_()
    ref.norm.load_state_dict(block.proj[1].state_dict())
    return ref.train(block.training)


@pytest.mark.parametrize("training", [False, True])
def test_equals_timm_non_local(training):
    block = make(16).train(training)
    ref = to_timm(block)
    x = torch.randn(2, 16, 6, 5)
    torch.testing.assert_close(block(x), ref(x), **TOL)


def test_timm_default_scale_is_a_different_function():
    # Why use_scale=False above: with timm's default c^-0.5 scaling the outputs differ.
    block = make(16)
    x = 2 * torch.randn(2, 16, 6, 5)
    assert not torch.allclose(block(x), to_timm(block, use_scale=True)(x), **TOL)


def test_attention_is_softmax_of_theta_phi():
    block = make(8, 3)
    x = torch.randn(2, 8, 4, 7)
    y, maps = block(x, return_maps=True)
    X = x.flatten(2)
    logits = torch.einsum("ncq,nck->nqk", conv1x1(block.theta, X), conv1x1(block.phi, X))
    expected = logits.exp() / logits.exp().sum(dim=-1, keepdim=True)
    assert maps.attention.shape == (2, 28, 28)
    assert maps.spatial == (4, 7)
    torch.testing.assert_close(maps.attention, expected, **TOL)
    torch.testing.assert_close(maps.attention.sum(-1), torch.ones(2, 28))  # rows: one query each

    # Y = X + BN(W_z (g fᵀ)): each query j takes the attention-weighted average of g.
    gathered = torch.einsum("nck,nqk->ncq", conv1x1(block.g, X), expected)
    bn = block.proj[1]
    z = conv1x1(block.proj[0], gathered)
    z = (z - bn.running_mean[:, None]) / (bn.running_var[:, None] + bn.eps).sqrt() * bn.weight[:, None]
    torch.testing.assert_close(y, (X + z + bn.bias[:, None]).view_as(x), **TOL)


def test_starts_as_identity_and_gradients_flow():
    block = NonLocal(8).train()
    x = torch.randn(2, 8, 4, 4)
    assert torch.equal(block(x), x)  # W_z's BatchNorm starts at zero, as the paper recommends
    with torch.no_grad():
        block.proj[1].weight.fill_(1.0)
    block(x).square().sum().backward()
    for p in block.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()
        assert p.grad.abs().sum() > 0


def test_video_input_is_the_image_math_on_flattened_positions():
    block = make(8)
    x = torch.randn(2, 8, 3, 4, 5)
    y, maps = block(x, return_maps=True)
    y2d, maps2d = block(x.flatten(2, 3), return_maps=True)
    assert maps.spatial == (3, 4, 5)
    assert maps.attention.shape == (2, 60, 60)
    torch.testing.assert_close(y, y2d.unflatten(2, (3, 4)), **TOL)
    torch.testing.assert_close(maps.attention, maps2d.attention, **TOL)


def test_default_inter_channels_is_half():
    assert NonLocal(32).inter_channels == 16
    assert NonLocal(1).inter_channels == 1
    assert NonLocal(32, 5).theta.out_channels == 5
