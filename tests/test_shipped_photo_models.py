"""The photo zoo's shipped weights (assets/weights/imagenette/<arch>.safetensors, issue 18): every arch
that has landed loads, says what it is, meets the zoo's 85 % target and classifies real photos; the
A²-ResNet's gathering maps carry information on them.

The photos are the bundled Imagenette val samples (assets/samples/imagenette/<class>/*.jpg, two per
class), so this needs no data set. The zoo lands arch by arch: the A² tests are skipped, saying why,
only while its weight file is not shipped, and the per-arch tests cover the archs that have landed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

import a2core
from a2core.training.measure import shipped_archs
from a2core.models import default_path, zoo_dir
from tests.gathering_checks import assert_sharp_and_distinct, gathering_report

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples" / "imagenette"
WEIGHTS = default_path("a2_resnet", zoo="imagenette")
ARCHS = shipped_archs(zoo_dir("imagenette"))

needs_a2 = pytest.mark.skipif(
    not WEIGHTS.is_file(), reason=f"the photo zoo's A²-ResNet is still in training: {WEIGHTS} is not shipped yet"
)


def _photos() -> list[Path]:
    photos = sorted(SAMPLES.glob("*/*.jpg"))
    assert len(photos) == 20
    return photos


@pytest.fixture(scope="module")
def photo_maps():
    model = a2core.load_pretrained("a2_resnet", zoo="imagenette")
    x = torch.cat([a2core.preprocess(Image.open(p), model.meta) for p in _photos()])
    return model, a2core.attention_maps(model, x)[1]


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_shipped_photo_model_meets_the_zoo_target_and_classifies_the_samples(arch):
    model = a2core.load_pretrained(arch, zoo="imagenette")
    meta = model.meta
    assert meta.arch == arch and meta.zoo == "imagenette" and meta.input_size == 160
    assert len(meta.classes) == 10 and "golf_ball" in meta.classes
    assert meta.recipe["epochs"] == 40 and isinstance(meta.recipe["seed"], int)
    # the floor for every arch of the zoo, on the 1,966 val photos at the end of training
    assert meta.val_accuracy >= 0.85, f"{arch}: val top-1 {meta.val_accuracy:.2%}"
    photos = _photos()
    x = torch.cat([a2core.preprocess(Image.open(p), meta) for p in photos])
    labels = torch.tensor([meta.classes.index(p.parent.name) for p in photos])
    with torch.no_grad():
        right = model(x).argmax(1) == labels
    assert right.float().mean() >= 0.85, [str(p.relative_to(SAMPLES)) for p, ok in zip(photos, right) if not ok]


@pytest.mark.slow
@needs_a2
def test_the_shipped_photo_a2_resnet_is_the_photo_zoos(photo_maps):
    model, maps = photo_maps
    assert model.meta.zoo == "imagenette" and model.meta.input_size >= 160
    # A² in res3 and res4; the finest maps at least 20×20 at the trained size
    assert set(maps) == {"layer2.1.attn", "layer3.1.attn"}
    assert min(maps["layer2.1.attn"].gather.shape[-2:]) >= 20


@pytest.mark.slow
@needs_a2
def test_photo_a2_gathering_maps_are_sharp_and_distinct(photo_maps):
    _, maps = photo_maps
    print(gathering_report(maps))  # the figures, for the model card (pytest -s)
    assert_sharp_and_distinct(maps)
