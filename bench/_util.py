"""Timing, memory and reporting helpers shared by the benchmark scripts.

Time: the median wall-clock time of repeated calls after a warm-up call,
repeating until a time budget is spent (at least ``min_repeats`` and at most
``max_repeats`` calls); CUDA work is synchronised before each clock read.

Memory: the peak of the bytes a call allocates, measured, not estimated.
On CPU, torch.profiler with ``profile_memory=True`` reports every allocation
and free of PyTorch's CPU allocator while the call runs; the running sum of
those events, maximised, is the peak of live tensor memory the call added on
top of what existed before it (its input, the weights). Memory that oneDNN or
BLAS take outside PyTorch's allocator for scratch space is not seen. On CUDA
it is ``torch.cuda.max_memory_allocated`` minus what was allocated before.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: Where ``--quick`` runs write by default; ignored by git (bench/.gitignore).
QUICK_DIR = RESULTS_DIR / "quick"


def parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark script shares: --quick and --out."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (seconds), for CI smoke tests")
    p.add_argument("--out", type=Path, default=None, help=f"folder for the JSON (default {RESULTS_DIR}, "
                   f"or {QUICK_DIR} with --quick)")
    return p


def devices() -> list[torch.device]:
    """CPU always, and the first CUDA device when there is one."""
    found = [torch.device("cpu")]
    if torch.cuda.is_available():
        found.append(torch.device("cuda"))
    return found


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_time(
    fn: Callable[[], object],
    device: torch.device = torch.device("cpu"),
    budget_s: float = 1.0,
    min_repeats: int = 3,
    max_repeats: int = 50,
    warmup: int = 1,
) -> dict:
    """Median seconds of ``fn()`` → {"median_s", "min_s", "repeats"}."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "repeats": len(times)}


def peak_memory(fn: Callable[[], object], device: torch.device = torch.device("cpu")) -> int:
    """Peak bytes of tensor memory allocated while ``fn()`` runs (see the module docstring)."""
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]" and e.device_type().name == "CPU"]
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return info


def write_json(name: str, payload: dict, out: Path | None, quick: bool) -> Path:
    """Write ``payload`` (plus the machine and the mode) to ``<out>/<name>.json``."""
    folder = out or (QUICK_DIR if quick else RESULTS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    data = {"benchmark": name, "quick": quick, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(), **payload}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{int(n)} B"


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def table(rows: Sequence[dict], columns: Sequence[tuple[str, str]]) -> str:
    """Plain-text table (also valid Markdown) of ``rows`` with (header, key) ``columns``."""
    cells = [[str(row.get(key, "")) for _, key in columns] for row in rows]
    headers = [h for h, _ in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in cells])
