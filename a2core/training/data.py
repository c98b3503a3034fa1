"""The image-folder data set (``split/<class>/*.jpg``) held in memory as uint8.

Both zoos' data sets are small (CIFAR-10: 50,000 × 3 × 32 × 32 bytes = 150 MB;
Imagenette's train split at 192 px: 1 GB), so every image is decoded once; an
epoch then costs only the augmentation, not thousands of JPEG decodes.

Class folders are named by class (``tench/``) or, as in fast.ai's Imagenette
archives, by ImageNet id (``n01440764/``); ids of Imagenette's classes are
mapped to the names, so both layouts give one class list.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm import tqdm

from .._compat import import_torchvision

import_torchvision()
from torchvision import transforms  # noqa: E402
from torchvision.transforms import v2  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}

#: Imagenette's ten ImageNet ids (fast.ai's folder names) → the class names A²Lens uses.
IMAGENETTE_CLASSES = {
    "n01440764": "tench", "n02102040": "English_springer", "n02979186": "cassette_player",
    "n03000684": "chain_saw", "n03028079": "church", "n03394916": "French_horn",
    "n03417042": "garbage_truck", "n03425413": "gas_pump", "n03445777": "golf_ball",
    "n03888257": "parachute",
}
_IMAGENETTE_IDS = {name: wnid for wnid, name in IMAGENETTE_CLASSES.items()}


def class_names(root: str | Path) -> tuple[str, ...]:
    """Sorted class names of a split folder (folders named by an Imagenette id count under its name)."""
    names = sorted(IMAGENETTE_CLASSES.get(p.name, p.name) for p in Path(root).iterdir() if p.is_dir())
    if not names:
        raise FileNotFoundError(f"{root} has no class folders (expected {root}/<class>/*.jpg)")
    return tuple(names)


def class_folder(root: str | Path, name: str) -> Path:
    """The folder of class ``name`` under ``root``: ``root/name``, or ``root/<ImageNet id>`` in fast.ai's layout."""
    folder = Path(root) / name
    if not folder.is_dir() and name in _IMAGENETTE_IDS:
        folder = Path(root) / _IMAGENETTE_IDS[name]
    if not folder.is_dir():
        raise FileNotFoundError(f"{root} has no folder for class {name!r}")
    return folder


def list_images(root: str | Path, classes: tuple[str, ...], limit: int | None = None):
    """[(path, label)] in a fixed order; ``limit`` keeps the first few of each class."""
    items = []
    for label, name in enumerate(classes):
        folder = class_folder(root, name)
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        items += [(p, label) for p in files[:limit]]
    return items


class ImageFolderTensors(Dataset):
    """A split folder decoded into (N, 3, S, S) uint8 images and (N,) labels.

    Args:
        root: the split folder, e.g. ``data/cifar10/train``.
        size: images are centre-cropped to a square and resized to ``size``×``size`` when they differ
            (the app's view of a photo, :func:`a2core.images.model_view`).
        transform: per-sample ``transforms.v2`` pipeline on the uint8 tensor.
        limit: keep only the first ``limit`` images of each class.
    """

    def __init__(self, root, size: int = 32, transform=None, limit: int | None = None,
                 classes: tuple[str, ...] | None = None, progress: bool = True):
        from ..images import model_view

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


def random_resized_crops(images: torch.Tensor, size: int, scale: tuple[float, float] = (0.35, 1.0),
                         ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> torch.Tensor:
    """Inception-style random crops of a (N, C, H, W) uint8 batch, each resized to ``size``×``size``.

    Each image gets its own crop (area ``scale`` of the image, aspect ``ratio``),
    drawn from torch's global RNG like ``transforms.RandomResizedCrop``, and is
    resized with antialiasing. Done on the batch, not in the data set, so the
    output size can change between epochs (progressive sizing) without the
    loader's worker processes having to know.
    """
    crops = []
    for image in images:
        top, left, height, width = transforms.RandomResizedCrop.get_params(image, list(scale), list(ratio))
        crops.append(v2.functional.resized_crop(image, top, left, height, width, [size, size], antialias=True))
    return torch.stack(crops)


def train_augmentation(size: int = 32, crop: str = "window") -> v2.Compose:
    """The per-image augmentation of the data set.

    ``crop="window"`` (CIFAR-10): a 4-pixel reflect-padded random crop and a horizontal flip.
    ``crop="resized"`` (photos): the flip only; :func:`random_resized_crops` crops the batch.
    """
    if crop == "resized":
        return v2.Compose([v2.RandomHorizontalFlip()])
    return v2.Compose([v2.RandomCrop(size, padding=size // 8, padding_mode="reflect"),
                       v2.RandomHorizontalFlip()])
