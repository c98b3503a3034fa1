"""Awkward image files, generated in memory, shared by the image and the app tests.

BAD: name → (bytes, a word the user's error message must contain).
ODD: name → (bytes, check(rgb PIL image)) for files that must simply work.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def picture(width: int = 48, height: int = 40) -> Image.Image:
    """A smooth colourful RGB test picture (not flat, so models and codecs have something to chew on)."""
    y, x = np.mgrid[0:height, 0:width]
    arr = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels: a decompression bomb's signature."""
    data = bytearray(encode(Image.new("L", (8, 8)), "PNG"))
    # IHDR payload starts after the 8-byte signature, 4-byte length and 4-byte type.
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _bad_cases() -> dict[str, tuple[bytes, str]]:
    jpeg = encode(picture(64, 64), "JPEG", quality=90)
    png = encode(picture(64, 64), "PNG")
    # A readable header but scrambled pixel data: the failure shows only when decoding.
    start = png.index(b"IDAT") + 4 + 10
    corrupt = png[:start] + bytes(range(7, 207)) + png[start + 200:]
    return {
        "empty.png": (b"", "empty"),
        "notes.png": (b"these are lecture notes, not a picture\n" * 20, "not an image"),
        "cut_header.png": (png[:40], "not an image"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "truncated"),
        "corrupt.png": (corrupt, "corrupt"),
        "bomb.png": (png_claiming(30_000, 30_000), "bomb"),
        "large_claim.png": (png_claiming(9_000, 9_000), "bomb"),
        "one_pixel.png": (encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"), "1 × 1"),
        "strip.png": (encode(Image.new("RGB", (20_000, 20), (10, 200, 10)), "PNG"), "strip"),
    }


def _exif_rotated() -> bytes:
    # Stored landscape 40 × 24 with orientation 6: shown upright it is portrait 24 × 40.
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(picture(40, 24), "JPEG", exif=exif.tobytes())


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (32, 32), (255, 0, 0)), Image.new("RGB", (32, 32), (0, 0, 255))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _sixteen_bit() -> bytes:
    ramp = (np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) * 60).astype(np.uint16)  # 0 … 61380
    return encode(Image.fromarray(ramp), "PNG")


def _rgba() -> bytes:
    arr = np.zeros((32, 32, 4), np.uint8)
    arr[..., 0] = 255
    arr[:, 16:, 3] = 255  # left half fully transparent
    return encode(Image.fromarray(arr, "RGBA"), "PNG")


def _palette() -> bytes:
    return encode(picture(32, 32).convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG")


def _cmyk() -> bytes:
    return encode(Image.new("CMYK", (32, 32), (0, 0, 0, 0)), "JPEG", quality=95)


def _check_exif(rgb):
    assert rgb.size == (24, 40)


def _check_gif(rgb):
    r, g, b = rgb.getpixel((16, 16))
    assert r > 200 and b < 50  # the first (red) frame


def _check_16bit(rgb):
    arr = np.asarray(rgb)
    assert arr.min() == 0 and arr.max() == 255  # rescaled to its own range, not clipped


def _check_rgba(rgb):
    assert rgb.getpixel((2, 2)) == (255, 255, 255)  # transparent → white
    assert rgb.getpixel((30, 2)) == (255, 0, 0)


def _check_palette(rgb):
    assert rgb.mode == "RGB" and len(np.unique(np.asarray(rgb).reshape(-1, 3), axis=0)) > 1


def _check_cmyk(rgb):
    assert min(rgb.getpixel((16, 16))) > 230  # no ink is white


def _check_picture(rgb):
    assert rgb.size == (48, 40)
    assert np.array_equal(np.asarray(rgb), np.asarray(picture()))  # lossless formats round-trip exactly


def _odd_cases():
    return {
        "exif_rotated.jpg": (_exif_rotated(), _check_exif),
        "animated.gif": (_animated_gif(), _check_gif),
        "sixteen_bit.png": (_sixteen_bit(), _check_16bit),
        "rgba.png": (_rgba(), _check_rgba),
        "palette.png": (_palette(), _check_palette),
        "cmyk.jpg": (_cmyk(), _check_cmyk),
        "picture.webp": (encode(picture(), "WEBP", lossless=True), _check_picture),
        "picture.bmp": (encode(picture(), "BMP"), _check_picture),
    }


BAD = _bad_cases()
ODD = _odd_cases()
MIME = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "bmp": "image/bmp",
        "txt": "text/plain"}


def mime(name: str) -> str:
    return MIME[name.rsplit(".", 1)[-1]]


#: A real photo (an Imagenette validation sample, 224 × 224 JPEG) for the hostile cases.
PHOTO = (Path(__file__).resolve().parents[1] / "assets" / "samples" / "imagenette" / "tench"
         / "ILSVRC2012_val_00009111.jpg")


def with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """``jpeg`` with one more APP1 segment carrying ``payload`` right after its SOI marker."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def junk_exif_jpeg() -> bytes:
    """A real photo with one 20-byte APP1 "Exif" segment of junk: a header that is no TIFF header."""
    return with_app1(PHOTO.read_bytes(), b"Exif\0\0" + b"\xf9" * 14)
