"""CPU latency, throughput, FLOPs and parameters of every model of a zoo.

    python -m bench.models            # CIFAR-10 zoo: 32 and 64 px, batch 1 and 32, writes bench/results/models.json (~1 min)
    python -m bench.models --zoo imagenette   # photo zoo: 160 and 224 px, writes bench/results/models_imagenette.json
    python -m bench.models --quick    # the smallest size, batch 1 and 2, one call each, writes bench/results/quick/

Each arch of ``a2core.ARCHS`` is loaded with ``a2core.load_pretrained`` when
the zoo's weight file (``assets/weights/[<zoo>/]<arch>.safetensors``) exists, and built with random weights
otherwise (the ``weights`` column says which; speed does not depend on the
values). Latency is the median time of one forward pass (eval, no grad) of a
batch; per-image latency and throughput divide it by the batch size. FLOPs
(2 × multiply-adds, torch.utils.flop_counter) are per image.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

import a2core
from a2core.models import ZOOS
from a2core.training.measure import count_flops, count_params
from a2core.models import default_path
from bench._util import median_time, parser, table, write_json

#: input sizes per zoo: the trained size and a larger one
RESOLUTIONS = {"cifar10": (32, 64), "imagenette": (160, 224)}
FULL = {"batches": (1, 32), "budget_s": 1.0, "min_repeats": 5, "warmup": 1}
QUICK = {"batches": (1, 2), "budget_s": 0.0, "min_repeats": 1, "warmup": 0}


def load(arch: str, zoo: str = "cifar10") -> tuple[torch.nn.Module, str]:
    """The shipped model of ``zoo``, or a randomly initialised one when no weights are shipped."""
    if default_path(arch, zoo).is_file():
        return a2core.load_pretrained(arch, zoo=zoo), "shipped"
    return a2core.build(arch, zoo=zoo).eval(), "random (no shipped weights)"


def run(config: dict) -> list[dict]:
    rows = []
    cpu = torch.device("cpu")
    for arch in a2core.ARCHS:
        model, weights = load(arch, config["zoo"])
        params = count_params(model)
        for size in config["resolutions"]:
            flops = count_flops(model, size)
            for batch in config["batches"]:
                x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))

                def forward():
                    with torch.no_grad():
                        return model(x)

                timing = median_time(forward, cpu, budget_s=config["budget_s"], min_repeats=config["min_repeats"],
                                     warmup=config["warmup"])
                rows.append({
                    "arch": arch, "weights": weights, "size": size, "batch": batch, "params": params,
                    "flops_per_image": flops, "batch_latency_s": timing["median_s"],
                    "latency_per_image_s": timing["median_s"] / batch,
                    "images_per_s": batch / timing["median_s"], "repeats": timing["repeats"],
                })
    return rows


def show(rows: list[dict]) -> None:
    shown = [{**r, "params_k": f"{r['params'] / 1e3:.1f}", "mflops": f"{r['flops_per_image'] / 1e6:.2f}",
              "batch_ms": f"{r['batch_latency_s'] * 1e3:.2f}", "image_ms": f"{r['latency_per_image_s'] * 1e3:.3f}",
              "ips": f"{r['images_per_s']:.0f}"} for r in rows]
    print(table(shown, [("arch", "arch"), ("px", "size"), ("batch", "batch"), ("params (k)", "params_k"),
                        ("MFLOPs / image", "mflops"), ("batch ms", "batch_ms"), ("ms / image", "image_ms"),
                        ("images / s", "ips"), ("weights", "weights")]))


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--zoo", choices=ZOOS, default="cifar10")
    args = p.parse_args(argv)
    sizes = RESOLUTIONS[args.zoo]
    config = {**(QUICK if args.quick else FULL), "zoo": args.zoo, "resolutions": sizes[:1] if args.quick else sizes}
    torch.set_grad_enabled(False)
    rows = run(config)
    name = "models" if args.zoo == "cifar10" else f"models_{args.zoo}"
    path = write_json(name, {"config": config, "rows": rows}, args.out, args.quick)
    show(rows)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
