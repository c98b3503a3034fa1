"""GlobalSecondOrderPooling (GSoP-Net1) against its equations, written without the module; timm has no GSoP.

The reference follows Gao et al. (CVPR 2019) and the authors' ``chan_att``, in float64, with loops and einsum:

    X' = ReLU(BN₁(W_r ReLU(X) + b_r))                 BN₁ per channel over (batch, positions)
    Σ[i, j] = (1/L) Σ_l (X'_il − μ_i)(X'_jl − μ_j)
    Σ̂ = BN₂(Σ)                                        BN₂ per row i over (batch, columns j)
    u[4i + k] = Σ_j W_row[i, k, j] Σ̂[i, j] + b_row[i, k]
    s = σ(W_u u + b_u),  Y = X ⊙ s

Its parameters are drawn here by role and copied into the block by one name table (``ROLES``); the
block must load them strictly, so a layer the authors do not have (or one missing) fails the test.
"""

from __future__ import annotations

import pytest
import torch

from a2core.blocks import GlobalSecondOrderPooling

TOL = dict(rtol=1e-10, atol=1e-10)

#: role → (state_dict key, how the role's tensor is laid out as that parameter)
ROLES = {
    "W_r": ("reduce.0.weight", lambda t: t[:, :, None, None]),  # (c', c)
    "b_r": ("reduce.0.bias", lambda t: t),
    "bn1_gamma": ("reduce.1.weight", lambda t: t),
    "bn1_beta": ("reduce.1.bias", lambda t: t),
    "bn1_mean": ("reduce.1.running_mean", lambda t: t),
    "bn1_var": ("reduce.1.running_var", lambda t: t),
    "bn2_gamma": ("row_norm.weight", lambda t: t),
    "bn2_beta": ("row_norm.bias", lambda t: t),
    "bn2_mean": ("row_norm.running_mean", lambda t: t),
    "bn2_var": ("row_norm.running_var", lambda t: t),
    "W_row": ("row_conv.weight", lambda t: t.reshape(-1, t.shape[-1])[:, None, :, None]),  # (c', 4, c')
    "b_row": ("row_conv.bias", lambda t: t.reshape(-1)),  # (c', 4)
    "W_u": ("fc.weight", lambda t: t[:, :, None, None]),  # (c, 4c')
    "b_u": ("fc.bias", lambda t: t),
}


def draw(c: int, cr: int) -> dict[str, torch.Tensor]:
    def pos(*shape):
        return torch.rand(*shape, dtype=torch.float64) + 0.5

    def rnd(*shape, scale=1.0):
        return torch.randn(*shape, dtype=torch.float64) * scale

    return {
        "W_r": rnd(cr, c, scale=c**-0.5), "b_r": rnd(cr, scale=0.1),
        "bn1_gamma": pos(cr), "bn1_beta": rnd(cr), "bn1_mean": rnd(cr), "bn1_var": pos(cr),
        "bn2_gamma": pos(cr), "bn2_beta": rnd(cr), "bn2_mean": rnd(cr, scale=0.1), "bn2_var": pos(cr) * 0.1,
        "W_row": rnd(cr, 4, cr, scale=cr**-0.5), "b_row": rnd(cr, 4, scale=0.1),
        "W_u": rnd(c, 4 * cr, scale=(4 * cr) ** -0.5), "b_u": rnd(c, scale=0.1),
    }  # fmt: skip


def block_with(p: dict[str, torch.Tensor], c: int, cr: int) -> GlobalSecondOrderPooling:
    block = GlobalSecondOrderPooling(c, reduced_channels=cr).double()
    state = block.state_dict()
    for role, (key, layout) in ROLES.items():
        assert state[key].shape == layout(p[role]).shape, (role, key)
        state[key] = layout(p[role])
    # every parameter and running statistic has a role; only the BN step counters are left
    assert {k for k in state if not k.endswith("num_batches_tracked")} == {k for k, _ in ROLES.values()}
    block.load_state_dict(state, strict=True)
    return block


def batch_norm(t: torch.Tensor, gamma, beta, mean, var, train: bool, eps: float = 1e-5):
    """(N, C, K): channel dim 1, statistics over dims 0 and 2 (biased variance) in training."""
    if train:
        mean, var = t.mean(dim=(0, 2)), t.var(dim=(0, 2), unbiased=False)
    return (t - mean[:, None]) / (var[:, None] + eps).sqrt() * gamma[:, None] + beta[:, None]


def reference(x: torch.Tensor, p: dict[str, torch.Tensor], train: bool):
    X = x.flatten(2)  # (N, c, L)
    n, _, L = X.shape
    R = torch.einsum("oc,ncl->nol", p["W_r"], X.clamp(min=0)) + p["b_r"][:, None]
    R = batch_norm(R, p["bn1_gamma"], p["bn1_beta"], p["bn1_mean"], p["bn1_var"], train).clamp(min=0)
    cr = R.shape[1]
    cov = torch.empty(n, cr, cr, dtype=x.dtype)
    for b in range(n):
        for i in range(cr):
            for j in range(cr):
                di, dj = R[b, i] - R[b, i].mean(), R[b, j] - R[b, j].mean()
                cov[b, i, j] = (di * dj).sum() / L
    rows = batch_norm(cov, p["bn2_gamma"], p["bn2_beta"], p["bn2_mean"], p["bn2_var"], train)
    u = torch.einsum("ikj,nij->nik", p["W_row"], rows) + p["b_row"]  # (N, c', 4)
    s = torch.sigmoid(u.reshape(n, 4 * cr) @ p["W_u"].T + p["b_u"])  # (N, c)
    return x * s.view(*s.shape, *[1] * (x.dim() - 2)), cov, s


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("shape", [(3, 12, 6, 7), (2, 12, 3, 4, 5)], ids=["image", "video"])
def test_matches_the_equations(train, shape):
    c, cr = 12, 5
    p = draw(c, cr)
    block = block_with(p, c, cr).train(train)
    x = torch.randn(*shape, dtype=torch.float64)
    y, maps = block(x, return_maps=True)
    ref_y, ref_cov, ref_s = reference(x, p, train)
    assert maps.covariance.shape == (shape[0], cr, cr)
    assert maps.channel.shape == (shape[0], c)
    torch.testing.assert_close(maps.covariance, ref_cov, **TOL)
    torch.testing.assert_close(maps.channel, ref_s, **TOL)
    torch.testing.assert_close(y, ref_y, **TOL)


def test_covariance_is_symmetric_positive_semidefinite():
    block = GlobalSecondOrderPooling(16).eval()
    _, maps = block(torch.randn(2, 16, 5, 5), return_maps=True)
    cov = maps.covariance
    assert cov.shape == (2, 8, 8)  # c' = c / 2 by default
    torch.testing.assert_close(cov, cov.transpose(1, 2))
    assert (torch.linalg.eigvalsh(cov.double()) > -1e-5).all()


def test_covariance_helper_is_biased_over_positions():
    x = torch.randn(2, 3, 10, dtype=torch.float64)
    centred = x - x.mean(-1, keepdim=True)
    expected = torch.einsum("nil,njl->nij", centred, centred) / 10
    torch.testing.assert_close(GlobalSecondOrderPooling.covariance(x), expected, **TOL)


def test_covariance_stays_float32_under_autocast():
    x = torch.randn(2, 3, 10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cov = GlobalSecondOrderPooling.covariance(x.bfloat16())
    assert cov.dtype == torch.float32
    torch.testing.assert_close(cov, GlobalSecondOrderPooling.covariance(x.bfloat16().float()), rtol=0, atol=0)


def test_gradients_flow():
    block = GlobalSecondOrderPooling(8).train()
    x = torch.randn(4, 8, 5, 5)
    block(x).square().sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
