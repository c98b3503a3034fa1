"""From any PIL image to the network's input tensor.

Training, the command line and the app all go through :func:`preprocess`, so a
photo from a phone is seen by the model the way the training images were.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps

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


#: What the app reads; anything else (TIFF, PSD, ICO, …) is refused at the door, parsers and all.
#: An MPO (a phone's JPEG with a second picture) opens through the JPEG plugin.
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF")
#: Said with the picture when its EXIF block cannot be read.
DAMAGED_EXIF = "Its EXIF block is damaged, so its orientation is unknown: it is shown as stored."
#: EXIF orientation → the transpose that makes the picture upright (``ImageOps.exif_transpose``'s table).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: Bytes of RGBA converted at a time: a full-size converted copy never exists.
_STRIP_BYTES = 4 * 2**20
#: Pillow decodes WebP through libwebp's animation decoder: the canvas, the frame's bytes and the image
#: make about 15 bytes a pixel (979 MiB for 64 million, bench/hostile.py), so WebP gets a smaller budget.
MAX_PIXELS_BY_FORMAT = {"WEBP": 24_000_000}


@dataclass(frozen=True)
class Decoded:
    """A picture as the app keeps it: upright 8-bit RGB, at most the size it needs, with no metadata left.

    notes: what the user should know about the file (a damaged EXIF block ignored), in plain words.
    """

    image: Image.Image
    notes: tuple[str, ...] = ()


def load_image(data: bytes, min_side: int = MIN_SIDE, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode uploaded bytes into an upright RGB image, or raise :class:`ImageError` (:func:`decode`'s picture)."""
    return decode(data, min_side, max_pixels).image


def decode(data: bytes, min_side: int = MIN_SIDE, max_pixels: int = MAX_PIXELS, side: int = DRAFT_SIDE) -> Decoded:
    """Decode uploaded bytes into an upright RGB picture whose shorter side is about ``side`` px at most,
    or raise :class:`ImageError`.

    The size is checked from the header, so a decompression bomb is refused
    before its pixels are allocated (Pillow itself refuses anything above
    twice ``Image.MAX_IMAGE_PIXELS`` on open); then the image is decoded
    fully, so a truncated file fails here and not later inside the model.
    Large JPEGs decode at a reduced DCT scale; other large images are box-averaged
    (``Image.reduce``) strip by strip as they are converted, so besides the decoded
    pixels no full-size copy is made (sides still ≥ ``side``). Metadata is read once,
    here: the EXIF orientation is applied (a damaged block leaves the picture as
    stored, with a note), and the picture returned carries none (no EXIF, ICC or text),
    so nothing downstream parses the file's metadata again. Any mode (CMYK, 16-bit,
    palette, RGBA) and the first frame of an animation are handled as in :func:`to_rgb`.
    """
    if not data:
        raise ImageError("The file is empty.")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(
                    f"The image claims {width} × {height} pixels, more than the {max_pixels / 1e6:.0f} million this "
                    "app decodes (a decompression bomb?). Please upload a smaller picture."
                )
            budget = MAX_PIXELS_BY_FORMAT.get(image.format, max_pixels)
            if width * height > budget:
                raise ImageError(
                    f"The image has {width} × {height} pixels; {image.format} images this app decodes have at most "
                    f"{budget / 1e6:.0f} million (decoding one takes several copies of it). Please upload a "
                    "smaller picture, or a JPEG or PNG."
                )
            if getattr(image, "is_animated", False):
                image.seek(0)
            image.draft(None, (side, side))  # JPEG only; a no-op for other formats
            image.load()
            transpose, notes = _orientation(image)
            rgb = _rgb(image, max(1, min(image.size) // side))
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
        raise ImageError(f"The image file is truncated or corrupt ({_short(error)}).") from None
    except MemoryError:
        raise ImageError("The server has no memory left to decode this image now; please try again.") from None
    except Exception as error:  # noqa: BLE001
        # Pillow's parsers meet hostile bytes with whatever the parsing code raises (struct.error,
        # IndexError, …): every one of them means the same to the user, a damaged file.
        raise ImageError(f"The image file is damaged ({type(error).__name__}).") from None
    if transpose is not None:
        rgb = rgb.transpose(transpose)
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
    return Decoded(rgb, notes)


def _short(error: Exception, limit: int = 120) -> str:
    # Pillow's messages can quote the file's own bytes: only a line of them reaches the user.
    text = str(error)
    return text if len(text) <= limit else text[:limit] + "…"


def _orientation(image: Image.Image) -> tuple[Image.Transpose | None, tuple[str, ...]]:
    """The transpose that makes ``image`` upright (None: as stored), and a note when its EXIF cannot be read."""
    # Read afresh from the blocks themselves: Pillow's JPEG plugin parses EXIF on open, swallows the error
    # and then answers "no EXIF" where the next copy of the image raises.
    blank = Image.new("1", (1, 1))
    blank.info = dict(image.info)
    try:
        value = blank.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001
        # A damaged EXIF (or XMP) block: Pillow's TIFF parser raises SyntaxError, struct.error, … on it.
        # The pixels are fine; only the orientation is unknown.
        return None, (DAMAGED_EXIF,)
    return _UPRIGHT.get(value) if isinstance(value, int) else None, ()


def to_rgb(image: Image.Image) -> Image.Image:
    """An upright 8-bit RGB copy of ``image``, whatever its mode.

    EXIF orientation is applied (a damaged EXIF block is ignored: the image stays as stored);
    animations give their first frame; transparency is composited over white; 16- and 32-bit
    greyscale is rescaled to its own range instead of being clipped at 255.
    """
    if getattr(image, "is_animated", False):
        image.seek(0)
    image.load()
    transpose, _ = _orientation(image)
    rgb = _rgb(image, 1)
    return rgb.transpose(transpose) if transpose is not None else rgb


def _rgb(image: Image.Image, factor: int) -> Image.Image:
    """``image`` (any mode, as stored) → 8-bit RGB, box-averaged by ``factor`` (``Image.reduce``).

    Converted strip by strip, each reduced before the next is made: the only full-size pixels are the
    image's own. Averaging after compositing over white keeps edges of transparent areas free of the
    colours hidden under alpha = 0.
    """
    width, height = image.size
    span = None
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        span = image.getextrema()  # the whole image's range, not each strip's
    rows = factor * max(1, _STRIP_BYTES // (4 * width * factor))
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        strip = _strip_rgb(image.crop((0, top, width, min(height, top + rows))), span)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return out


def _strip_rgb(image: Image.Image, span: tuple | None) -> Image.Image:
    # One strip's conversion (see _rgb): 16/32-bit greyscale rescaled to the whole image's span.
    if span is not None:
        lo, hi = float(span[0]), float(span[1])
        arr = np.asarray(image, dtype=np.float64)
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
