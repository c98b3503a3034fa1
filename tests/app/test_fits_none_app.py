"""The "fits none" flag on the pages: the zoo's calibrated rule, the one line on what it means and cannot
promise, and the uncalibrated top-1 rule where a source has no rule (a zoo folder without one, "your model")."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from a2core.probe.fits import fits_none, read_rule
from tests.app.pages import open_page
from bench.zoo_weights import weights_folder

pytestmark = pytest.mark.slow  # AppTest page runs, a second or more each (--durations)

SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"
DEFAULT_PHOTO = SAMPLES / "imagenette" / "English_springer" / "ILSVRC2012_val_00008162.jpg"


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


#: a plain white card: the shipped rule flags it (checked in the test, independently of the page)
WHITE = png(Image.new("RGB", (300, 200), "white"))


def about_lines(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("“Fits none”")]


def fits_warnings(at) -> list[str]:
    return [w.value for w in at.warning if "fits none of the" in w.value]


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch):
    monkeypatch.delenv("A2LENS_WEIGHTS", raising=False)


def test_explore_says_what_the_flag_means_and_cannot_promise():
    rule = read_rule("imagenette")
    (shipped,) = [r for r in rule.report["rows"] if r["score"].startswith("shipped") and r["size"] == 160]
    at = open_page(zoo="imagenette")
    assert not at.exception
    (about,) = about_lines(at)
    assert "the zoo's 7 models together" in about and "at most 5% of in-class photos" in about
    assert f"caught {shipped['foreign']:.0%} of 330 photos of other ImageNet classes" in about
    assert "cannot promise" in about
    assert not fits_none(Image.open(DEFAULT_PHOTO)) and not fits_warnings(at)  # the springer sample fits


def test_a_photo_the_zoo_flags_gets_the_warning_on_explore_and_compare():
    assert fits_none(Image.open(io.BytesIO(WHITE)))
    at = open_page(zoo="imagenette")
    at.file_uploader[0].upload("white.png", WHITE, "image/png").run()
    assert not at.exception
    (warning,) = fits_warnings(at)
    assert "the zoo's 7 models together find no class like it" in warning
    # the flag is the photo's: the same at every view size
    at.select_slider(key="explore_size_imagenette").set_value(320).run()
    assert len(fits_warnings(at)) == 1 and len(about_lines(at)) == 1
    at.switch_page("views/compare.py").run()
    if not fits_warnings(at):  # the upload may not follow the user to Compare: give it there too
        at.file_uploader[0].upload("white.png", WHITE, "image/png").run()
    assert not at.exception
    assert len(fits_warnings(at)) == 1 and len(about_lines(at)) == 1  # once for all the cards


def test_a_zoo_without_a_rule_keeps_the_top1_rule_and_says_it_is_uncalibrated(tmp_path, monkeypatch):
    # a photo zoo of random models and no fits_none.json: the old rule, said to be uncalibrated
    monkeypatch.setenv("A2LENS_WEIGHTS", str(weights_folder(tmp_path, photo_archs=["a2_resnet"], uniform=True)))
    at = open_page(zoo="imagenette")
    assert not at.exception
    (about,) = about_lines(at)
    assert "this model's top class gets under 50%" in about and "uncalibrated" in about
    (warning,) = fits_warnings(at)  # every class gets 10 %
    assert "10%" in warning
