"""python -m a2core.probe.maps: PNG figures and an .npz of every map, from any image file."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import a2core
from a2core.probe import maps as maps_cli
from a2core.images import load_image
from tests.image_cases import BAD, encode, picture

ROOT = Path(__file__).resolve().parents[1]
CLASSES = tuple(f"class{i}" for i in range(10))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    # Self-contained: random weights with their metadata, so the test does not depend on training.
    path = tmp_path_factory.mktemp("weights") / "a2.safetensors"
    a2core.save_weights(a2core.build("a2_resnet"), path, a2core.ModelMeta(arch="a2_resnet", classes=CLASSES))
    return path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(encode(picture(80, 60), "PNG"))
    return path


@pytest.mark.slow
def test_writes_npz_and_pngs(weights, photo, tmp_path, capsys):
    out = tmp_path / "out"
    assert maps_cli.main([str(photo), "--arch", "a2_resnet", "--weights", str(weights), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert any(c in printed for c in CLASSES)

    data = np.load(out / "maps.npz", allow_pickle=False)
    assert data["image"].shape == (32, 32, 3) and data["image"].dtype == np.uint8
    assert tuple(data["classes"]) == CLASSES
    assert data["probs"].sum() == pytest.approx(1.0, abs=1e-5)
    for name, (n, m, side) in {"layer2.2.attn": (8, 16, 16), "layer3.2.attn": (16, 32, 8)}.items():
        gather, distribute = data[f"{name}/gather"], data[f"{name}/distribute"]
        assert gather.shape == distribute.shape == (n, side, side)
        assert data[f"{name}/descriptors"].shape == (m, n)
        np.testing.assert_allclose(gather.reshape(n, -1).sum(axis=1), 1, atol=1e-5)
        np.testing.assert_allclose(distribute.sum(axis=0), 1, atol=1e-5)
        for kind in ("gathering", "distribution"):
            png = out / f"{name.replace('.', '_')}_{kind}.png"
            assert str(png) in printed
            assert Image.open(png).format == "PNG"


@pytest.mark.slow
def test_npz_matches_the_model_view_and_compute_maps(weights, photo, tmp_path):
    out = tmp_path / "out"
    maps_cli.main([str(photo), "--weights", str(weights), "--out", str(out), "--size", "64"])
    data = np.load(out / "maps.npz", allow_pickle=False)
    assert data["layer2.2.attn/gather"].shape == (8, 32, 32)  # finer maps at a larger size
    model = a2core.load_pretrained("a2_resnet", weights)
    result = maps_cli.compute_maps(model, load_image(photo.read_bytes()), 64)
    np.testing.assert_array_equal(data["image"], result.image)
    np.testing.assert_allclose(data["layer3.2.attn/gather"], result.blocks["layer3.2.attn"].arrays["gather"])
    assert result.blocks["layer2.2.attn"].feature_size == (32, 32)
    assert result.blocks["layer3.2.attn"].params["m"] == 32
    assert result.top(3)[0][1] == pytest.approx(float(result.probs.max()))


def test_bad_image_is_a_clear_error_not_a_traceback(weights, tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_bytes(BAD["notes.png"][0])
    assert maps_cli.main([str(bad), "--weights", str(weights), "--out", str(tmp_path / "o")]) == 2
    assert "not an image" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_runs_as_a_module(weights, photo, tmp_path):
    out = tmp_path / "module"
    done = subprocess.run(
        [sys.executable, "-m", "a2core.probe.maps", str(photo), "--arch", "a2_resnet", "--weights", str(weights),
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,  # a fresh interpreter imports torch
    )
    assert done.returncode == 0, done.stderr
    assert (out / "maps.npz").is_file() and (out / "gradcam.png").is_file()
    assert len(list(out.glob("*_gathering.png")) + list(out.glob("*_distribution.png"))) == 4
