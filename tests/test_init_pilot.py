"""bench.init_pilot builds the four starts its README table compares (the training loop needs Imagenette)."""

from __future__ import annotations

import torch

from a2core.blocks import DoubleAttention
from bench.init_pilot import VARIANTS, build


def _blocks(variant: str) -> list[DoubleAttention]:
    return [m for m in build(variant).modules() if isinstance(m, DoubleAttention)]


def test_the_four_starts_differ_only_where_the_table_says():
    assert sorted(VARIANTS) == ["V0", "V1", "V3", "V4"]
    v0, v1, v3, v4 = (_blocks(v) for v in ("V0", "V1", "V3", "V4"))
    assert len(v0) == 2  # layer2.1 and layer3.1 of the photo a2_resnet
    for default, he, active, both in zip(v0, v1, v3, v4):
        gamma = default.proj[1].weight
        assert torch.equal(gamma, torch.zeros_like(gamma)) and torch.equal(he.proj[1].weight, gamma)
        assert torch.equal(active.proj[1].weight, torch.ones_like(gamma)) and torch.equal(both.proj[1].weight,
                                                                                        active.proj[1].weight)
        # PyTorch's init (uniform, |w| ≤ 1/√fan_in) in V0 and V3, He's (normal, std √(2/fan_out)) in V1 and V4
        fan_in, fan_out = default.theta.weight.shape[1], default.theta.weight.shape[0]
        assert torch.equal(default.theta.weight, active.theta.weight)
        assert default.theta.weight.abs().max() <= fan_in ** -0.5
        assert torch.equal(he.theta.weight, both.theta.weight) and torch.equal(he.rho.weight, both.rho.weight)
        assert abs(he.theta.weight.std().item() / (2 / fan_out) ** 0.5 - 1) < 0.1
