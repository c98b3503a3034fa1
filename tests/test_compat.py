"""_compat.import_torchvision: torchvision and transforms.v2 work beside the CPU torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from a2core import _compat

ROOT = Path(__file__).resolve().parents[1]


def test_returns_a_usable_torchvision():
    tv = _compat.import_torchvision()
    assert tv.__name__ == "torchvision"
    from torchvision.transforms import v2

    transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Resize((8, 6))])
    image = Image.new("RGB", (20, 30), (255, 0, 51))
    out = transform(image)
    assert out.shape == (3, 8, 6) and out.dtype == torch.float32
    torch.testing.assert_close(out[:, 0, 0], torch.tensor([1.0, 0.0, 0.2]))
    assert tv.models.resnet.BasicBlock(4, 4)(torch.randn(1, 4, 5, 5)).shape == (1, 4, 5, 5)


def test_calling_twice_is_a_no_op():
    first = _compat.import_torchvision()
    libraries = list(_compat._libraries)
    second = _compat.import_torchvision()
    assert second is first is sys.modules["torchvision"]
    assert _compat._libraries == libraries  # no schema defined twice


@pytest.mark.slow
def test_first_import_in_a_fresh_interpreter():
    # _compat alone, before anything has imported torchvision (where the CUDA wheel's import
    # fails, this takes the repair path); then a2core, which must find torchvision ready.
    code = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("compat_alone", {str(ROOT / "a2core" / "_compat.py")!r})
compat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compat)
assert "torchvision" not in sys.modules
tv = compat.import_torchvision()
import torch
from torchvision.transforms import v2
assert v2.Resize(4)(torch.rand(3, 8, 8)).shape == (3, 4, 4)
import a2core, torchvision
assert torchvision is tv and compat.import_torchvision() is tv
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
