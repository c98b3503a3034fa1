"""The photo zoo's shipped A²-ResNet (assets/weights/imagenette/a2_resnet.safetensors): its gathering maps
carry information on real photos (issue 18).

The photos are the bundled Imagenette val samples (assets/samples/imagenette/<class>/*.jpg, two per
class), so this needs no data set. Skipped, saying why, only while the weight file is not shipped;
``python3 -m pytest tests/test_shipped_photo_models.py`` runs it once it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

import a2core
from a2core.weights import default_path
from tests.gathering_checks import assert_sharp_and_distinct, gathering_report

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples" / "imagenette"
WEIGHTS = default_path("a2_resnet", zoo="imagenette")

pytestmark = pytest.mark.skipif(
    not WEIGHTS.is_file(), reason=f"the photo zoo's A²-ResNet is still in training: {WEIGHTS} is not shipped yet"
)


@pytest.fixture(scope="module")
def photo_maps():
    model = a2core.load_pretrained("a2_resnet", zoo="imagenette")
    photos = sorted(SAMPLES.glob("*/*.jpg"))
    assert len(photos) == 20
    x = torch.cat([a2core.preprocess(Image.open(p), model.meta) for p in photos])
    return model, a2core.attention_maps(model, x)[1]


def test_the_shipped_photo_a2_resnet_is_the_photo_zoos(photo_maps):
    model, maps = photo_maps
    assert model.meta.zoo == "imagenette" and model.meta.input_size >= 160
    # A² in res3 and res4; the finest maps at least 20×20 at the trained size
    assert set(maps) == {"layer2.1.attn", "layer3.1.attn"}
    assert min(maps["layer2.1.attn"].gather.shape[-2:]) >= 20


def test_photo_a2_gathering_maps_are_sharp_and_distinct(photo_maps):
    _, maps = photo_maps
    print(gathering_report(maps))  # the figures, for the model card (pytest -s)
    assert_sharp_and_distinct(maps)
