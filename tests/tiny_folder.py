"""A tiny image folder of random PNGs for tests that must not read the real data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def make_image_folder(root: Path, classes: int = 10, per_class: int = 4, size: int = 32,
                      splits: tuple[str, ...] = ("train", "val"), seed: int = 0) -> Path:
    """``root/<split>/class<k>/<i>.png``: ``per_class`` random ``size``×``size`` RGB images a class."""
    rng = np.random.default_rng(seed)
    for split in splits:
        for k in range(classes):
            folder = Path(root) / split / f"class{k}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return Path(root)
