""""Your model" in the sidebar's model picker: a timm or torchvision arch and a safetensors file.

The user names the model as ``library:arch`` (``timm:ecaresnet26t``), the weight file's path on
the server and optionally a classes file (one name a line); ``A2LENS_MODEL``,
``A2LENS_MODEL_WEIGHTS`` and ``A2LENS_MODEL_CLASSES`` fill them in when the server starts. The
chosen model is a :class:`app.common.ModelSource` with one arch (``library:arch``) whose "path" is
the spec serialised (:func:`spec_key`), so ``app.common.load_model`` and ``run_probe`` load and
cache it like a zoo model. Every problem (timm missing, no file, a pickle, tensors that do not
fit) is a message in the sidebar; the app keeps running.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import streamlit as st

from a2core import ModelSpec, WeightsError, load_own_model
from a2core.models.own import ENV_CLASSES, ENV_MODEL, ENV_WEIGHTS

KEY = "own"
LABEL = "Your model (timm or torchvision)"


def is_own(arch: str) -> bool:
    """Whether ``arch`` names a user's model (``library:arch``) rather than an arch of the zoo."""
    return ":" in arch


def spec_key(spec: ModelSpec) -> str:
    """``spec`` as a string that :func:`load` reads back: the cache key of the loaded model."""
    return json.dumps({"library": spec.library, "arch": spec.arch, "weights": str(spec.weights),
                       "classes": None if spec.classes is None else str(spec.classes)}, sort_keys=True)


def load(key: str):
    """The model a :func:`spec_key` names, in eval mode with ``model.meta``; raises what
    :func:`a2core.load_own_model` raises (ImportError, ValueError, WeightsError, OSError)."""
    return load_own_model(ModelSpec(**json.loads(key)))


def spec_input(key: str) -> ModelSpec | None:
    """The sidebar's inputs for "your model" → its spec, or None (with a message) while it is incomplete."""
    st.caption("A timm or torchvision classifier and its weights in a safetensors file on this server "
               "(never a pickle: `safetensors.torch.save_file(model.state_dict(), path)`).")
    name = st.text_input("Model (library:arch)", value=os.environ.get(ENV_MODEL, ""), key=f"{key}_own_arch",
                         placeholder="timm:ecaresnet26t", help="timm:NAME or torchvision:NAME")
    weights = st.text_input("Weights (.safetensors file)", value=os.environ.get(ENV_WEIGHTS, ""),
                            key=f"{key}_own_weights", placeholder="/path/to/my.safetensors")
    classes = st.text_input("Class names (optional: a text file, one a line)", value=os.environ.get(ENV_CLASSES, ""),
                            key=f"{key}_own_classes", placeholder="/path/to/classes.txt")
    if not name.strip() or not weights.strip():
        st.info("Name your model and its weight file.")
        return None
    try:
        library, arch = ModelSpec.parse(name)
    except ValueError as error:
        st.error(str(error))
        return None
    for label, path in (("weights", weights), ("classes", classes)):
        if path.strip() and not Path(path.strip()).is_file():
            st.error(f"No {label} file at `{path.strip()}`.")
            return None
    return ModelSpec(library, arch, weights.strip(), classes.strip() or None)


def loading_problem(arch: str, path: str) -> str | None:
    """Load the model (once per server, with the app's models) → None, or the message why it cannot load."""
    from app.common import load_model

    try:
        load_model(arch, path)
    except ImportError as error:  # timm missing: its message says how to install it
        return str(error)
    except (WeightsError, ValueError, OSError) as error:
        return f"This model cannot be loaded: {error}"
    return None


def source(key: str):
    """The inputs for "your model" in the sidebar → its :class:`app.common.ModelSource`, or None with a message."""
    from app.common import SAMPLES_DIR, ModelSource, ZooView, _samples, load_model

    spec = spec_input(key)
    if spec is None:
        return None
    arch, path = spec.name, spec_key(spec)
    if (problem := loading_problem(arch, path)) is not None:
        st.error(problem)
        return None
    meta = load_model(arch, path).meta
    size = meta.input_size
    shown = ", ".join(c.replace("_", " ") for c in meta.classes[:12]) + (" …" if len(meta.classes) > 12 else "")
    st.caption(f"**{arch}** knows {len(meta.classes)} classes: {shown}. It sees {size}×{size} px.")
    view = ZooView(
        zoo=KEY, label=LABEL, backbone=arch,
        about=f"Your model {arch}, with its weights from `{spec.weights}`.",
        # its own input size first (Compare offers the first three); larger views give finer maps
        sizes=(size, size + 64, size + 128), samples=SAMPLES_DIR / "imagenette",
        sample_label="Imagenette validation photos", default_sample="English_springer · val_00008162",
    )
    return ModelSource(key=KEY, label=f"Your model: {arch}", zoo=KEY, weights={arch: path}, classes=meta.classes,
                       input_size=size, view=view, folder=None, samples=_samples(view.samples))
