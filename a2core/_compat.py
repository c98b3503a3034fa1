"""Make ``import torchvision`` work next to the CPU build of PyTorch.

PyPI's torchvision 0.28.0 wheel is a CUDA build. Its ``_C`` extension cannot
load beside the CPU-only torch 2.13.0 wheel, so the operator schemas it would
define never exist, and torchvision's own fake-kernel registration then fails
with ``RuntimeError: operator torchvision::nms does not exist``. Defining the
two schemas it registers kernels for lets the import, the model definitions and
``transforms.v2`` work. ``torchvision.ops.nms`` and ``torchvision.io`` stay
unusable (no kernels), so A²Lens decodes images with PIL.

Where torchvision imports normally, the first import succeeds and this module
does nothing else. Import torchvision through :func:`import_torchvision` (the
package does so once, in ``a2core/__init__.py``).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import torch

_MISSING_OPS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_libraries: list[torch.library.Library] = []  # dropping one unregisters its schemas


def import_torchvision() -> ModuleType:
    """Import and return torchvision, defining its missing schemas if needed."""
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as error:
        if "torchvision::nms" not in str(error):
            raise
    # The failed import left half-initialised modules behind.
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    # FRAGMENT, not DEF: it must not clash with a real TORCH_LIBRARY(torchvision).
    lib = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _MISSING_OPS.values():
        lib.define(schema)
    _libraries.append(lib)
    return importlib.import_module("torchvision")
