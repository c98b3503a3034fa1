"""Looking inside a model: the maps of every attention block, and numbers read off them.

``taps``: forward hooks that collect the maps of any model, thread-safe (:func:`attention_maps`);
``adapters``: timm's and torchvision's attention modules read as A²Lens's blocks (taps call them);
``gradcam``: Grad-CAM at the layer that holds an attention block, read through the same taps;
``maps``: one image's maps as numpy arrays, and the command ``python -m a2core.probe.maps``;
``analysis``: pure numpy functions of the maps (entropy, descriptor usage and order);
``fits``: whether a photo fits none of a zoo's classes (``a2core.fits_none``), read off ``fit_features``;
``fit_flag``: its command, ``python -m a2core.probe.fit_flag`` (calibrate a zoo's rule, flag a folder).
May import torch, :mod:`a2core.models`, :mod:`a2core.weights` and
:mod:`a2core.images` (and, for the CLI's PNGs only, :mod:`a2core.figures`); never training or the app. ``maps``' names are imported on first use
(see ``a2core._lazy``): it is a command module.
"""

from .._lazy import lazy_exports
from .adapters import adapter_for
from .gradcam import grad_cam, holder_of
from .taps import MapsReader, Probe, attention_maps, block_strides, install_taps, probing, reader_for, tapped_blocks

_MAPS = ("FIT_THRESHOLD", "BlockMaps", "ImageMaps", "compute_maps", "npz_arrays", "save_figures", "save_npz")
__getattr__ = lazy_exports(__name__, {"maps": _MAPS})

__all__ = [
    "MapsReader",
    "adapter_for",
    "grad_cam",
    "holder_of",
    "Probe",
    "attention_maps",
    "block_strides",
    "install_taps",
    "probing",
    "reader_for",
    "tapped_blocks",
    *_MAPS,
]
