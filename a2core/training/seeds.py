"""Runs of one arch that differ only in the seed: the spread one run's accuracy hides.

The zoo ships one run per arch as ``WEIGHTS/<arch>.safetensors``. Further runs of
the same recipe with another seed live in ``WEIGHTS/seeds/seed<k>/``, laid out as

    python -m a2core.training.train --arch a2_resnet --seed 1 --out assets/weights/seeds/seed1

writes them (weights, and the log under ``logs/``). Where an arch has several
runs, the shipped one is the run with the **median** val top-1, not the best:
the best of several runs is an optimistic figure for the recipe, the median a
typical one.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..weights import WEIGHTS_DIR, read_meta

SEEDS_SUBDIR = "seeds"


@dataclass(frozen=True)
class SeedRun:
    """One training run of ``arch``: its weight file, its seed, and the float32 val top-1 it recorded."""

    arch: str
    seed: int
    path: Path
    val_accuracy: float
    shipped: bool


def seed_runs(arch: str, weights_dir: str | Path = WEIGHTS_DIR) -> list[SeedRun]:
    """The shipped run of ``arch`` and its runs under ``weights_dir/seeds/seed*/``, ordered by seed."""
    weights_dir = Path(weights_dir)
    shipped = weights_dir / f"{arch}.safetensors"
    paths = [shipped] if shipped.is_file() else []
    paths += sorted((weights_dir / SEEDS_SUBDIR).glob(f"seed*/{arch}.safetensors"))
    runs = []
    for path in paths:
        meta = read_meta(path)
        runs.append(SeedRun(arch, int(meta.recipe["seed"]), path, meta.val_accuracy, path == shipped))
    return sorted(runs, key=lambda r: r.seed)


def recipe_without_seed(recipe: dict) -> dict:
    """What makes two runs the same recipe: everything but the seed."""
    return {k: v for k, v in recipe.items() if k != "seed"}


def median_index(accuracies: Sequence[float]) -> int:
    """Index of the median of ``accuracies`` (of the lower middle one when their count is even)."""
    if not accuracies:
        raise ValueError("no accuracies")
    order = sorted(range(len(accuracies)), key=lambda i: accuracies[i])
    return order[(len(order) - 1) // 2]


def spread(accuracies: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single run)."""
    sd = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    return statistics.fmean(accuracies), sd
