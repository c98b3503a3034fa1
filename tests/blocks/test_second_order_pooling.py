"""GlobalSecondOrderPooling (GSoP-Net) against a loop / einsum computation; timm has no GSoP block.

    X' = ReLU(BN(W_r X)), Σ = (1/L)(X' − μ)(X' − μ)ᵀ, u = ReLU(BN(row-conv(Σ))), s = σ(W_u u), Y = X ⊙ s

The row-wise convolution gives row i of Σ its own 4 filters, each spanning the whole row.
"""

from __future__ import annotations

import torch

from a2core.blocks import GlobalSecondOrderPooling

TOL = dict(rtol=1e-5, atol=1e-5)


def bn_eval(bn, x):
    """(N, C) with running statistics."""
    return (x - bn.running_mean) / (bn.running_var + bn.eps).sqrt() * bn.weight + bn.bias


def randomise(block: GlobalSecondOrderPooling) -> GlobalSecondOrderPooling:
    with torch.no_grad():
        for bn in (block.reduce[1], block.row_conv[1]):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_()
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 2.0)
    return block.eval()


def reference(block: GlobalSecondOrderPooling, x: torch.Tensor):
    X = x.flatten(2)  # (N, c, L)
    conv_r, bn_r, _ = block.reduce
    R = torch.einsum("oc,ncl->nol", conv_r.weight[:, :, 0, 0], X)
    R = bn_eval(bn_r, R.transpose(1, 2)).transpose(1, 2).clamp(min=0)  # (N, c', L)
    cov = torch.stack([torch.cov(r, correction=0) for r in R])  # biased covariance, one sample at a time

    conv_row, bn_row, _ = block.row_conv
    cr = cov.shape[1]
    u = torch.empty(x.shape[0], 4 * cr)
    for i in range(cr):  # row i of Σ feeds output channels 4i … 4i+3
        for k in range(4):
            u[:, 4 * i + k] = (conv_row.weight[4 * i + k, 0, :, 0] * cov[:, i, :]).sum(-1)
    u = bn_eval(bn_row, u).clamp(min=0)
    s = torch.sigmoid(u @ block.fc.weight[:, :, 0, 0].T + block.fc.bias)  # (N, c)
    return x * s.view(*s.shape, *[1] * (x.dim() - 2)), cov, s


def test_matches_loop_reference():
    block = randomise(GlobalSecondOrderPooling(12, reduced_channels=5))
    x = torch.randn(3, 12, 6, 7)
    y, maps = block(x, return_maps=True)
    ref_y, ref_cov, ref_s = reference(block, x)
    assert maps.covariance.shape == (3, 5, 5)
    assert maps.channel.shape == (3, 12)
    torch.testing.assert_close(maps.covariance, ref_cov, **TOL)
    torch.testing.assert_close(maps.channel, ref_s, **TOL)
    torch.testing.assert_close(y, ref_y, **TOL)


def test_covariance_is_symmetric_positive_semidefinite():
    block = randomise(GlobalSecondOrderPooling(16))
    _, maps = block(torch.randn(2, 16, 5, 5), return_maps=True)
    cov = maps.covariance
    assert cov.shape == (2, 8, 8)  # c' = c / 2 by default
    torch.testing.assert_close(cov, cov.transpose(1, 2))
    assert (torch.linalg.eigvalsh(cov.double()) > -1e-5).all()


def test_covariance_helper_is_biased_over_positions():
    x = torch.randn(2, 3, 10)
    expected = torch.einsum("nil,njl->nij", x - x.mean(-1, keepdim=True), x - x.mean(-1, keepdim=True)) / 10
    torch.testing.assert_close(GlobalSecondOrderPooling.covariance(x), expected, **TOL)


def test_video_input_is_the_image_math_on_flattened_positions():
    block = randomise(GlobalSecondOrderPooling(8, reduced_channels=4))
    x = torch.randn(2, 8, 3, 4, 5)
    y, maps = block(x, return_maps=True)
    ref_y, ref_cov, _ = reference(block, x)
    torch.testing.assert_close(y, ref_y, **TOL)
    torch.testing.assert_close(maps.covariance, ref_cov, **TOL)


def test_gradients_flow():
    block = GlobalSecondOrderPooling(8).train()
    x = torch.randn(4, 8, 5, 5)
    block(x).square().sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
