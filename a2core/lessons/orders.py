"""Measure the A² block's two computation orders on this machine.

:mod:`a2core.cost` says on paper what each order costs; this module runs the
real :class:`~a2core.blocks.DoubleAttention` block both ways, with the same
weights, and reports the time of one forward pass (``torch.utils.benchmark``:
the median of blocks of passes run for at least :data:`MIN_TIME_S`, so that a
tiny block is not timed by one noisy pass) and the largest tensor that pass
creates (read by a ``TorchDispatchMode`` that sees every operator's outputs:
no profiler, so nothing is written to the server's log). For the pairwise order
that tensor is the L × L matrix; both orders give the same Y.

    rows = measure_orders(c=64, m=32, n=16, t=4, h=28, w=28)
"""

from __future__ import annotations

import statistics

import torch
from torch.utils import benchmark
from torch.utils._python_dispatch import TorchDispatchMode

from ..blocks import DoubleAttention
from ..blocks.double_attention import ORDERS
from .cost import double_attention_costs, pointwise_flops, positions

# A measurement runs on the server that the whole class shares: these caps keep one press of the
# button to about a second and under 20 MB on the 2-core test machine, where the largest case the page
# allowed before (T = 1, 90×90, c = m = n = 512) took 25-38 s and 560-610 MB (python -m bench.measure_button).
#: the largest pairwise L × L matrix (fp32) a measurement may build.
MAX_PAIRWISE_BYTES = 16 * 2**20
#: the most FLOPs the forward passes of one measurement may take together (its fewest passes: see measure_plan).
MAX_MEASURE_FLOPS = 10**9
#: each order is timed for at least this long: tiny sizes run many passes, large ones a few.
MIN_TIME_S = 0.2


def measure_plan(c: int, m: int, n: int, t: int = 1, h: int = 28, w: int = 28, repeats: int = 3) -> dict[str, int]:
    """What :func:`measure_orders` runs at the least, known before running it.

    Returns L, pairwise_bytes (the L × L matrix), passes (the fewest forward passes: a reference,
    then per order a warm-up, the timer's first call, ``repeats`` timed and one read for memory;
    sizes whose pass is shorter than :data:`MIN_TIME_S` run more timed passes, for that long)
    and flops (those passes, 1×1 convolutions included, from :mod:`a2core.cost`).
    """
    costs = double_attention_costs(c, m, n, t=t, h=h, w=w)
    L = positions(t, h, w)
    pointwise = pointwise_flops(c, m, n, t=t, h=h, w=w)
    gather_pass = pointwise + costs["gather_first"].flops
    pairwise_pass = pointwise + costs["pairwise"].flops + 2 * m * n * L  # it also forms G for its maps
    per_order = repeats + 3
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


class NewTensors(TorchDispatchMode):
    """Records the bytes of every tensor an operator creates: outputs that share no storage with its inputs
    (views and in-place results do). Quiet, and only the thread that enters it is seen."""

    def __init__(self):
        super().__init__()
        self.sizes: list[int] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in _tensors((args, kwargs))}
        for tensor in _tensors(out):
            if tensor.untyped_storage().data_ptr() not in inputs:
                self.sizes.append(tensor.untyped_storage().nbytes())
        return out


def _tensors(tree) -> list[torch.Tensor]:
    return [x for x in torch.utils._pytree.tree_leaves(tree) if isinstance(x, torch.Tensor)]


def largest_allocation(fn) -> tuple[int, int]:
    """Run ``fn()`` once → (largest tensor it creates, all the tensors it creates together) in bytes."""
    with NewTensors() as seen:
        fn()
    return max([0, *seen.sizes]), sum(seen.sizes)


def time_pass(fn, min_time_s: float = MIN_TIME_S, repeats: int = 3) -> tuple[float, int]:
    """Time ``fn()`` → (median ms of one call, calls timed).

    ``torch.utils.benchmark`` runs it in blocks, each long enough to dwarf the timer's overhead, for at
    least ``min_time_s`` (its first, untimed call sizes the blocks); calls longer than that are timed
    one at a time until there are ``repeats``. The timer keeps the process's thread count (a server's).
    """
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    measured = timer.blocked_autorange(min_run_time=min_time_s)
    per_call = [t / measured.number_per_run for t in measured.raw_times]
    runs = measured.number_per_run * len(measured.raw_times)
    while runs < repeats:
        per_call += timer.timeit(1).raw_times
        runs += 1
    return statistics.median(per_call) * 1e3, runs


@torch.no_grad()
def measure_orders(
    c: int, m: int, n: int, t: int = 1, h: int = 28, w: int = 28, repeats: int = 3, seed: int = 0,
    min_time_s: float = MIN_TIME_S,
) -> list[dict[str, float | str]]:
    """Time and memory of one forward pass of the block in each order, same weights and input.

    Returns one row per order: order, time_ms (median over at least ``repeats`` passes and
    ``min_time_s`` seconds, :func:`time_pass`), runs (passes timed), peak_bytes (largest
    tensor created), total_bytes (all tensors the pass creates), and max_abs_diff (largest
    difference of Y from the gather-first order's Y).
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
        y = block(x)  # warm-up
        # torch.no_grad is thread-local: the timer calls fn in this thread, so under it.
        time_ms, runs = time_pass(lambda: block(x), min_time_s, repeats)
        peak, total = largest_allocation(lambda: block(x))
        rows.append(
            {
                "order": order,
                "time_ms": time_ms,
                "runs": runs,
                "peak_bytes": peak,
                "total_bytes": total,
                "max_abs_diff": (y - y_ref).abs().max().item(),
            }
        )
    return rows
