"""What every page of the app shares: the image input, the cached models and forward passes,
and the clicked position.

Pages only lay things out; the tensors come from :mod:`a2core.probe.maps` and the
figures from :mod:`a2core.figures`.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from a2core.images import ImageError, load_image
from a2core.probe import BlockMaps, ImageMaps, compute_maps, install_taps
from a2core.weights import WEIGHTS_DIR, load_pretrained

__all__ = [
    "BlockMaps",
    "ImageMaps",
    "SAMPLES_DIR",
    "UPLOAD_TYPES",
    "clicked_position",
    "image_input",
    "load_model",
    "run_probe",
    "sample_images",
    "weights_dir",
]

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "samples"
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif"]
_POSITION_KEY = "a2lens_position"


def sample_images() -> dict[str, Path]:
    """{"cat · val_0000": path} for the bundled samples, sorted by class."""
    return {f"{p.parent.name} · {p.stem}": p for p in sorted(SAMPLES_DIR.glob("*/*.jpg"))}


def weights_dir() -> Path:
    """Where the app finds ``<arch>.safetensors``: ``$A2LENS_WEIGHTS``, else the shipped assets/weights."""
    return Path(os.environ.get("A2LENS_WEIGHTS", WEIGHTS_DIR))


@st.cache_resource(show_spinner="Loading the pretrained model…")
def load_model(arch: str):
    """The pretrained ``arch`` (eval mode, ``model.meta`` set), loaded once per server.

    Every session shares this module, so its probe taps go on here, before any
    session runs it (probes never change the model afterwards: a2core.probe).
    """
    model = load_pretrained(arch, weights_dir() / f"{arch}.safetensors")
    install_taps(model)
    return model


#: How long a result stays cached without being used: a lesson.
CACHE_TTL_S = 3600


@st.cache_data(show_spinner="Running the model…", max_entries=64, ttl=CACHE_TTL_S)
def run_probe(arch: str, image_bytes: bytes, size: int) -> ImageMaps:
    """One forward pass of ``arch`` on the image at ``size`` px → every block's maps as numpy arrays.

    Cached by (arch, a hash of the image bytes, size): Streamlit keys the cache on an MD5 of the
    arguments and keeps only the pickled result, at most 64 of them (0.03 MB each at 32 px, 0.43 MB at
    128 px: ≤ 28 MB), each for at most an hour unused. Raises ImageError for bytes that are not a
    usable picture.
    """
    return compute_maps(load_model(arch), load_image(image_bytes), size)


@st.cache_data(max_entries=256, ttl=CACHE_TTL_S, show_spinner=False)
def _check(image_bytes: bytes) -> str | None:
    # The error message for unusable bytes, or None; cached so reruns do not decode again.
    try:
        load_image(image_bytes)
    except ImageError as error:
        return str(error)
    return None


def image_input(key: str) -> tuple[bytes, str] | None:
    """Image picker in the sidebar: a bundled sample, an upload, or a camera photo.

    Returns (image bytes, label), a photo or upload taking precedence over the
    sample; shows an error and returns None for a file that is not a usable picture.
    ``key`` keeps the widgets of different pages apart.
    """
    samples = sample_images()
    with st.sidebar:
        st.subheader("Image")
        names = list(samples)
        default = names.index("cat · val_0000") if "cat · val_0000" in names else 0
        sample = st.selectbox("Sample (CIFAR-10 validation)", names, index=default, key=f"{key}_sample")
        upload = st.file_uploader(
            "…or upload a photo", type=UPLOAD_TYPES, key=f"{key}_upload",
            help="JPEG, PNG, WebP, BMP or GIF (first frame). The model looks at a square centre crop.",
        )
        photo = None
        if st.toggle("Take a photo with the camera", key=f"{key}_camera_on"):
            photo = st.camera_input("Camera", key=f"{key}_camera", label_visibility="collapsed")
    chosen = photo or upload
    if chosen is None:
        return samples[sample].read_bytes(), f"sample {sample}"
    data = chosen.getvalue()
    error = _check(data)
    if error is not None:
        st.error(f"**{chosen.name}** cannot be used: {error}", icon=":material/block:")
        return None
    return data, "camera photo" if chosen is photo else chosen.name


def clicked_position(key: str = "shared", value: tuple[float, float] | None = None) -> tuple[float, float]:
    """The clicked image position (y, x) as fractions of the image in [0, 1]; pass ``value`` to set it.

    Stored as fractions, so one click means the same place in every block and
    at every resolution (use ``a2core.probe.analysis.position_index`` to find the
    cell). Defaults to the centre of the image.
    """
    store = st.session_state.setdefault(_POSITION_KEY, {})
    if value is not None:
        store[key] = (float(value[0]), float(value[1]))
    return store.get(key, (0.5, 0.5))
