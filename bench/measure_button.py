"""What one press of the Learn page's "Measure both orders" button costs the shared server.

    python -m bench.measure_button      # ~1 min; prints a table, writes bench/results/measure_button.json
    python -m bench.measure_button --quick  # the page default only (CI smoke)

Each case runs ``a2core.lessons.orders.measure_orders`` in a fresh subprocess (so its memory is its own),
after one tiny measurement (the first run's one-time costs, which a server pays once), and reports the
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

from a2core.lessons.orders import measure_plan, measure_refusal
from bench._util import parser, table, write_json

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
import torch
from a2core.lessons.orders import measure_orders, measure_refusal, measure_plan
sizes = json.loads(sys.argv[1])
measure_orders(c=8, m=4, n=2, t=1, h=8, w=8)  # one-time costs, paid once per server, not per press
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
measure_orders(**sizes) if sys.argv[2] == "capped" else None
if sys.argv[2] == "uncapped":  # the old behaviour: bypass the caps to show what they prevent
    import a2core.lessons.orders as o
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


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--no-old", action="store_true", help="skip the uncapped case the page allowed before the caps")
    args = p.parse_args(argv)
    rows = []
    # --quick: the page's default only, so the smoke run stays short
    for label, sizes, mode in cases(old=not (args.no_old or args.quick))[:1 if args.quick else None]:
        plan = measure_plan(**sizes)
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(sizes), mode], cwd=ROOT, check=True,
                              capture_output=True, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({"case": label, **sizes, "L": plan["L"], "GFLOPs": plan["flops"] / 1e9, **result})
    print(table([{**r, "size": f"{r['t']}×{r['h']}×{r['w']}", "channels": f"{r['c']}/{r['m']}/{r['n']}",
                  "gflops": f"{r['GFLOPs']:.2f}", "time": f"{r['seconds']:.2f}", "rss": f"{r['rss_mb']:.0f}"}
                 for r in rows],
                [("case", "case"), ("T×H×W", "size"), ("c/m/n", "channels"), ("L", "L"), ("GFLOPs", "gflops"),
                 ("time (s)", "time"), ("RSS + (MB)", "rss")]))
    path = write_json("measure_button", {"rows": rows}, args.out, args.quick)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
