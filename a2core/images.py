"""From any PIL image to the network's input tensor.

Training, the command line and the app all go through :func:`preprocess`, so a
photo from a phone is seen by the model the way the training images were.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageOps

_BACKGROUND = (255, 255, 255)


def to_rgb(image: Image.Image) -> Image.Image:
    """An upright 8-bit RGB copy of ``image``, whatever its mode.

    EXIF orientation is applied; animations give their first frame;
    transparency is composited over white; 16- and 32-bit greyscale is
    rescaled to its own range instead of being clipped at 255.
    """
    if getattr(image, "is_animated", False):
        image.seek(0)
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(arr)
        image = Image.fromarray(arr.round().astype(np.uint8), mode="L")
    if image.mode == "P" or image.mode in ("LA", "PA", "RGBA", "La", "RGBa"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, _BACKGROUND + (255,))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB")


def model_view(image: Image.Image, size: int) -> Image.Image:
    """The square ``size``×``size`` RGB crop the model sees (centre crop, bicubic resize).

    Attention maps are laid over this image, so it is what the app shows.
    """
    return ImageOps.fit(to_rgb(image), (size, size), method=Image.Resampling.BICUBIC)


def to_tensor(image: Image.Image, mean, std) -> torch.Tensor:
    """RGB PIL image → normalised (3, H, W) float tensor."""
    arr = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)
    return normalize(arr, mean, std)


def normalize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 (…, 3, H, W) → float, scaled to [0, 1] and standardised per channel."""
    mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return (images.float() / 255 - mean) / std


def preprocess(image: Image.Image, meta, size: int | None = None) -> torch.Tensor:
    """PIL image of any mode, size or orientation → (1, 3, S, S) normalised tensor.

    ``meta`` supplies ``input_size``, ``mean`` and ``std``; ``size`` overrides the size.
    """
    view = model_view(image, size or meta.input_size)
    return to_tensor(view, meta.mean, meta.std).unsqueeze(0)
