"""The shipped zoo at a glance: accuracy, size and cost of every model, and what attention adds.

Accuracy comes from each weight file's metadata (``val_accuracy``, written by
training); parameters and FLOPs are counted on the model itself, FLOPs with
``torch.utils.flop_counter`` (2 × multiply-adds, one image); latency is
measured on this machine. ``extra_*`` is the cost an arch's attention blocks
add to the plain ResNet-20.

    rows = zoo_rows()                    # one dict per shipped arch
"""

from __future__ import annotations

from pathlib import Path

from ..models import archs_with_weights, build
from ..weights import WEIGHTS_DIR, read_meta
from .measure import BASELINE, count_flops, count_params, measure_latency


def arch_cost(arch: str, size: int = 32, num_classes: int = 10, zoo: str = "cifar10") -> dict[str, int]:
    """{"params", "flops"} of ``arch`` of ``zoo`` (weights do not change either, so no file is needed)."""
    model = build(arch, num_classes=num_classes, zoo=zoo)
    return {"params": count_params(model), "flops": count_flops(model, size)}


def zoo_rows(
    weights_dir: str | Path = WEIGHTS_DIR, size: int = 32, latency_repeats: int = 0
) -> list[dict[str, object]]:
    """One row per arch with a weight file in ``weights_dir``, in :data:`~a2core.models.ALL_ARCHS` order.

    Keys: arch, val_accuracy (None when the file does not say), params, flops,
    extra_params and extra_flops over the plain ResNet, and latency_ms when
    ``latency_repeats`` > 0 (None otherwise).
    """
    weights_dir = Path(weights_dir)
    rows = []
    for arch in archs_with_weights(weights_dir):
        path = weights_dir / f"{arch}.safetensors"
        meta = read_meta(path)
        model = build(arch, num_classes=len(meta.classes), zoo=meta.zoo)
        rows.append(
            {
                "arch": arch,
                "val_accuracy": meta.val_accuracy,
                "params": count_params(model),
                "flops": count_flops(model, size),
                "latency_ms": measure_latency(model, size, warmup=1, repeats=latency_repeats) if latency_repeats > 0 else None,
            }
        )
    base = arch_cost(BASELINE, size, num_classes=len(meta.classes), zoo=meta.zoo) if rows else None
    for row in rows:
        row["extra_params"] = row["params"] - base["params"]
        row["extra_flops"] = row["flops"] - base["flops"]
    return rows
