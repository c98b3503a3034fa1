"""load_image: every awkward file is either decoded correctly or refused with a clear message."""

import io

import numpy as np
import pytest
from PIL import Image

from a2core.images import DRAFT_SIDE, ImageError, load_image, model_view, preprocess
from a2core.weights import ModelMeta
from tests.image_cases import BAD, ODD, encode, picture


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_raise_a_clear_image_error(name):
    data, word = BAD[name]
    with pytest.raises(ImageError) as info:
        load_image(data)
    assert word.lower() in str(info.value).lower()


@pytest.mark.parametrize("name", sorted(ODD))
def test_awkward_files_decode_to_upright_rgb(name):
    data, check = ODD[name]
    rgb = load_image(data)
    assert rgb.mode == "RGB"
    check(rgb)


def test_image_error_is_a_value_error():
    # Callers that already handle ValueError keep working.
    assert issubclass(ImageError, ValueError)


def test_bomb_is_refused_before_decoding(monkeypatch):
    # The pixel budget is checked from the header: load() must never run on a bomb.
    from PIL import ImageFile

    from tests.image_cases import png_claiming

    bomb = png_claiming(9_000, 9_000)

    def fail(self):
        raise AssertionError("decoded a decompression bomb")

    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)
    with pytest.raises(ImageError, match="bomb"):
        load_image(bomb)


def test_limits_are_parameters():
    data = encode(picture(48, 40), "PNG")
    assert load_image(data).size == (48, 40)
    with pytest.raises(ImageError, match="at least 64"):
        load_image(data, min_side=64)
    with pytest.raises(ImageError, match="bomb"):
        load_image(data, max_pixels=48 * 40 - 1)


def test_loaded_image_feeds_the_existing_pipeline():
    rgb = load_image(ODD["exif_rotated.jpg"][0])
    assert model_view(rgb, 32).size == (32, 32)
    meta = ModelMeta(arch="a2_resnet", classes=tuple("abcdefghij"))
    x = preprocess(rgb, meta, size=48)
    assert x.shape == (1, 3, 48, 48) and np.isfinite(x.numpy()).all()


def test_large_jpeg_decodes_at_a_reduced_scale_that_still_covers_the_view():
    pixels = np.zeros((3072, 4096, 3), dtype=np.uint8)
    pixels[:, 2048:] = (200, 30, 30)  # right half red: the view must still show it on the right
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    image = load_image(buffer.getvalue())
    assert DRAFT_SIDE <= min(image.size) and image.size[0] < 4096
    assert image.size[0] * 3 == image.size[1] * 4  # aspect kept
    view = np.asarray(model_view(image, 32)).astype(int)
    assert view[:, :14, 0].mean() < 20 and view[:, 18:, 0].mean() > 180


def test_a_damaged_exif_block_leaves_the_picture_as_stored_with_a_note():
    from PIL import ImageOps

    from a2core.images import DAMAGED_EXIF, decode, to_rgb
    from tests.image_cases import PHOTO, junk_exif_jpeg

    data = junk_exif_jpeg()
    with Image.open(io.BytesIO(data)) as raw:  # the bug as it was: Pillow's own transpose raises on it
        raw.load()
        with pytest.raises(SyntaxError):
            ImageOps.exif_transpose(raw.convert("RGB"))
    decoded = decode(data)
    assert decoded.notes == (DAMAGED_EXIF,)
    # as stored: the same pixels as the photo without the segment, which has no orientation of its own
    assert np.array_equal(np.asarray(decoded.image), np.asarray(Image.open(PHOTO).convert("RGB")))
    # no metadata travels on, so nothing downstream parses the block again
    assert "exif" not in decoded.image.info and not decoded.image.getexif()
    assert model_view(decoded.image, 160).size == (160, 160)
    with Image.open(io.BytesIO(data)) as raw:  # a PIL image opened elsewhere (training, scripts) as well
        assert to_rgb(raw).size == raw.size


def test_a_readable_orientation_is_applied_once_and_dropped():
    from a2core.images import decode

    decoded = decode(ODD["exif_rotated.jpg"][0])
    assert decoded.image.size == (24, 40) and decoded.notes == ()
    assert model_view(decoded.image, 32).size == (32, 32) and to_rgb_size(decoded.image) == (24, 40)


def to_rgb_size(image):
    from a2core.images import to_rgb

    return to_rgb(image).size


def test_other_formats_are_refused_at_the_door():
    tiff = encode(picture(), "TIFF")
    with pytest.raises(ImageError, match="not an image this app can read"):
        load_image(tiff)
