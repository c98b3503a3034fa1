"""The image-folder data set (``split/<class>/*.jpg``) held in memory as uint8.

CIFAR-10 is small (50,000 × 3 × 32 × 32 bytes = 150 MB), so every image is
decoded once; an epoch then costs only the augmentation, not 50,000 JPEG
decodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm import tqdm

from ._compat import import_torchvision

import_torchvision()
from torchvision.transforms import v2  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def class_names(root: str | Path) -> tuple[str, ...]:
    """Sorted class folder names of a split folder."""
    names = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
    if not names:
        raise FileNotFoundError(f"{root} has no class folders (expected {root}/<class>/*.jpg)")
    return tuple(names)


def list_images(root: str | Path, classes: tuple[str, ...], limit: int | None = None):
    """[(path, label)] in a fixed order; ``limit`` keeps the first few of each class."""
    items = []
    for label, name in enumerate(classes):
        files = sorted(p for p in (Path(root) / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        items += [(p, label) for p in files[:limit]]
    return items


class ImageFolderTensors(Dataset):
    """A split folder decoded into (N, 3, S, S) uint8 images and (N,) labels.

    Args:
        root: the split folder, e.g. ``data/cifar10/train``.
        size: images are centre-cropped and resized to ``size``×``size`` when they differ.
        transform: per-sample ``transforms.v2`` pipeline on the uint8 tensor.
        limit: keep only the first ``limit`` images of each class.
    """

    def __init__(self, root, size: int = 32, transform=None, limit: int | None = None,
                 classes: tuple[str, ...] | None = None, progress: bool = True):
        from .images import model_view

        self.classes = classes or class_names(root)
        items = list_images(root, self.classes, limit)
        images = np.empty((len(items), size, size, 3), dtype=np.uint8)
        for i, (path, _) in enumerate(tqdm(items, desc=f"decode {Path(root).name}", disable=not progress,
                                           leave=False)):
            with Image.open(path) as im:
                images[i] = np.asarray(model_view(im, size) if im.size != (size, size) else im.convert("RGB"))
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
        self.labels = torch.tensor([label for _, label in items], dtype=torch.long)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[index]


def random_windows(images: torch.Tensor, size: int) -> torch.Tensor:
    """A ``size``×``size`` window of every image of a (N, C, H, W) batch, each at its own random place.

    Returns (N, C, size, size). Progressive sizing trains the early epochs on these: a
    smaller input costs fewer FLOPs, and unlike resizing, a window keeps objects at the
    scale the model meets at test time.
    """
    n, _, height, width = images.shape
    if not (0 < size <= min(height, width)):
        raise ValueError(f"a {size}-pixel window does not fit {height}×{width} images")
    top = torch.randint(0, height - size + 1, (n,)).tolist()
    left = torch.randint(0, width - size + 1, (n,)).tolist()
    return torch.stack([im[:, t:t + size, l:l + size] for im, t, l in zip(images, top, left)])


def train_augmentation(size: int = 32) -> v2.Compose:
    """The standard CIFAR augmentation: 4-pixel reflect-padded random crop and horizontal flip."""
    return v2.Compose([v2.RandomCrop(size, padding=size // 8, padding_mode="reflect"),
                       v2.RandomHorizontalFlip()])
