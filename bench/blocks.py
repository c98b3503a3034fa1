"""Speed and memory of one attention block's forward pass, A² (both orders) against the others.

    python -m bench.blocks            # full sizes, writes bench/results/blocks.json (~3 min on 2 cores)
    python -m bench.blocks --quick    # tiny sizes, writes bench/results/quick/blocks.json (seconds)

Four sections; the first three put every block at the same channel count (c = 64; A² with
m = n = c/4 = 16; Non-local with c' = c/2; SE, GC, GSoP, ECA at their defaults):

- image: (1, c, s, s) for s = 14, 28, 56, 112;
- video: (1, c, t, 28, 28) for t = 8, 16, 32;
- article: the article's claim that for 32 frames of 28×28 the gather-first
  order needs ~1 MB of attention state and the pairwise order > 2 GB, with its
  m = n = 512 (c = 512). The attention tensors are measured (the bmm outputs
  the block really produces, apart from Z) as far as ``--max-gib`` allows, and
  computed with :mod:`a2core.lessons.cost` beyond. The eval-mode block also builds
  W_p G (c × n) for its folded projection; with the article's c = m it is
  the size of G.

Time is the median of repeated forward calls (no grad, eval mode); peak
memory is measured per call (see bench/_util.py for how).

- a2_vs_obvious: issue 17's sizes, (8, 256, 28²) and (8, 256, 56²) with
  m = n = 64, (1, 64, 112²) with m = n = 16: a2core's A² block against
  :class:`ObviousDoubleAttention` with the same weights, in eval mode (forward,
  no grad) and training mode (forward + backward), taking turns call by call;
  the speed-up is the median over these pairs of the obvious block's time
  over ours (target ≥ 1.2 in eval).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from a2core import blocks
from a2core.blocks.common import pointwise
from a2core.lessons.cost import double_attention_costs, non_local_cost, pointwise_flops
from bench._util import devices, fmt_bytes, fmt_ms, median_time, parser, peak_memory, synchronize, table, write_json


@dataclass(frozen=True)
class Sizes:
    channels: int
    m: int
    n: int
    image_sizes: tuple[int, ...]
    video_frames: tuple[int, ...]
    video_size: int
    article_channels: int
    article_mn: int
    article_frames: tuple[int, ...]  # the last ones may be computed only (memory budget)
    article_size: int
    budget_s: float
    min_repeats: int
    speedup_cases: tuple[tuple[int, int, int, int], ...] = ()  # (batch, c, size, m = n)


FULL = Sizes(64, 16, 16, (14, 28, 56, 112), (8, 16, 32), 28, 512, 512, (8, 16, 32, 64), 28, 1.0, 3,
             ((8, 256, 28, 64), (8, 256, 56, 64), (1, 64, 112, 16)))
QUICK = Sizes(16, 4, 4, (8, 14), (2,), 8, 16, 16, (1, 2, 4), 8, 0.05, 2, ((2, 16, 8, 4),))  # article: c = m = n too
#: Issue 17's target for a2core's A² block against the obvious one, eval mode.
SPEEDUP_TARGET = 1.2
#: Above this many FLOPs a call is timed once (it already ran once for its memory).
HEAVY_FLOPS = 5e10


class ObviousDoubleAttention(nn.Module):
    """The A² block as the paper draws it, the speed baseline of :class:`a2core.blocks.DoubleAttention`.

    Three 1×1 convs, two softmaxes, two batched products, a 1×1 conv + BN back
    to c channels and the residual add; the same parameter names, so one
    state_dict serves both. For (N, c, H, W) or (N, c, T, H, W) input.
    """

    def __init__(self, in_channels: int, m: int, n: int):
        super().__init__()
        self.phi = nn.Conv2d(in_channels, m, 1)
        self.theta = nn.Conv2d(in_channels, n, 1)
        self.rho = nn.Conv2d(in_channels, n, 1)
        self.proj = nn.Sequential(nn.Conv2d(m, in_channels, 1, bias=False), nn.BatchNorm2d(in_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b, v = (pointwise(conv, x).flatten(2) for conv in (self.phi, self.theta, self.rho))
        g = torch.bmm(a, b.softmax(dim=-1).transpose(1, 2))  # (N, m, n)
        z = torch.bmm(g, v.softmax(dim=1))  # (N, m, L)
        return x + pointwise(self.proj, z.view(x.shape[0], -1, *x.shape[2:]))


def block_factories(c: int, m: int, n: int) -> dict[str, Callable[[], nn.Module]]:
    return {
        "A2 gather_first": lambda: blocks.DoubleAttention(c, m, n, order="gather_first"),
        "A2 pairwise": lambda: blocks.DoubleAttention(c, m, n, order="pairwise"),
        "Non-local": lambda: blocks.NonLocal(c),
        "SE": lambda: blocks.SqueezeExcitation(c),
        "GC": lambda: blocks.GlobalContext(c),
        "ECA": lambda: blocks.EfficientChannelAttention(c),
        "GSoP": lambda: blocks.GlobalSecondOrderPooling(c),
        "CBAM": lambda: blocks.CBAM(c),
        "BAM": lambda: blocks.BottleneckAttention(c),
        "Triplet": lambda: blocks.TripletAttention(c),
        "CC-Net (R=2)": lambda: blocks.CrissCrossAttention(c),
        # SK and split attention stand in for a 3×3 conv (c → c), so their time includes that conv's work
        "SK conv": lambda: blocks.SelectiveKernel(c, c),
        "split-attention conv": lambda: blocks.SplitAttention(c, c),
    }


#: The blocks defined on images only (the series' designs): the video section skips them.
IMAGE_ONLY = frozenset({"CBAM", "BAM", "Triplet", "CC-Net (R=2)", "SK conv", "split-attention conv"})


def analytic(name: str, c: int, m: int, n: int, t: int, h: int, w: int) -> tuple[int | None, int | None]:
    """(attention state bytes, FLOPs of the attention products + 1×1 convs) from a2core.lessons.cost, where modelled."""
    if name.startswith("A2"):
        order = name.split()[1]
        cost = double_attention_costs(c, m, n, t=t, h=h, w=w)[order]
        return cost.attention_bytes, cost.flops + pointwise_flops(c, m, n, t=t, h=h, w=w)
    if name == "Non-local":
        cost = non_local_cost(c, t=t, h=h, w=w)
        inter = max(c // 2, 1)
        return cost.attention_bytes, cost.flops + 2 * t * h * w * (3 * c * inter + inter * c)
    return None, None


def estimated_peak(name: str, c: int, m: int, n: int, t: int, h: int, w: int) -> int:
    """A generous upper estimate of a call's peak bytes, to skip what would not fit the budget."""
    L = t * h * w
    feature_maps = 8 * max(c, m, n) * L * 4
    if name == "Non-local" or name == "A2 pairwise":
        return 2 * L * L * 4 + feature_maps
    return feature_maps


class AttentionTensors(TorchDispatchMode):
    """Bytes of the tensors the attention products (bmm) produce, except the block's output Z (N, m, L)."""

    def __init__(self, z_shape: tuple[int, ...]):
        super().__init__()
        self.z_shape = z_shape
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func is torch.ops.aten.bmm.default and tuple(out.shape) != self.z_shape:
            self.largest = max(self.largest, out.numel() * out.element_size())
        return out


def measure(name, make, c, m, n, t, h, w, device, sizes, max_bytes, capture=False) -> dict:
    """One row: median time and peak memory of ``make()(x)`` on a (1, c, [t,] h, w) input."""
    L = t * h * w
    attention_bytes, flops = analytic(name, c, m, n, t, h, w)
    row = {
        "block": name, "device": device.type, "c": c, "t": t, "h": h, "w": w, "L": L,
        "attention_bytes_computed": attention_bytes, "flops_computed": flops,
        "median_s": None, "peak_bytes": None, "attention_bytes_measured": None, "measured": False,
    }
    if estimated_peak(name, c, m, n, t, h, w) > max_bytes:
        return row
    torch.manual_seed(0)
    block = make().eval().to(device)
    shape = (1, c, h, w) if t == 1 else (1, c, t, h, w)
    x = torch.randn(shape, device=device)

    def forward():
        with torch.no_grad():
            return block(x)

    if capture:
        mode = AttentionTensors((1, m, L))
        with mode:
            row["peak_bytes"] = peak_memory(forward, device)
        row["attention_bytes_measured"] = mode.largest
    else:
        row["peak_bytes"] = peak_memory(forward, device)
    heavy = (flops or 0) > HEAVY_FLOPS
    timing = median_time(forward, device, budget_s=sizes.budget_s,
                         min_repeats=1 if heavy else sizes.min_repeats, warmup=0 if heavy else 1)
    row.update(median_s=timing["median_s"], repeats=timing["repeats"], measured=True)
    return row


def run(sizes: Sizes, max_bytes: int) -> dict:
    c, m, n = sizes.channels, sizes.m, sizes.n
    factories = block_factories(c, m, n)
    rows = []
    for device in devices():
        for s in sizes.image_sizes:
            for name, make in factories.items():
                rows.append({"section": "image", **measure(name, make, c, m, n, 1, s, s, device, sizes, max_bytes)})
        for t in sizes.video_frames:
            for name, make in factories.items():
                if name in IMAGE_ONLY:
                    continue
                row = measure(name, make, c, m, n, t, sizes.video_size, sizes.video_size, device, sizes, max_bytes)
                rows.append({"section": "video", **row})
        ac, mn, s = sizes.article_channels, sizes.article_mn, sizes.article_size
        for t in sizes.article_frames:
            for order in ("gather_first", "pairwise"):
                make = lambda order=order: blocks.DoubleAttention(ac, mn, mn, order=order)  # noqa: E731
                row = measure(f"A2 {order}", make, ac, mn, mn, t, s, s, device, sizes, max_bytes, capture=True)
                rows.append({"section": "article", **row})
    return {"rows": rows, "targets": targets(rows, max(sizes.image_sizes)), "claim": claim(rows, sizes),
            "a2_vs_obvious": [row for device in devices() for row in a2_vs_obvious(sizes, device)]}


def alternated(calls: dict[str, Callable[[], object]], device: torch.device, budget_s: float,
               min_repeats: int) -> dict[str, list[float]]:
    """Seconds of each call, the calls taking turns, so that a busy moment of the machine hits all of them."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for fn in calls.values():  # warm-up
        fn()
    start = time.perf_counter()
    while min(len(t) for t in times.values()) < min_repeats or time.perf_counter() - start < budget_s:
        for name, fn in calls.items():
            synchronize(device)
            t0 = time.perf_counter()
            fn()
            synchronize(device)
            times[name].append(time.perf_counter() - t0)
    return times


def a2_vs_obvious(sizes: Sizes, device: torch.device) -> list[dict]:
    """a2core's A² block against the obvious one, same weights, eval (forward) and train (forward + backward).

    The blocks take turns call by call; the speed-up is the median over these pairs of the obvious
    block's time over ours, so that a busy moment of the machine slows both sides of a pair. The
    ratio of the two fastest calls is reported beside it.
    """
    rows = []
    for batch, c, size, mn in sizes.speedup_cases:
        torch.manual_seed(0)
        ours = blocks.DoubleAttention(c, mn, mn).to(device)
        with torch.no_grad():  # a trained-looking BatchNorm, so the attention path is not zero
            ours.proj[1].weight.uniform_(0.5, 1.5)
            ours.proj[1].running_var.uniform_(0.5, 2.0)
        obvious = ObviousDoubleAttention(c, mn, mn).to(device)
        obvious.load_state_dict(ours.state_dict())
        x = torch.randn(batch, c, size, size, device=device)
        for mode in ("eval", "train"):
            train = mode == "train"
            ours.train(train), obvious.train(train)
            xg = x.clone().requires_grad_(train)
            seed = torch.randn_like(x)

            def call(block):
                if not train:
                    with torch.no_grad():
                        return block(x)
                with torch.enable_grad():
                    y = block(xg)
                    y.backward(seed)
                    return y.detach()

            diff = (call(ours) - call(obvious)).abs().max().item()
            times = alternated({"obvious": lambda: call(obvious), "ours": lambda: call(ours)}, device,
                               budget_s=3 * sizes.budget_s, min_repeats=max(sizes.min_repeats, 5))
            best = {name: min(t) for name, t in times.items()}
            speedup = statistics.median(o / u for o, u in zip(times["obvious"], times["ours"]))
            rows.append({"device": device.type, "batch": batch, "c": c, "h": size, "w": size, "m": mn, "n": mn,
                         "mode": mode, "obvious_s": best["obvious"], "ours_s": best["ours"], "speedup": speedup,
                         "fastest_speedup": best["obvious"] / best["ours"], "pairs": len(times["ours"]),
                         "max_abs_diff": diff, "target": SPEEDUP_TARGET if mode == "eval" else None,
                         "met": speedup >= SPEEDUP_TARGET if mode == "eval" else None})
    return rows


def claim(rows: list[dict], sizes: Sizes) -> list[dict]:
    """The article's example per device: attention state of both orders at 32 frames (or the quick run's largest)."""
    frames = 32 if 32 in sizes.article_frames else max(sizes.article_frames)
    found = []
    for device in sorted({r["device"] for r in rows}):
        pick = {r["block"].split()[1]: r for r in rows
                if r["section"] == "article" and r["device"] == device and r["t"] == frames}
        found.append({"device": device, "t": frames, "h": sizes.article_size, "m": sizes.article_mn,
                      "n": sizes.article_mn, **{
                          f"{order}_{key}": pick[order][key] for order in ("gather_first", "pairwise")
                          for key in ("attention_bytes_measured", "attention_bytes_computed", "peak_bytes")}})
    return found


def targets(rows: list[dict], size: int) -> list[dict]:
    """Issue 6's targets at the largest image size: A² ≥ 20× faster and ≥ 100× less memory than Non-local."""
    found = []
    for device in sorted({r["device"] for r in rows}):
        pick = {r["block"]: r for r in rows if r["section"] == "image" and r["device"] == device and r["h"] == size}
        a2, nl = pick.get("A2 gather_first"), pick.get("Non-local")
        if not (a2 and nl and a2["measured"] and nl["measured"]):
            continue
        speedup = nl["median_s"] / a2["median_s"]
        memory = nl["peak_bytes"] / max(a2["peak_bytes"], 1)
        found.append({"device": device, "size": size, "speedup": speedup, "memory_ratio": memory,
                      "speedup_target": 20, "memory_target": 100,
                      "speedup_met": speedup >= 20, "memory_met": memory >= 100})
    return found


def show(result: dict) -> None:
    def fmt(row):
        shape = f"{row['t']}×{row['h']}×{row['w']}" if row["t"] > 1 else f"{row['h']}×{row['w']}"
        return {**row, "shape": shape, "ms": fmt_ms(row["median_s"]), "peak": fmt_bytes(row["peak_bytes"]),
                "state": fmt_bytes(row["attention_bytes_computed"]),
                "state_measured": fmt_bytes(row["attention_bytes_measured"]),
                "gflops": "-" if row["flops_computed"] is None else f"{row['flops_computed'] / 1e9:.3g}"}

    rows = [fmt(r) for r in result["rows"]]
    for section in ("image", "video"):
        print(f"\n## {section}: one block forward, batch 1\n")
        print(table([r for r in rows if r["section"] == section], [
            ("block", "block"), ("device", "device"), ("c", "c"), ("map", "shape"), ("L", "L"),
            ("median ms", "ms"), ("peak memory", "peak"), ("attention state (computed)", "state"),
            ("GFLOPs (computed)", "gflops")]))
    first = result["rows"][-1]
    print(f"\n## article: {first['h']}×{first['w']} video clips, c = {first['c']}, m = n = {result['claim'][0]['m']}: "
          "gather-first's G (m × n) vs the pairwise order's L × L matrix\n")
    print(table([r for r in rows if r["section"] == "article"], [
        ("order", "block"), ("device", "device"), ("c", "c"), ("clip", "shape"), ("L", "L"),
        ("attention state measured", "state_measured"), ("attention state computed", "state"),
        ("peak memory", "peak"), ("median ms", "ms")]))
    print("(rows with '-' measured were over the memory budget: computed only)")
    for c in result["claim"]:
        print(f"\nclaim, {c['t']}×{c['h']}×{c['h']} clip on {c['device']}: attention state gather_first "
              f"{fmt_bytes(c['gather_first_attention_bytes_measured'])} measured "
              f"({fmt_bytes(c['gather_first_attention_bytes_computed'])} computed), pairwise "
              f"{fmt_bytes(c['pairwise_attention_bytes_measured'])} measured "
              f"({fmt_bytes(c['pairwise_attention_bytes_computed'])} computed)")
    print("\n## A² block vs the obvious one (three convs, two softmaxes, two bmm, conv + BN, add), same weights\n")
    print(table([{**r, "input": f"{r['batch']} × {r['c']} × {r['h']}²", "mn": f"{r['m']}",
                  "obvious": fmt_ms(r["obvious_s"]), "ours": fmt_ms(r["ours_s"]), "ratio": f"{r['speedup']:.2f}×",
                  "pairs": str(r["pairs"]), "fastest": f"{r['fastest_speedup']:.2f}×",
                  "diff": f"{r['max_abs_diff']:.1e}",
                  "target": "-" if r["target"] is None else f"≥ {r['target']}: {'met' if r['met'] else 'MISSED'}"}
                 for r in result["a2_vs_obvious"]], [
        ("input", "input"), ("m = n", "mn"), ("device", "device"), ("mode", "mode"), ("pairs", "pairs"),
        ("speed-up (median of pairs)", "ratio"), ("fastest obvious ms", "obvious"), ("fastest a2core ms", "ours"),
        ("ratio of fastest", "fastest"), ("max abs diff", "diff"), ("target", "target")]))
    print("(the blocks take turns call by call; eval: forward without grad; train: forward + backward, "
          "BatchNorm on batch statistics)")
    for t in result["targets"]:
        print(f"\ntarget at {t['size']}×{t['size']} on {t['device']}: A² gather_first vs Non-local "
              f"{t['speedup']:.1f}× faster (target ≥ 20: {'met' if t['speedup_met'] else 'MISSED'}), "
              f"{t['memory_ratio']:.1f}× less peak memory (target ≥ 100: {'met' if t['memory_met'] else 'MISSED'})")


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--max-gib", type=float, default=8.0, help="skip measuring calls estimated above this (GiB)")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    torch.set_grad_enabled(False)
    result = run(sizes, int(args.max_gib * 2**30))
    config = {"sizes": sizes.__dict__, "max_gib": args.max_gib,
              "note": "A2: m = n = c/4; Non-local c' = c/2; SE/GC reduction 4; GSoP c' = c/2; ECA adaptive k"}
    path = write_json("blocks", {"config": config, **result}, args.out, args.quick)
    show(result)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
