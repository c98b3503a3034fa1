"""Measure the A² block's two computation orders on this machine.

:mod:`a2core.cost` says on paper what each order costs; this module runs the
real :class:`~a2core.blocks.DoubleAttention` block both ways, with the same
weights, and reports the time of one forward pass and the largest tensor that
pass allocates (read from ``torch.profiler`` with ``profile_memory``). For the
pairwise order that tensor is the L × L matrix; both orders give the same Y.

    rows = measure_orders(c=64, m=32, n=16, t=4, h=28, w=28)
"""

from __future__ import annotations

import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

from ..blocks import DoubleAttention
from ..blocks.double_attention import ORDERS
from .cost import double_attention_costs, pointwise_flops, positions

# A measurement runs on the server that the whole class shares: these caps keep one press of the
# button to about a second and under 20 MB on the 2-core test machine, where the largest case the page
# allowed before (T = 1, 90×90, c = m = n = 512) took 25-38 s and 560-610 MB (python -m bench.measure_button).
#: the largest pairwise L × L matrix (fp32) a measurement may build.
MAX_PAIRWISE_BYTES = 16 * 2**20
#: the most FLOPs all the forward passes of one measurement may take together.
MAX_MEASURE_FLOPS = 10**9


def measure_plan(c: int, m: int, n: int, t: int = 1, h: int = 28, w: int = 28, repeats: int = 3) -> dict[str, int]:
    """What :func:`measure_orders` would run, known before running it.

    Returns L, pairwise_bytes (the L × L matrix), passes (forward passes in all: a reference,
    then per order a warm-up, ``repeats`` timed and one profiled) and flops (all those passes,
    1×1 convolutions included, from :mod:`a2core.cost`).
    """
    costs = double_attention_costs(c, m, n, t=t, h=h, w=w)
    L = positions(t, h, w)
    pointwise = pointwise_flops(c, m, n, t=t, h=h, w=w)
    gather_pass = pointwise + costs["gather_first"].flops
    pairwise_pass = pointwise + costs["pairwise"].flops + 2 * m * n * L  # it also forms G for its maps
    per_order = repeats + 2
    return {
        "L": L,
        "pairwise_bytes": costs["pairwise"].attention_bytes,
        "passes": 1 + 2 * per_order,
        "flops": gather_pass * (1 + per_order) + pairwise_pass * per_order,
    }


def measure_refusal(plan: dict[str, int]) -> str | None:
    """Why a measurement with this :func:`measure_plan` is refused, in the user's words; None when it may run."""
    if plan["pairwise_bytes"] > MAX_PAIRWISE_BYTES:
        return (
            f"L = {plan['L']:,} positions would make a {plan['pairwise_bytes'] / 2**20:,.0f} MiB pairwise matrix; "
            f"the measurement is capped at {MAX_PAIRWISE_BYTES // 2**20} MiB. Use a smaller T, H or W."
        )
    if plan["flops"] > MAX_MEASURE_FLOPS:
        return (
            f"These sizes need {plan['flops'] / 1e9:,.1f} GFLOPs over {plan['passes']} forward passes; "
            f"the measurement is capped at {MAX_MEASURE_FLOPS / 1e9:.0f} GFLOPs so that one button does not "
            "stall a shared server. Use smaller sizes."
        )
    return None


def largest_allocation(fn) -> tuple[int, int]:
    """Run ``fn()`` once under the profiler → (largest single allocation, total allocated) in bytes."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    sizes = [e.self_cpu_memory_usage for e in prof.events()]
    return max([0, *sizes]), sum(s for s in sizes if s > 0)


@torch.no_grad()
def measure_orders(
    c: int, m: int, n: int, t: int = 1, h: int = 28, w: int = 28, repeats: int = 3, seed: int = 0
) -> list[dict[str, float | str]]:
    """Time and memory of one forward pass of the block in each order, same weights and input.

    Returns one row per order: order, time_ms (median of ``repeats``), peak_bytes
    (largest tensor allocated), total_bytes (all allocations of the pass), and
    max_abs_diff (largest difference of Y from the gather-first order's Y).
    Raises ValueError, before running anything, when the pairwise L × L matrix would exceed
    MAX_PAIRWISE_BYTES or all passes together MAX_MEASURE_FLOPS (see :func:`measure_refusal`).
    """
    if (refusal := measure_refusal(measure_plan(c, m, n, t, h, w, repeats))) is not None:
        raise ValueError(refusal)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1, c, t, h, w, generator=generator) if t > 1 else torch.randn(1, c, h, w, generator=generator)
    torch.manual_seed(seed)
    reference = DoubleAttention(c, m, n, order=ORDERS[0]).eval()
    # proj's BatchNorm starts at zero (Y = X); give it weight so that Y shows Z.
    torch.nn.init.ones_(reference.proj[1].weight)
    y_ref = reference(x)
    rows = []
    for order in ORDERS:
        block = DoubleAttention(c, m, n, order=order).eval()
        block.load_state_dict(reference.state_dict())
        block(x)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            y = block(x)
            times.append((time.perf_counter() - start) * 1e3)
        peak, total = largest_allocation(lambda: block(x))
        rows.append(
            {
                "order": order,
                "time_ms": statistics.median(times),
                "peak_bytes": peak,
                "total_bytes": total,
                "max_abs_diff": (y - y_ref).abs().max().item(),
            }
        )
    return rows
