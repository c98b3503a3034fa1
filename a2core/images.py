"""From any PIL image to the network's input tensor.

Training, the command line and the app all go through :func:`preprocess`, so a
photo from a phone is seen by the model the way the training images were.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageOps

_BACKGROUND = (255, 255, 255)

#: Images with more pixels are refused before decoding; an 8000 × 8000 photo still passes.
MAX_PIXELS = 64_000_000
#: The model needs a few pixels each way; smaller images carry no picture worth attending to.
MIN_SIDE = 8
#: JPEGs larger than this are decoded at a reduced DCT scale, still at least this many pixels a side:
#: twice the largest view the app offers (the photo zoo's 320 px). A 12-megapixel photo then decodes at a
#: quarter of its width (1008 × 756); what is left of its decoding time is mostly reading the file.
DRAFT_SIDE = 640
#: Strips like 20000 × 20 would be centre-cropped to almost nothing.
MAX_ASPECT = 20


class ImageError(ValueError):
    """Bytes that cannot be used as a picture; the message is meant for the user."""


def load_image(data: bytes, min_side: int = MIN_SIDE, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode uploaded bytes into an upright RGB image, or raise :class:`ImageError`.

    The size is checked from the header, so a decompression bomb is refused
    before its pixels are allocated (Pillow itself refuses anything above
    twice ``Image.MAX_IMAGE_PIXELS`` on open); then the image is decoded
    fully, so a truncated file fails here and not later inside the model.
    Large JPEGs decode at a reduced scale (sides still ≥ ``DRAFT_SIDE``).
    Any mode (CMYK, 16-bit, palette, RGBA), EXIF orientation and the first
    frame of an animation are handled by :func:`to_rgb`.
    """
    if not data:
        raise ImageError("The file is empty.")
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(
                f"The image claims {width} × {height} pixels, more than the {max_pixels / 1e6:.0f} million this "
                "app decodes (a decompression bomb?). Please upload a smaller picture."
            )
        image.draft(None, (DRAFT_SIDE, DRAFT_SIDE))  # JPEG only; a no-op for other formats
        image.load()
        rgb = to_rgb(image)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses on open, before our own check can read the size; its text speaks of DOS attacks.
        raise ImageError(
            f"The image claims far more than the {max_pixels / 1e6:.0f} million pixels this app decodes "
            "(a decompression bomb?). Please upload a smaller picture."
        ) from None
    except Image.UnidentifiedImageError:
        raise ImageError(
            "This file is not an image this app can read, or it is damaged; use JPEG, PNG, WebP, BMP or GIF."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"The image file is truncated or corrupt ({error}).") from None
    width, height = rgb.size
    if min(width, height) < min_side:
        raise ImageError(
            f"The image is only {width} × {height} pixels; it needs at least {min_side} pixels on each side."
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageError(
            f"The image is {width} × {height} pixels, a thin strip: the model looks at a square centre crop, "
            f"so the longer side may be at most {MAX_ASPECT}× the shorter."
        )
    return rgb


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
