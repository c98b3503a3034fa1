"""The analytic cost model against what the real blocks compute."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from a2core.blocks import CrissCrossAttention, DoubleAttention, NonLocal
from a2core.lessons.cost import (
    OrderCost,
    criss_cross_cost,
    double_attention_costs,
    non_local_cost,
    pointwise_flops,
    softmax_map_bytes,
)
from bench.blocks import ObviousDoubleAttention


class BmmOutputs(TorchDispatchMode):
    """Records the shape and byte size of every tensor a batched matmul produces."""

    def __init__(self):
        super().__init__()
        self.outputs: list[tuple[tuple[int, ...], int]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func is torch.ops.aten.bmm.default:
            self.outputs.append((tuple(out.shape), out.numel() * out.element_size()))
        return out


def op_flops(module, x, op):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_flop_counts()["Global"].get(op, 0)


def feature_map(batch, c, t, h, w):
    shape = (batch, c, h, w) if t == 1 else (batch, c, t, h, w)
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))


def test_article_example_is_about_1mb_vs_over_2gb():
    costs = double_attention_costs(c=1024, m=512, n=512, t=32, h=28, w=28)
    assert costs["gather_first"] == OrderCost("gather_first", 512 * 512 * 4, costs["gather_first"].flops,
                                              costs["gather_first"].pointwise_flops)
    assert costs["gather_first"].attention_bytes == 2**20
    assert costs["pairwise"].attention_bytes == (32 * 28 * 28) ** 2 * 4
    assert costs["pairwise"].attention_bytes > 2 * 10**9
    assert costs["pairwise"].attention_bytes / costs["gather_first"].attention_bytes > 2000


@pytest.mark.parametrize(
    "batch,c,m,n,t,h,w",
    [(1, 16, 8, 4, 1, 14, 14), (2, 32, 16, 8, 1, 9, 11), (2, 16, 8, 6, 3, 5, 7)],
)
def test_double_attention_bmm_flops_match_flop_counter(batch, c, m, n, t, h, w):
    x = feature_map(batch, c, t, h, w)
    costs = double_attention_costs(c, m, n, t=t, h=h, w=w, batch=batch)
    L = t * h * w
    # The model counts the paper's products, those of the obvious block; DoubleAttention folds proj into fewer.
    gather_first = ObviousDoubleAttention(c, m, n).eval()
    assert op_flops(gather_first, x, torch.ops.aten.bmm) == costs["gather_first"].flops
    # The pairwise forward also reads G out for its maps (one extra m·n·L product).
    pairwise = DoubleAttention(c, m, n, order="pairwise").eval()
    assert op_flops(pairwise, x, torch.ops.aten.bmm) == costs["pairwise"].flops + batch * 2 * m * n * L
    assert costs["pairwise"].flops > costs["gather_first"].flops  # L > 2mn/(m+n) for these sizes


@pytest.mark.parametrize("batch,c,m,n,t,h,w", [(1, 16, 8, 4, 1, 14, 14), (2, 16, 8, 6, 3, 5, 7)])
def test_pointwise_flops_match_flop_counter(batch, c, m, n, t, h, w):
    x = feature_map(batch, c, t, h, w)
    block = ObviousDoubleAttention(c, m, n).eval()
    assert op_flops(block, x, torch.ops.aten.convolution) == pointwise_flops(c, m, n, t=t, h=h, w=w, batch=batch)


@pytest.mark.parametrize("batch,c,m,n,t,h,w", [(1, 16, 8, 4, 1, 14, 14), (2, 16, 8, 6, 3, 5, 7)])
def test_total_flops_are_every_product_and_1x1_conv_of_the_block(batch, c, m, n, t, h, w):
    # c enters through the 1×1 convolutions: counted on the obvious block, independently of the formula.
    x = feature_map(batch, c, t, h, w)
    costs = double_attention_costs(c, m, n, t=t, h=h, w=w, batch=batch)
    block = ObviousDoubleAttention(c, m, n).eval()
    counted = op_flops(block, x, torch.ops.aten.bmm) + op_flops(block, x, torch.ops.aten.convolution)
    assert costs["gather_first"].total_flops == counted
    for order in ("gather_first", "pairwise"):
        assert costs[order].pointwise_flops == op_flops(block, x, torch.ops.aten.convolution)


def test_c_changes_the_cost_as_the_issue_states():
    # c·(m + 2n)·L + m·c·L multiply-adds, the same in both orders; the attention products do not see c.
    L = 32 * 28 * 28
    one, wide = (double_attention_costs(c, 512, 512, t=32) for c in (1, 1024))
    for order in ("gather_first", "pairwise"):
        assert one[order].flops == wide[order].flops
        assert wide[order].total_flops - one[order].total_flops == 2 * (1024 - 1) * ((512 + 2 * 512) * L + 512 * L)
    assert one["gather_first"].total_flops < wide["gather_first"].total_flops


@pytest.mark.parametrize("batch,c,m,n,t,h,w", [(1, 16, 8, 4, 1, 14, 14), (2, 16, 8, 6, 2, 6, 5)])
def test_attention_state_is_what_the_block_materialises(batch, c, m, n, t, h, w):
    x = feature_map(batch, c, t, h, w)
    L = t * h * w
    costs = double_attention_costs(c, m, n, t=t, h=h, w=w, batch=batch)
    with torch.no_grad():
        with BmmOutputs() as seen:
            DoubleAttention(c, m, n, order="gather_first").eval()(x)
        # gather_first: G (N, m, n), then Z (N, m, L); no L × L tensor at all.
        assert seen.outputs[0] == ((batch, m, n), costs["gather_first"].attention_bytes)
        assert max(shape[-1] * shape[-2] for shape, _ in seen.outputs) < L * L
        with BmmOutputs() as seen:
            DoubleAttention(c, m, n, order="pairwise").eval()(x)
        assert seen.outputs[0] == ((batch, L, L), costs["pairwise"].attention_bytes)
        _, maps = DoubleAttention(c, m, n).eval()(x, return_maps=True)
    map_bytes = sum(a.numel() * a.element_size() for a in (maps.gather, maps.distribute))
    assert map_bytes == softmax_map_bytes(n, t=t, h=h, w=w, batch=batch)


def test_non_local_cost_matches_block():
    batch, c, h, w = 2, 16, 6, 7
    L = h * w
    x = feature_map(batch, c, 1, h, w)
    cost = non_local_cost(c, h=h, w=w, batch=batch)
    block = NonLocal(c).eval()
    assert op_flops(block, x, torch.ops.aten.bmm) == cost.flops
    with torch.no_grad(), BmmOutputs() as seen:
        block(x)
    assert seen.outputs[0] == ((batch, L, L), cost.attention_bytes)


def test_costs_scale_as_claimed():
    small = double_attention_costs(64, 16, 16, h=14, w=14)
    big = double_attention_costs(64, 16, 16, h=112, w=112)
    # 64× the positions: gather_first grows linearly in L, pairwise and Non-local quadratically.
    assert big["gather_first"].attention_bytes == small["gather_first"].attention_bytes
    assert big["gather_first"].flops == 64 * small["gather_first"].flops
    assert big["pairwise"].attention_bytes == 64**2 * small["pairwise"].attention_bytes
    assert non_local_cost(64, h=112, w=112).flops == 64**2 * non_local_cost(64, h=14, w=14).flops
    assert double_attention_costs(64, 16, 16, bytes_per_element=2)["pairwise"].attention_bytes * 2 == (
        double_attention_costs(64, 16, 16)["pairwise"].attention_bytes
    )


def test_rejects_nonpositive_sizes():
    with pytest.raises(ValueError):
        double_attention_costs(64, 0, 16)
    with pytest.raises(ValueError):
        non_local_cost(64, h=0)


@pytest.mark.parametrize("c,hw", [(16, (6, 9)), (64, (10, 10))])
def test_criss_cross_cost_counts_what_the_block_computes(c, hw):
    # FLOPs counted by torch.utils.flop_counter on the real block (two passes), against the formula
    block = CrissCrossAttention(c).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        block(torch.randn(1, c, *hw))
    cost = criss_cross_cost(c, h=hw[0], w=hw[1])
    assert counter.get_total_flops() == cost.total_flops
    assert cost.attention_bytes == hw[0] * hw[1] * (hw[0] + hw[1]) * 4  # one pass's L × (H + W) weights


def test_criss_cross_sits_between_the_orders_on_the_article_clip():
    a2 = double_attention_costs(1024, 512, 512, t=32)
    cc = criss_cross_cost(1024, t=32)
    nl = non_local_cost(1024, t=32)
    assert a2["gather_first"].attention_bytes < cc.attention_bytes < nl.attention_bytes
    assert cc.attention_bytes == 32 * 28 * 28 * (32 + 28 + 28) * 4
    with pytest.raises(ValueError):
        criss_cross_cost(8, h=0)
