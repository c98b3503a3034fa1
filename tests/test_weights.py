"""save_weights / load_pretrained: exact round trips, metadata, and clear refusals."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

import a2core
from a2core import ModelMeta, WeightsError, load_pretrained, read_meta, save_weights
from a2core.models import ARCHS, build

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def meta_for(arch: str, classes=CLASSES) -> ModelMeta:
    return ModelMeta(
        arch=arch,
        classes=tuple(classes),
        input_size=32,
        mean=(0.5, 0.4, 0.3),
        std=(0.2, 0.25, 0.3),
        dataset="cifar10 (test)",
        recipe={"epochs": 3, "lr": 0.1, "batch_size": 128},
        val_accuracy=0.5,
    )


def trained_looking(arch: str, num_classes: int = 10) -> torch.nn.Module:
    """A model whose every tensor differs from a fresh build (no zero-init, moved BN statistics)."""
    torch.manual_seed(1)
    model = build(arch, num_classes=num_classes)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
        model.train()(torch.randn(4, 3, 32, 32))  # updates the running statistics
    return model.eval()


@pytest.mark.parametrize("arch", ARCHS)
def test_round_trip(arch, tmp_path):
    model = trained_looking(arch)
    meta = meta_for(arch)
    path = save_weights(model, tmp_path / "sub" / f"{arch}.safetensors", meta)
    assert path.is_file()

    loaded = load_pretrained(arch, path)
    assert not loaded.training
    assert loaded.meta == meta
    for field in ("arch", "classes", "input_size", "mean", "std", "dataset", "recipe", "val_accuracy"):
        assert getattr(loaded.meta, field) == getattr(meta, field)
    original, restored = model.state_dict(), loaded.state_dict()
    assert list(original) == list(restored)
    for key in original:
        assert torch.equal(original[key], restored[key]), key
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert read_meta(path) == meta


def test_meta_as_dict_and_default_path(tmp_path, monkeypatch):
    model = trained_looking("se_resnet", num_classes=3)
    monkeypatch.setattr(a2core.weights, "WEIGHTS_DIR", tmp_path)
    save_weights(model, tmp_path / "se_resnet.safetensors", {"arch": "se_resnet", "classes": ["a", "b", "c"]})
    loaded = load_pretrained("se_resnet")  # from WEIGHTS_DIR/<arch>.safetensors
    assert loaded.meta.classes == ("a", "b", "c")
    assert loaded.meta.input_size == 32 and loaded.meta.val_accuracy is None
    assert loaded.fc.out_features == 3


def test_other_arch_is_refused(tmp_path):
    path = save_weights(trained_looking("se_resnet"), tmp_path / "w.safetensors", meta_for("se_resnet"))
    with pytest.raises(WeightsError, match="'se_resnet'.*'a2_resnet'"):
        load_pretrained("a2_resnet", path)


def test_mismatched_shapes_are_refused(tmp_path):
    # Saved with 5 outputs while the metadata lists 10 classes: the fc shapes cannot fit.
    path = save_weights(trained_looking("a2_resnet", num_classes=5), tmp_path / "w.safetensors", meta_for("a2_resnet"))
    with pytest.raises(WeightsError, match=r"fc\.weight: file \(5, 64\) vs model \(10, 64\)"):
        load_pretrained("a2_resnet", path)


def test_tensors_of_another_arch_are_refused(tmp_path):
    # Metadata that claims a2_resnet over a plain ResNet's tensors: the A² keys are missing.
    path = save_weights(trained_looking("resnet"), tmp_path / "w.safetensors", meta_for("a2_resnet"))
    with pytest.raises(WeightsError, match=r"does not fit 'a2_resnet'.*missing.*layer2\.2\.attn"):
        load_pretrained("a2_resnet", path)


def test_file_without_metadata_is_refused(tmp_path):
    path = tmp_path / "bare.safetensors"
    save_file({k: v.contiguous() for k, v in build("resnet").state_dict().items()}, str(path))
    with pytest.raises(WeightsError, match="no A²Lens metadata"):
        read_meta(path)
    with pytest.raises(WeightsError, match="no A²Lens metadata"):
        load_pretrained("resnet", path)


def test_file_with_other_metadata_is_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata={"format": "pt", "note": json.dumps({"arch": "resnet"})})
    with pytest.raises(WeightsError):
        load_pretrained("resnet", path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="a2_resnet"):
        load_pretrained("a2_resnet", tmp_path / "nothing.safetensors")


def test_file_that_is_not_safetensors_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    torch.save(build("resnet").state_dict(), path)  # a pickle, not safetensors
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        load_pretrained("resnet", path)


@pytest.mark.parametrize("header", ["not json", "[1, 2]", json.dumps({"classes": ["a"]})])
def test_malformed_metadata_is_refused(tmp_path, header):
    path = tmp_path / "w.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata={"a2lens": header})
    with pytest.raises(WeightsError, match="malformed A²Lens metadata"):
        read_meta(path)


def test_read_meta_of_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_meta(tmp_path / "nothing.safetensors")
