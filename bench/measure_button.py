"""What one press of the Learn page's "Measure both orders" button costs the shared server.

    python -m bench.measure_button      # ~1 min; prints a table, writes bench/results/measure_button.json

Each case runs ``a2core.orders.measure_orders`` in a fresh subprocess (so its memory is its own),
after one tiny measurement (the profiler's first start, which a server pays once), and reports the
wall time of the whole call and the process's peak RSS above what it held before. Cases: the page's default sizes, the largest sizes the caps
(``MAX_PAIRWISE_BYTES``, ``MAX_MEASURE_FLOPS``) let through in two directions (many positions,
wide channels), and, for reference, the largest case the page allowed before the caps
(T = 1, 90×90, c = m = n = 512), unless ``--no-old``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from a2core.orders import measure_plan, measure_refusal

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
import torch
from a2core.orders import measure_orders, measure_refusal, measure_plan
sizes = json.loads(sys.argv[1])
measure_orders(c=8, m=4, n=2, t=1, h=8, w=8)  # the profiler's first start, paid once per server, not per press
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
measure_orders(**sizes) if sys.argv[2] == "capped" else None
if sys.argv[2] == "uncapped":  # the old behaviour: bypass the caps to show what they prevent
    import a2core.orders as o
    o.MAX_PAIRWISE_BYTES, o.MAX_MEASURE_FLOPS = float("inf"), float("inf")
    o.measure_orders(**sizes)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rss_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}))
"""


def largest_side(c: int, m: int, n: int, t: int) -> int:
    """The largest h = w the caps let through for these channels and frames."""
    side = 1
    while measure_refusal(measure_plan(c, m, n, t, side + 1, side + 1)) is None:
        side += 1
    return side


def cases(old: bool) -> list[tuple[str, dict, str]]:
    out = [("page default", dict(t=2, h=20, w=20, c=64, m=32, n=16), "capped")]
    for label, (c, m, n, t) in {"many positions": (8, 4, 2, 2), "the default channels": (64, 32, 16, 1),
                                "wide channels": (512, 512, 512, 1)}.items():
        side = largest_side(c, m, n, t)
        out.append((f"largest allowed, {label}", dict(t=t, h=side, w=side, c=c, m=m, n=n), "capped"))
    if old:
        out.append(("old largest (no caps)", dict(t=1, h=90, w=90, c=512, m=512, n=512), "uncapped"))
    return out


def main() -> None:
    rows = []
    for label, sizes, mode in cases("--no-old" not in sys.argv):
        plan = measure_plan(**sizes)
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(sizes), mode], cwd=ROOT, check=True,
                              capture_output=True, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({"case": label, **sizes, "L": plan["L"], "GFLOPs": plan["flops"] / 1e9, **result})
    print(f"{'case':38} {'T':>3} {'H×W':>7} {'c/m/n':>11} {'L':>6} {'GFLOPs':>7} {'time s':>7} {'RSS +MB':>8}")
    for r in rows:
        print(f"{r['case']:38} {r['t']:>3} {r['h']}×{r['w']:<4} {r['c']:>3}/{r['m']}/{r['n']:<3} {r['L']:>6} "
              f"{r['GFLOPs']:>7.2f} {r['seconds']:>7.2f} {r['rss_mb']:>8.0f}")
    out = ROOT / "bench" / "results" / "measure_button.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
