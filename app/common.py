"""What every page of the app shares: the model source (zoo) picker, the image input, the cached
models and forward passes, and the clicked position.

Pages only lay things out; the tensors come from :mod:`a2core.probe.maps` and the
figures from :mod:`a2core.figures`. A page asks :func:`model_source` which
models it shows (the sources, :mod:`app.sources`: the zoos and "your model") and passes
``source.path(arch)`` to the cached loaders, so the caches are keyed by weight file or
model spec, whatever source it belongs to.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.state.session_state import SessionState

from a2core.images import load_image
from a2core.models import ARCHS, attention_blocks, build
from a2core.probe import FIT_THRESHOLD, BlockMaps, ImageMaps, block_strides, compute_maps, install_taps
from a2core.weights import load_pretrained
from app import upload as upload_check
from app.sources import SAMPLES_DIR, ModelSource, ZooView
from app.sources import own as own_source
from app.sources.zoo import MAIN_ARCH, ZOO_VIEWS, weights_dir, zoo_source

__all__ = [
    "A2Block",
    "BlockMaps",
    "FIT_THRESHOLD",
    "IMAGE_MAX_MB",
    "ImageMaps",
    "MAIN_ARCH",
    "ModelSource",
    "SAMPLES_DIR",
    "UPLOAD_TYPES",
    "ZOO_VIEWS",
    "ZooView",
    "a2_blocks",
    "clicked_position",
    "fit_note",
    "image_input",
    "load_model",
    "model_source",
    "run_probe",
    "weights_dir",
    "zoo_source",
]

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif"]
#: The largest photo upload: the weights of "your model" may be larger (server.maxUploadSize allows them).
IMAGE_MAX_MB = 20
_POSITION_KEY = "a2lens_position"
#: The source the user last picked, shared by the pages (each page's picker has its own widget key).
_SOURCE_KEY = "a2lens_zoo"


def model_source(key: str, needs: Sequence[str] = (MAIN_ARCH,), extra: Sequence[ModelSource] = (),
                 own: bool = False) -> ModelSource | None:
    """The model source picker in the sidebar → the chosen :class:`ModelSource`, or None when none has weights.

    Offered: every zoo with weights for all of ``needs`` (any weights when ``needs`` is empty), then
    ``extra``, then, with ``own``, "your model" (a timm or torchvision model with uploaded weights:
    :mod:`app.sources.own`, whose inputs appear below the picker when it is chosen; None while they do not
    name a loadable model). It opens on the user's last choice on any page, else ``?zoo=`` of the URL, else the first
    zoo with weights for :data:`MAIN_ARCH` (the photo zoo once its A²-ResNet is there). A zoo not
    offered is named with the archs it lacks. ``key`` keeps the pages' widgets apart.
    """
    zoos = [zoo_source(zoo) for zoo in ZOO_VIEWS]
    offered = {s.key: s for s in zoos if s.weights and all(a in s.weights for a in needs)}
    offered.update({s.key: s for s in extra})
    labels = {k: s.label for k, s in offered.items()} | ({own_source.KEY: own_source.LABEL} if own else {})
    widget = f"{key}_zoo"
    with st.sidebar:
        st.subheader("Models")
        if not offered:
            st.error(f"No weight files for {', '.join(needs) or 'any model'} in {weights_dir()}.")
            if not own:
                return None
        if widget not in st.session_state or st.session_state[widget] not in labels:
            main = [s.key for s in zoos if MAIN_ARCH in s.weights and s.key in offered]
            wanted = (st.session_state.get(_SOURCE_KEY), st.query_params.get("zoo"))
            st.session_state[widget] = next((k for k in wanted if k in labels), (main or list(labels))[0])
        chosen = st.radio("Zoo", list(labels), format_func=labels.get, key=widget,
                          help="Both zoos hold the same seven designs, trained on different pictures.")
        st.session_state[_SOURCE_KEY] = chosen
        if chosen == own_source.KEY:
            return own_source.source(key, load_model)
        for zoo in zoos:
            if zoo.key not in offered:
                lacking = [a for a in (needs or ARCHS) if a not in zoo.weights]
                st.caption(f"**{zoo.label}**: {zoo.view.pending + ', ' if zoo.view.pending else ''}no weights yet "
                           f"for {', '.join(lacking)} (in `{zoo.folder}`).")
        source = offered[chosen]
        st.caption(f"These models know {len(source.classes)} classes: "
                   f"{', '.join(c.replace('_', ' ') for c in source.classes)}. Any other picture still gets "
                   "one of them.")
    return source


@dataclass(frozen=True)
class A2Block:
    """Where a zoo's A² blocks sit: name, stride of their feature map, and their sizes c, m, n."""

    name: str
    stride: int
    c: int
    m: int
    n: int


@st.cache_resource(show_spinner=False)
def a2_blocks(zoo: str) -> tuple[A2Block, ...]:
    """The A² blocks of ``zoo``'s backbone, in forward order: read off a freshly built model (no weights)."""
    model = build(MAIN_ARCH, zoo=zoo).eval()
    blocks, strides = attention_blocks(model), block_strides(model, ZOO_VIEWS[zoo].sizes[0])
    return tuple(A2Block(name, stride, blocks[name].in_channels, blocks[name].m, blocks[name].n)
                 for name, stride in strides.items())


#: How long a result stays cached without being used: a lesson.
CACHE_TTL_S = 3600
#: How many models of uploaded weights the server keeps loaded (the zoos' and the operator's stay loaded).
UPLOADED_MODELS_KEPT = 4


def load_model(arch: str, path: str, _weights: bytes | None = None):
    """The pretrained ``arch`` from ``path`` (eval mode, ``model.meta`` set), loaded once per server.

    ``path`` is a zoo's weight file, or for "your model" (``library:arch``) its spec serialised
    (:func:`app.sources.own.spec_key`), which names uploaded weights by their SHA-256: ``_weights`` are
    those bytes, needed only the first time (leading underscore: Streamlit does not hash them).
    """
    if own_source.is_own(arch) and own_source.is_uploaded(path):
        return _load_uploaded(arch, path, _weights)
    return _load_served(arch, path)


@st.cache_resource(show_spinner="Loading the pretrained model…")
def _load_served(arch: str, path: str):
    # The server's own files, the zoos' and the operator's: loaded once, kept for the server's life.
    model = own_source.load(path) if own_source.is_own(arch) else load_pretrained(arch, path)
    # Every session shares this model, so its probe taps go on here, before any session runs it
    # (probes never change the model afterwards: a2core.probe).
    install_taps(model)
    # Streamlit collects garbage after every script run (runner.postScriptGC): a full collection over
    # the ~350k objects of torch, plotly, Streamlit and the models took ~370 ms here, most of what a click
    # cost the server. What exists once a model is loaded lives as long as the server: frozen, later
    # collections pass it over (~0 ms) and still collect what the sessions' runs leave behind.
    gc.freeze()
    return model


@st.cache_resource(show_spinner="Loading your model…", max_entries=UPLOADED_MODELS_KEPT, ttl=CACHE_TTL_S)
def _load_uploaded(arch: str, path: str, _weights: bytes | None):
    # One model per uploaded content, however many sessions upload it; a few at most, each for an hour
    # unused, so uploads cannot fill the server's memory. Not frozen (see above): an evicted one is collected.
    model = own_source.load(path, _weights)
    install_taps(model)
    return model


def _clear_models() -> None:
    _load_served.clear()
    _load_uploaded.clear()


load_model.clear = _clear_models


@st.cache_data(show_spinner="Running the model…", max_entries=64, ttl=CACHE_TTL_S)
def run_probe(arch: str, path: str, image_bytes: bytes, size: int) -> ImageMaps:
    """One forward pass of ``arch`` (weights at ``path``) on the image at ``size`` px → every block's maps
    as numpy arrays.

    Cached by (arch, path, a hash of the image bytes, size): Streamlit keys the cache on an MD5 of the
    arguments and keeps only the pickled result, at most 64 of them (0.03 MB each at 32 px, 0.43 MB at
    128 px: ≤ 28 MB), each for at most an hour unused. Raises ImageError for bytes that are not a
    usable picture.
    """
    return compute_maps(load_model(arch, path), load_image(image_bytes), size)


def image_input(key: str, source: ModelSource) -> tuple[bytes, str] | None:
    """Image picker in the sidebar: a sample of ``source``'s classes, an upload, or a camera photo.

    Returns (image bytes, label), a photo or upload taking precedence over the
    sample; shows an error and returns None for a file that is not a usable picture.
    ``key`` keeps the widgets of different pages apart; each source has its own sample list.
    """
    samples = source.samples
    with st.sidebar:
        st.subheader("Image")
        names = list(samples)
        default = names.index(source.view.default_sample) if source.view.default_sample in names else 0
        sample = st.selectbox(f"Sample ({source.view.sample_label})", names, index=default,
                              key=f"{key}_sample_{source.key}") if names else None
        upload = st.file_uploader(
            "…or upload a photo", type=upload_check.photo_types(UPLOAD_TYPES), key=f"{key}_upload",
            max_upload_size=IMAGE_MAX_MB,
            help="JPEG, PNG, WebP, BMP or GIF (first frame). The model looks at a square centre crop.",
        )
        photo = None
        if st.toggle("Take a photo with the camera", key=f"{key}_camera_on"):
            photo = st.camera_input("Camera", key=f"{key}_camera", label_visibility="collapsed")
    chosen = photo or upload
    if chosen is None:
        return (samples[sample].read_bytes(), f"sample {sample}") if sample else None
    if chosen.size > IMAGE_MAX_MB * 1024 * 1024:  # the browser enforces the cap; a hand-made request may not
        st.error(f"{upload_check.shown(chosen.name)} cannot be used: over {IMAGE_MAX_MB} MB.", icon=":material/block:")
        return None
    # Checked once per upload (app.upload): the pages get the clean picture, never the file itself.
    result = upload_check.checked(f"a2lens_checked_{key}_{'camera' if chosen is photo else 'upload'}", chosen)
    if result.error is not None:
        st.error(f"{upload_check.shown(chosen.name)} cannot be used: {result.error}", icon=":material/block:")
        return None
    for note in result.notes:
        st.info(f"{upload_check.shown(chosen.name)}: {note}", icon=":material/info:")
    return result.data, "camera photo" if chosen is photo else chosen.name[:upload_check.ECHO_CHARS]


def _forget_stale_widget_records(on_script_finished):
    """Wrap ``SessionState.on_script_finished`` so a session forgets the records of widgets it no longer shows.

    Streamlit (1.67) drops a stale widget's value at the end of a run but keeps its
    ``WidgetMetadata`` (callback, serializers) forever. A chart's widget id hashes its whole
    figure, so every new image or click makes a new one, and Explore's ``on_select`` lambdas
    close over the figure and the probe: each upload left ~1 MB behind per session
    (README, Classroom: Memory). Kept: the widgets of this run and every widget with a value,
    which includes those of fragments that did not run.
    """
    @functools.wraps(on_script_finished)
    def wrapper(self, widget_ids_this_run, *, remove_stale_widgets: bool = True):
        on_script_finished(self, widget_ids_this_run, remove_stale_widgets=remove_stale_widgets)
        if remove_stale_widgets:  # False when the run's widget list is incomplete (Streamlit's own rule)
            widgets = self._new_widget_state
            live = widgets.states.keys() | self._old_state.keys() | widget_ids_this_run
            for stale in widgets.widget_metadata.keys() - live:
                del widgets.widget_metadata[stale]

    wrapper.forgets_stale_widget_records = True
    return wrapper


if not getattr(SessionState.on_script_finished, "forgets_stale_widget_records", False):
    SessionState.on_script_finished = _forget_stale_widget_records(SessionState.on_script_finished)


def fit_note(probe: ImageMaps) -> str | None:
    """The plain warning for a picture that fits none of the model's classes well, or None.

    The rule is :meth:`ImageMaps.fits_none`: the most probable class gets less than FIT_THRESHOLD.
    """
    if not probe.fits_none():
        return None
    (best, p), = probe.top(1)
    return (f"This picture fits none of the {len(probe.classes)} classes well: the best guess, "
            f"**{best.replace('_', ' ')}**, gets only {p:.0%}, under {FIT_THRESHOLD:.0%}. The model knows only the "
            "classes listed in the sidebar and must pick one of them, even for a coffee cup.")


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
