"""The caps that keep "Measure both orders" from stalling a shared server (issue 20, item 4)."""

from __future__ import annotations

import pytest

from a2core.lessons.cost import double_attention_costs, pointwise_flops
from a2core.lessons.orders import MAX_MEASURE_FLOPS, MAX_PAIRWISE_BYTES, measure_orders, measure_plan, measure_refusal


def test_plan_counts_every_pass_from_the_cost_model():
    sizes = dict(c=16, m=8, n=4, t=1, h=10, w=10)
    plan = measure_plan(**sizes, repeats=3)
    costs = double_attention_costs(**sizes)
    L, conv = 100, pointwise_flops(**sizes)
    # a reference pass, then per order a warm-up, the timer's first call, 3 timed passes and one read for memory
    assert plan["passes"] == 13 and plan["L"] == L and plan["pairwise_bytes"] == 4 * L * L
    gather, pairwise = conv + costs["gather_first"].flops, conv + costs["pairwise"].flops + 2 * 8 * 4 * L
    assert plan["flops"] == 7 * gather + 6 * pairwise


def test_the_old_largest_case_is_refused_before_running():
    # T = 1, 90×90, c = m = n = 512 took 8.6 s and 540 MB of a shared server
    plan = measure_plan(c=512, m=512, n=512, t=1, h=90, w=90)
    assert plan["pairwise_bytes"] > MAX_PAIRWISE_BYTES
    assert "MiB" in measure_refusal(plan)
    with pytest.raises(ValueError, match="capped"):
        measure_orders(c=512, m=512, n=512, t=1, h=90, w=90)


def test_wide_channels_on_a_small_map_are_refused_by_flops():
    plan = measure_plan(c=512, m=512, n=512, t=1, h=12, w=12)
    assert plan["pairwise_bytes"] <= MAX_PAIRWISE_BYTES < float("inf")
    assert plan["flops"] > MAX_MEASURE_FLOPS and "GFLOPs" in measure_refusal(plan)


def test_the_page_default_runs():
    assert measure_refusal(measure_plan(c=64, m=32, n=16, t=2, h=20, w=20)) is None
