"""Fuzzing the upload check: real photos with their metadata blocks (EXIF, ICC, XMP, text) and random byte
ranges corrupted. Every outcome is an upright RGB picture or an :class:`ImageError`, never another exception."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, PngImagePlugin

from a2core.images import DAMAGED_EXIF, ImageError, decode, model_view
from tests.image_cases import PHOTO

XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate
    exif[0x010F] = "Phone maker"
    exif[0x0131] = "Camera app 1.0"
    exif.get_ifd(0x8769)[0x9003] = "2024:01:01 12:00:00"  # a sub-IFD, so the parser follows an offset
    return exif.tobytes()


def _photos() -> dict[str, bytes]:
    """A few real photos as a phone or an editor writes them, metadata and all."""
    photo = Image.open(PHOTO).convert("RGB").crop((0, 0, 224, 168))  # landscape: the rotation shows
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = {}
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85, exif=_exif(), icc_profile=icc, comment=b"a comment",
               xmp=XMP)
    out["jpeg"] = buffer.getvalue()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "a text chunk")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    buffer = io.BytesIO()
    photo.resize((160, 120)).save(buffer, "PNG", pnginfo=info, exif=_exif(), icc_profile=icc)
    out["png"] = buffer.getvalue()
    buffer = io.BytesIO()
    photo.resize((120, 96)).save(buffer, "WEBP", quality=80, exif=_exif(), icc_profile=icc, xmp=XMP)
    out["webp"] = buffer.getvalue()
    return out


PHOTOS = _photos()


def jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of the payload of every marker segment before the scan."""
    found, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF and data[i + 1] != 0xDA:
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        found.append((i + 4, i + 2 + length))
        i += 2 + length
    return found


def png_chunks(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of the data of every chunk but IHDR, IDAT and IEND."""
    found, i = [], 8
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        if kind not in (b"IHDR", b"IDAT", b"IEND"):
            found.append((i + 8, i + 8 + length))
        i += 12 + length
    return found


def webp_chunks(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of the data of every RIFF chunk but the image's own (VP8, VP8L)."""
    found, i = [], 12
    while i + 8 <= len(data):
        kind, length = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])[0]
        if kind not in (b"VP8 ", b"VP8L"):
            found.append((i + 8, i + 8 + length))
        i += 8 + length + (length & 1)
    return found


SEGMENTS = {"jpeg": jpeg_segments(PHOTOS["jpeg"]), "png": png_chunks(PHOTOS["png"]),
            "webp": webp_chunks(PHOTOS["webp"])}


def _fix_png_crcs(data: bytearray) -> bytes:
    # A hostile file has valid checksums: recompute them, so the chunk's parser, not the CRC check, meets it.
    i = 8
    while i + 12 <= len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        if i + 12 + length > len(data):
            break
        data[i + 8 + length:i + 12 + length] = struct.pack(">I", zlib.crc32(bytes(data[i + 4:i + 8 + length])))
        i += 12 + length
    return bytes(data)


def outcome_is_a_picture_or_an_image_error(data: bytes) -> None:
    try:
        decoded = decode(data)
    except ImageError as error:
        assert str(error)
        return
    assert decoded.image.mode == "RGB" and min(decoded.image.size) >= 8
    assert all(isinstance(n, str) for n in decoded.notes)
    assert model_view(decoded.image, 32).size == (32, 32)  # and the page's next step takes it


def test_the_seeds_are_pictures_with_their_metadata():
    for kind, data in PHOTOS.items():
        decoded = decode(data)
        assert decoded.notes == () and decoded.image.size[1] > decoded.image.size[0], kind  # turned upright
        assert len(SEGMENTS[kind]) >= 3, kind  # EXIF, ICC, XMP at least


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@FUZZ
@given(kind=st.sampled_from(sorted(PHOTOS)), which=st.integers(0, 50), at=st.floats(0, 1),
       junk=st.binary(min_size=1, max_size=64), how=st.sampled_from(["overwrite", "truncate", "fill"]))
def test_corrupted_metadata_blocks(kind, which, at, junk, how):
    data = bytearray(PHOTOS[kind])
    start, end = SEGMENTS[kind][which % len(SEGMENTS[kind])]
    offset = start + int(at * max(0, end - start - 1))
    if how == "overwrite":  # junk written over part of the block
        data[offset:offset + len(junk)] = junk[:max(0, end - offset)]
    elif how == "fill":  # the whole rest of the block one repeated byte (0x00, 0xff: the parsers' edge values)
        data[offset:end] = bytes([junk[0]]) * (end - offset)
    else:  # the block cut short, its length fields left as they were
        del data[offset:end]
    outcome_is_a_picture_or_an_image_error(_fix_png_crcs(data) if kind == "png" else bytes(data))


@pytest.mark.slow
@FUZZ
@given(kind=st.sampled_from(sorted(PHOTOS)), at=st.floats(0, 1), junk=st.binary(min_size=1, max_size=256),
       cut=st.booleans())
def test_random_byte_ranges(kind, at, junk, cut):
    data = bytearray(PHOTOS[kind])
    offset = int(at * (len(data) - 1))
    if cut:
        del data[offset:offset + len(junk)]
    else:
        data[offset:offset + len(junk)] = junk
    outcome_is_a_picture_or_an_image_error(bytes(data))


def block_cases(kind: str):
    """Each metadata block with its first 0, 6, 12 or 29 bytes kept (the signatures "Exif\\0\\0", "ICC_PROFILE\\0",
    XMP's namespace; a chunk's own keyword) and the rest of its payload 0 … 24 bytes of 0xf9."""
    for start, end in SEGMENTS[kind]:
        for keep in (0, 6, 12, 29):
            for n in (0, 1, 2, 8, 14, 24):
                data = bytearray(PHOTOS[kind])
                head = data[start:min(end, start + keep)]
                data[start:end] = head + b"\xf9" * min(n, max(0, end - start - len(head)))
                yield _fix_png_crcs(data) if kind == "png" else bytes(data)


@pytest.mark.parametrize("kind", sorted(PHOTOS))
def test_every_block_replaced_by_junk_of_every_length(kind):
    for data in block_cases(kind):
        outcome_is_a_picture_or_an_image_error(data)


@pytest.mark.parametrize("n", [8, 14, 24, 200])
def test_a_damaged_exif_block_is_not_a_damaged_picture(n):
    # The EXIF block's signature kept, its TIFF data junk, the pixels intact: the photo is used as stored
    # (landscape, where its orientation would have turned it), with the note, not refused.
    data = bytearray(PHOTOS["jpeg"])
    (start, end), = [(a, b) for a, b in SEGMENTS["jpeg"] if data[a:a + 6] == b"Exif\0\0"]
    data[start + 6:end] = b"\xf9" * n
    data[start - 2:start] = struct.pack(">H", 2 + 6 + n)
    decoded = decode(bytes(data))
    assert decoded.notes == (DAMAGED_EXIF,) and decoded.image.size == (224, 168)
