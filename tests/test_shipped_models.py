"""The weights in assets/weights: they load, say what they are, classify, and their A² maps carry information.

The images are the bundled samples (CIFAR-10 test-set images, assets/samples/<class>/*.jpg), so these
tests need no data set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

import a2core
from a2core.training.measure import shipped_archs
from a2core.training.seeds import median_index, recipe_without_seed, seed_runs
from a2core.weights import WEIGHTS_DIR, read_meta
from tests.gathering_checks import assert_sharp_and_distinct

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"
ARCHS = shipped_archs()


def _samples() -> list[tuple[Path, str]]:
    return [(p, p.parent.name) for p in sorted(SAMPLES.glob("*/*.jpg"))]


@pytest.fixture(scope="module")
def sample_batch():
    model_meta = a2core.read_meta(WEIGHTS_DIR / "a2_resnet.safetensors")
    items = _samples()
    x = torch.cat([a2core.preprocess(Image.open(p), model_meta) for p, _ in items])
    labels = torch.tensor([model_meta.classes.index(c) for _, c in items])
    return x, labels


def test_the_whole_zoo_is_shipped():
    # the first seven are shipped; the series' six join (in zoo order) when their weights land
    assert ARCHS[:len(a2core.ARCHS)] == a2core.ARCHS and set(ARCHS) <= set(a2core.models.ALL_ARCHS)


@pytest.mark.parametrize("arch", ARCHS)
def test_shipped_model_loads_with_complete_metadata(arch):
    model = a2core.load_pretrained(arch)
    meta = model.meta
    assert meta.arch == arch
    assert len(meta.classes) == 10 and "cat" in meta.classes
    assert meta.input_size == 32 and len(meta.mean) == 3 and len(meta.std) == 3
    assert "CIFAR-10" in meta.dataset
    assert meta.recipe["epochs"] > 0 and isinstance(meta.recipe["seed"], int)
    assert 0.5 < meta.val_accuracy <= 1.0
    assert not model.training


@pytest.mark.parametrize("arch", ARCHS)
def test_an_arch_with_several_seeds_ships_its_median_run(arch):
    runs = seed_runs(arch)
    if arch == "a2_resnet":  # the README claims the 88 % target on the mean of three A² seeds
        assert [r.seed for r in runs] == [0, 1, 2]
    recipes = {json.dumps(recipe_without_seed(read_meta(r.path).recipe), sort_keys=True) for r in runs}
    assert len(recipes) == 1, f"{arch}: its runs differ in more than the seed"
    median = runs[median_index([r.val_accuracy for r in runs])]
    assert median.shipped, f"{arch}: the shipped run is not the median of {[r.val_accuracy for r in runs]}"


@pytest.mark.parametrize("arch", ARCHS)
def test_shipped_model_classifies_the_sample_images(arch, sample_batch):
    x, labels = sample_batch
    model = a2core.load_pretrained(arch)
    with torch.no_grad():
        predicted = model(x).argmax(1)
    # Fixed images every shipped model gets right, and the bulk of all 30 samples.
    names = [f"{c}/{p.name}" for p, c in _samples()]
    for fixed in ("airplane/val_0000.jpg", "automobile/val_0000.jpg", "ship/val_0000.jpg", "truck/val_0000.jpg"):
        i = names.index(fixed)
        assert predicted[i] == labels[i], f"{arch} misclassifies {fixed}"
    accuracy = (predicted == labels).float().mean().item()
    assert accuracy >= 0.75, f"{arch}: {accuracy:.0%} of the samples right"


def test_a2_gathering_maps_are_sharp_and_distinct(sample_batch):
    """Trained descriptors look at particular places, and not all at the same ones."""
    x, _ = sample_batch
    model = a2core.load_pretrained("a2_resnet")
    _, maps = a2core.attention_maps(model, x)
    assert set(maps) == {"layer2.2.attn", "layer3.2.attn"}
    assert_sharp_and_distinct(maps)
