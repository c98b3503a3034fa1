"""Your own model: a timm or torchvision arch + a safetensors file, in the package and on the command line.

The models are randomly initialised and saved to safetensors by the tests: nothing is downloaded.
"""

from __future__ import annotations

import json
import pickle
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save as save_file_bytes
from safetensors.torch import save_file

import a2core  # first: its torchvision shim lets timm import
from a2core.probe import maps as maps_cli
from a2core._compat import import_torchvision
from a2core.models.own import TIMM_MISSING, ModelSpec, load_own_model
from a2core.weights import WeightsError, read_header
from tests.image_cases import encode, picture

import timm  # noqa: E402

tv = import_torchvision()
ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("cat", "dog", "fox")


def saved(model: torch.nn.Module, path: Path) -> Path:
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


@pytest.fixture(scope="module")
def eca(tmp_path_factory):
    """A random timm ecaresnet26t with 3 classes, its safetensors file and a classes.txt."""
    folder = tmp_path_factory.mktemp("eca")
    torch.manual_seed(0)
    model = timm.create_model("ecaresnet26t", num_classes=3).eval()
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    return model, saved(model, folder / "my.safetensors"), folder / "classes.txt"


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(encode(picture(120, 90), "PNG"))
    return path


@pytest.mark.slow
def test_a_timm_model_loads_as_saved_with_its_class_names(eca):
    original, weights, classes = eca
    model = load_own_model(ModelSpec("timm", "ecaresnet26t", weights, classes))
    assert not model.training
    assert model.meta.arch == "timm:ecaresnet26t" and model.meta.classes == CLASSES
    assert model.meta.input_size == 256 and model.meta.mean == (0.485, 0.456, 0.406)  # timm's data config
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), original(x), rtol=0, atol=0)


@pytest.mark.slow
def test_weights_given_as_bytes_and_class_count_from_the_file(eca):
    _, weights, _ = eca
    model = load_own_model(ModelSpec("timm", "ecaresnet26t", weights.read_bytes()))
    assert model.meta.classes == ("class 0", "class 1", "class 2")


def test_a_torchvision_model_with_an_imagenet_head_gets_imagenet_names(tmp_path):
    torch.manual_seed(0)
    original = tv.models.mobilenet_v3_small().eval()
    model = load_own_model(ModelSpec("torchvision", "mobilenet_v3_small", saved(original, tmp_path / "m.safetensors")))
    assert len(model.meta.classes) == 1000 and model.meta.classes[:2] == ("tench", "goldfish")
    assert model.meta.input_size == 224
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), original(x), rtol=0, atol=0)


@pytest.mark.slow
def test_a2lens_metadata_gives_the_class_names(tmp_path):
    model = timm.create_model("mobilenetv3_small_050", num_classes=2)
    path = a2core.save_weights(model, tmp_path / "m.safetensors", a2core.ModelMeta(arch="x", classes=("a", "b")))
    assert load_own_model(ModelSpec("timm", "mobilenetv3_small_050", path)).meta.classes == ("a", "b")


@pytest.mark.slow
def test_what_does_not_fit_is_a_clear_error(eca, tmp_path):
    original, weights, classes = eca
    with pytest.raises(WeightsError, match="do not fit timm:seresnet18"):
        load_own_model(ModelSpec("timm", "seresnet18", weights))
    pickled = tmp_path / "model.pth"
    torch.save(original.state_dict(), pickled)
    with pytest.raises(WeightsError, match="safetensors only, never a pickle"):
        load_own_model(ModelSpec("timm", "ecaresnet26t", pickled))
    (tmp_path / "two.txt").write_text("a\nb\n")
    with pytest.raises(WeightsError, match="2 class names for a classifier of 3 outputs"):
        load_own_model(ModelSpec("timm", "ecaresnet26t", weights, tmp_path / "two.txt"))
    with pytest.raises(ValueError, match="timm has no model 'ecaresnet26'; close: ecaresnet26t"):
        load_own_model(ModelSpec("timm", "ecaresnet26", weights))
    with pytest.raises(ValueError, match="torchvision has no classification model"):
        load_own_model(ModelSpec("torchvision", "ecaresnet26t", weights))
    with pytest.raises(WeightsError, match="give a safetensors file"):
        load_own_model(ModelSpec("timm", "ecaresnet26t"))


def test_missing_timm_says_how_to_install_it(eca, monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(ImportError) as error:
        load_own_model(ModelSpec("timm", "ecaresnet26t", eca[1]))
    assert str(error.value) == TIMM_MISSING and "requirements-timm.txt" in TIMM_MISSING


def test_spec_from_the_environment():
    assert ModelSpec.from_env({}) is None
    spec = ModelSpec.from_env({"A2LENS_MODEL": "timm:ecaresnet26t", "A2LENS_MODEL_WEIGHTS": "/w.safetensors"})
    assert spec == ModelSpec("timm", "ecaresnet26t", "/w.safetensors", None) and spec.name == "timm:ecaresnet26t"
    for bad in ("ecaresnet26t", "keras:resnet50", "timm:"):
        with pytest.raises(ValueError, match="library:arch"):
            ModelSpec.parse(bad)


@pytest.mark.slow
def test_cli_with_a_timm_model(eca, photo, tmp_path, capsys):
    _, weights, classes = eca
    out = tmp_path / "out"
    assert maps_cli.main([str(photo), "--timm", "ecaresnet26t", "--weights", str(weights), "--classes", str(classes),
                          "--size", "96", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "timm:ecaresnet26t: 8 attention modules (EfficientChannelAttention)" in printed
    data = np.load(out / "maps.npz", allow_pickle=False)
    assert tuple(data["classes"]) == CLASSES and data["image"].shape == (96, 96, 3)
    channels = [k for k in data.files if k.endswith("/channel")]
    assert len(channels) == 8 and data["layer4.1.se/channel"].shape == (2048,)
    assert str(data["gradcam_layer"]) == "layer4.1" and data["gradcam"].shape == (3, 3)
    assert int(data["gradcam_class"][0]) == int(np.argmax(data["probs"]))
    assert Image.open(out / "gradcam.png").format == "PNG"


@pytest.mark.slow
def test_cli_rejects_a_pickle_and_a_class_out_of_range_with_a_message(eca, photo, tmp_path, capsys):
    pickled = tmp_path / "model.pth"
    torch.save(eca[0].state_dict(), pickled)
    assert maps_cli.main([str(photo), "--timm", "ecaresnet26t", "--weights", str(pickled),
                          "--out", str(tmp_path / "o")]) == 2
    assert "never a pickle" in capsys.readouterr().err
    assert maps_cli.main([str(photo), "--timm", "ecaresnet26t", "--weights", str(eca[1]), "--gradcam-class", "3",
                          "--out", str(tmp_path / "o")]) == 2
    assert "--gradcam-class must be a class index from 0 to 2" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_with_a_torchvision_model_as_a_module(photo, tmp_path):
    torch.manual_seed(0)
    weights = saved(tv.models.mobilenet_v3_small(num_classes=4), tmp_path / "mnv3.safetensors")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "a2core.probe.maps", str(photo), "--torchvision", "mobilenet_v3_small", "--weights",
         str(weights), "--size", "64", "--gradcam-class", "2", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "torchvision:mobilenet_v3_small: 9 attention modules (SqueezeExcitation)" in done.stdout
    data = np.load(out / "maps.npz", allow_pickle=False)
    assert int(data["gradcam_class"][0]) == 2 and str(data["gradcam_layer"]) == "features.11"


def _header(entries: dict) -> bytes:
    text = json.dumps(entries).encode()
    return struct.pack("<Q", len(text)) + text


def test_the_header_is_checked_against_the_bytes_before_anything_is_allocated(eca, tmp_path):
    original, weights, _ = eca
    data = weights.read_bytes()
    shapes, _ = read_header(data)
    assert shapes == {k: tuple(v.shape) for k, v in original.state_dict().items()}
    assert read_header(weights) == read_header(data)  # a path reads only its header
    pickled = tmp_path / "model.pth"
    torch.save(original.state_dict(), pickled)
    huge = {"w": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}}
    cases = {
        b"ab": "not a safetensors file: 2 bytes, too short for its header",
        data[:100]: "not a safetensors file, or a truncated one: its header would be",
        data[: len(data) - 1]: "a truncated safetensors file: tensor",
        _header(huge) + bytes(16): "tensor 'w' ends at byte 4,000,000,000,000 of a data section of 16 bytes",
        _header({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}) + bytes(8):
            "tensor 'w' of shape (4,) (F32) needs 16 bytes, its offsets hold 8",
        _header({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}): "has no valid dtype, shape",
        _header({"w": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 1]}}) + bytes(1): "dtype 'Q7'",
        _header([1, 2]): "its header is not JSON",
        struct.pack("<Q", 3) + b"{{{": "its header is not JSON",
        pickled.read_bytes(): "this is a pickle (PyTorch's torch.save format), not safetensors",
        pickle.dumps({"a": 1}): "this is a pickle",
    }
    for bad, message in cases.items():
        with pytest.raises(WeightsError, match=re.escape(message)):
            read_header(bad)
        with pytest.raises(WeightsError, match=re.escape(message)):
            load_own_model(ModelSpec("timm", "ecaresnet26t", bad))


def test_weights_that_do_not_fit_are_refused_before_the_model_is_built(eca, monkeypatch):
    _, weights, _ = eca
    import a2core.models.own as own

    built = []
    build = own._build

    def spy(*args, **kwargs):
        built.append(torch.empty(0).device.type)  # the device a model built now would live on
        return build(*args, **kwargs)

    monkeypatch.setattr(own, "_build", spy)
    with pytest.raises(WeightsError, match="do not fit timm:seresnet18"):
        load_own_model(ModelSpec("timm", "seresnet18", weights))
    assert built and set(built) == {"meta"}  # never for real: no memory for a model the file does not fit
    # a classifier whose input size does not fit is refused as it is read, not built with that many classes
    head = save_file_bytes({"fc.weight": torch.zeros(10**7, 1, dtype=torch.uint8)})
    with pytest.raises(WeightsError, match=re.escape("fc.weight: file (10000000, 1) vs model (1000, 2048)")):
        load_own_model(ModelSpec("timm", "ecaresnet26t", head))
    built.clear()
    load_own_model(ModelSpec("timm", "ecaresnet26t", weights))
    assert built == ["meta", "meta", "cpu"]  # the fitting file: on meta at 1000 then 3 classes, then built once
