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
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.state.session_state import SessionState

from a2core.figures.labels import class_label
from a2core.images import ImageError
from a2core.models import ALL_ARCHS, attention_blocks, build
from a2core.probe import FIT_THRESHOLD, BlockMaps, ImageMaps, block_strides, compute_maps, install_taps
from a2core.models import load_pretrained
from app import photo as shared_photo
from app import upload as upload_check
from app import urlstate
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
    "FitVerdict",
    "fit_note",
    "fit_verdict",
    "image_input",
    "load_model",
    "model_source",
    "run_probe",
    "shown_sample",
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
            wanted = (st.session_state.get(_SOURCE_KEY), urlstate.wanted("zoo"))
            st.session_state[widget] = next((k for k in wanted if k in labels), (main or list(labels))[0])
            if wanted[0] is None and wanted[1] is not None and wanted[1] not in labels:
                urlstate.note("zoo", wanted[1], f"the zoos here are {', '.join(k for k in labels)}; "
                              f"showing {st.session_state[widget]}")
        chosen = st.radio("Zoo", list(labels), format_func=labels.get, key=widget,
                          help="Both zoos hold the same designs (those whose weights are there), trained on "
                          "different pictures.")
        st.session_state[_SOURCE_KEY] = chosen
        if chosen == own_source.KEY:
            return own_source.source(key, load_model)
        for zoo in zoos:
            if zoo.key not in offered:
                lacking = [a for a in (needs or ALL_ARCHS) if a not in zoo.weights]
                st.caption(f"**{zoo.label}**: {zoo.view.pending + ', ' if zoo.view.pending else ''}no weights yet "
                           f"for {', '.join(lacking)} (in `{zoo.folder}`).")
        source = offered[chosen]
        st.caption(f"These models know {len(source.classes)} classes: "
                   f"{', '.join(class_label(c) for c in source.classes)}. Any other picture still gets "
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


@st.cache_data(show_spinner="Running the model…", max_entries=64, ttl=CACHE_TTL_S, hash_funcs=upload_check.HASH)
def run_probe(arch: str, path: str, picture: upload_check.Picture, size: int) -> ImageMaps:
    """One forward pass of ``arch`` (weights at ``path``) on ``picture`` at ``size`` px → every block's maps
    as numpy arrays (and ``image``, the model's view, which the pages' other model runs take).

    Cached by (arch, path, the picture's digest, size): Streamlit keeps only the pickled result, at most
    64 of them (0.03 MB each at 32 px, 0.43 MB at 128 px: ≤ 28 MB), each for at most an hour unused.
    """
    return compute_maps(load_model(arch, path), picture.image, size)


@st.cache_resource(show_spinner=False, max_entries=64)
def sample_picture(path: str) -> upload_check.Picture:
    """The bundled sample at ``path``, decoded once per server (the 50 shipped: 3 MiB of pixels). Raises
    ImageError for a damaged file."""
    return upload_check.picture(Path(path).read_bytes())


def sample_label(sample: str) -> str:
    """A sample as the picker shows it: its class with spaces, then its file (``English springer · val_0816``)."""
    name, _, rest = sample.partition(" · ")
    return f"{class_label(name)} · {rest}" if rest else class_label(name)


#: How many photos a page's uploader has handed over: its widget key changes with each (:func:`uploader_key`).
_UPLOAD_ROUND = "a2lens_upload_round_{}"


def uploader_key(key: str) -> str:
    """The widget key of page ``key``'s photo uploader now: ``{key}_upload``, then a new one after each photo."""
    n = st.session_state.get(_UPLOAD_ROUND.format(key), 0)
    return f"{key}_upload" + (f"_{n}" if n else "")


def image_input(key: str, source: ModelSource) -> tuple[upload_check.Picture, str] | None:
    """Image picker in the sidebar: a sample of ``source``'s classes, an upload, or a camera photo.

    Returns (picture, label), a photo or upload taking precedence over the sample, decoded once
    (:class:`app.upload.Picture`); shows an error and returns None for a file that is not a usable picture.
    ``key`` keeps the widgets of different pages apart; each source has its own sample list.
    """
    samples = source.samples
    with st.sidebar:
        st.subheader("Image")
        names = list(samples)
        sample_key = f"{key}_sample_{source.key}"
        if names:  # a link's ?sample= (app.urlstate), else the zoo's default
            default = source.view.default_sample if source.view.default_sample in names else names[0]
            urlstate.seed(sample_key, "sample", names, default, describe=f"the {source.view.sample_label} samples")
        # Picking a sample leaves a photo taken on any page (app.photo).
        sample = st.selectbox(f"Sample ({source.view.sample_label})", names, key=sample_key,
                              format_func=sample_label,
                              on_change=shared_photo.forget) if names else None
        upload_key = uploader_key(key)
        upload = st.file_uploader(
            "…or upload a photo", type=upload_check.photo_types(UPLOAD_TYPES), key=upload_key,
            max_upload_size=IMAGE_MAX_MB,
            help="JPEG, PNG, WebP, BMP or GIF (first frame). The model looks at a square centre crop.",
            on_change=shared_photo.on_widget_change, args=(upload_key,),
        )
        photo = None
        if st.toggle("Take a photo with the camera", key=f"{key}_camera_on"):
            photo = st.camera_input("Camera", key=f"{key}_camera", label_visibility="collapsed",
                                    on_change=shared_photo.on_widget_change, args=(f"{key}_camera",))
        kept = shared_photo.current() if photo is None and upload is None else None
        if kept is not None:
            st.caption(f"Showing **{kept.label}**" + (f", taken on {kept.page.capitalize()}" if kept.page != key else "")
                       + ". Pick a sample above to go back to the samples.")
            st.button("Use the sample instead", key=f"{key}_photo_forget", on_click=shared_photo.forget)
    chosen = photo or upload
    if chosen is None:
        if kept is not None:  # the photo of another page, or this page's upload once its uploader was emptied
            _show_notes(kept)
            return kept.picture, kept.label
        if not sample:
            return None
        try:
            return sample_picture(str(samples[sample])), f"sample {sample_label(sample)}"
        except (OSError, ImageError) as error:
            st.error(f"The sample {upload_check.shown(sample)} cannot be used: {error}", icon=":material/block:")
            return None
    if chosen.size > IMAGE_MAX_MB * 1024 * 1024:  # the browser enforces the cap; a hand-made request may not
        st.error(f"{upload_check.shown(chosen.name)} cannot be used: over {IMAGE_MAX_MB} MB.", icon=":material/block:")
        return None
    # Checked once per upload (app.upload): the pages get the clean picture, never the file itself.
    result = upload_check.checked(f"a2lens_checked_{key}_{'camera' if chosen is photo else 'upload'}", chosen)
    if result.error is not None:
        st.error(f"{upload_check.shown(chosen.name)} cannot be used: {result.error}", icon=":material/block:")
        return None
    label = "camera photo" if chosen is photo else upload_check.printable(chosen.name[:upload_check.ECHO_CHARS])
    kept = shared_photo.Photo(result.picture, label, key, result.notes)
    shared_photo.keep(kept)  # the current image of every page from now on
    if chosen is upload:
        # Given a second file while it holds one, Streamlit's uploader (1.67) first tells the server that it
        # holds none, a whole run of the page on its sample, and only then uploads the file: every new photo
        # after the first flashed the sample and cost two runs. So the uploader is emptied as soon as its
        # photo is kept (a new widget, its file freed), and the next photo arrives in an empty one.
        st.session_state[_UPLOAD_ROUND.format(key)] = st.session_state.get(_UPLOAD_ROUND.format(key), 0) + 1
        upload_check.release(upload)
        st.rerun()
    _show_notes(kept)
    return kept.picture, kept.label


def _show_notes(photo: shared_photo.Photo) -> None:
    for note in photo.notes:
        st.info(f"{upload_check.shown(photo.label)}: {note}", icon=":material/info:")


def shown_sample(key: str, source: ModelSource) -> str | None:
    """The sample :func:`image_input` of page ``key`` shows, or None while a photo is shown instead."""
    if shared_photo.current() is not None or st.session_state.get(uploader_key(key)) is not None:
        return None
    return st.session_state.get(f"{key}_sample_{source.key}")


def _forget_stale_widget_records(on_script_finished):
    """Wrap ``SessionState.on_script_finished`` so a session forgets the records of widgets it no longer shows.

    Streamlit (1.67) drops a stale widget's value at the end of a run but keeps its
    ``WidgetMetadata`` (callback, serializers) forever. A chart's widget id hashes its whole
    figure, so every new image or click makes a new one, and Explore's ``on_select`` lambdas
    close over the figure and the probe: each upload left ~1 MB behind per session
    (docs/classroom-server.md). Kept: the widgets of this run and every widget with a value,
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
    """The plain warning for a picture the model gives less than FIT_THRESHOLD to its best class, or None.

    The rule is :meth:`ImageMaps.fits_none`; it stands where a source has no calibrated flag (:func:`fit_verdict`).
    """
    if not probe.fits_none():
        return None
    (best, p), = probe.top(1)
    return (f"This picture fits none of the {len(probe.classes)} classes well: the best guess, "
            f"**{class_label(best)}**, gets only {p:.0%}, under {FIT_THRESHOLD:.0%}. The model knows only the "
            "classes listed in the sidebar and must pick one of them, even for a coffee cup.")


@dataclass(frozen=True)
class FitVerdict:
    """The "fits none" flag as a page shows it: ``note`` (a warning, None when not flagged) and ``about``
    (one line: what the flag means here and what it cannot promise)."""

    flagged: bool
    note: str | None
    about: str


@st.cache_data(show_spinner="Asking the zoo's models whether the photo fits…", max_entries=64, ttl=CACHE_TTL_S,
               hash_funcs=upload_check.HASH)
def zoo_fit(zoo: str, root: str | None, picture: upload_check.Picture) -> tuple[float, float]:
    """(score, threshold) of :func:`a2core.probe.fits.fit_score` for an uploaded or sample photo.

    Once per photo for the whole server (keyed on its digest): the same photo in another session, or on
    another page, costs no forward pass.
    """
    from a2core.probe.fits import fit_score

    score, rule = fit_score(picture.image, zoo, root)
    return score, rule.threshold


def fit_verdict(source: ModelSource, picture: upload_check.Picture, probe: ImageMaps) -> FitVerdict:
    """The flag for this photo: a zoo's calibrated rule (``<zoo weights>/fits_none.json``) where it has one,
    else the top-1 probability under FIT_THRESHOLD of the model shown (``probe``), said to be uncalibrated."""
    from a2core.probe.fits import read_rule

    root = os.environ.get("A2LENS_WEIGHTS")
    rule = read_rule(source.zoo, root) if source.folder is not None else None
    if rule is not None:
        try:
            score, threshold = zoo_fit(source.zoo, root, picture)
        except FileNotFoundError:  # a model of the rule is missing: the fallback below
            rule = None
    if rule is None:
        flagged = probe.fits_none()
        who = "your model" if source.folder is None else "this model"
        return FitVerdict(flagged, fit_note(probe), (
            f"“Fits none” here means {who}'s top class gets under {FIT_THRESHOLD:.0%}: an uncalibrated sign of a "
            "guess. A foreign photo the model is sure about is not flagged."))
    shipped = next((r for r in rule.report.get("rows", []) if r["score"].startswith("shipped")), None)
    caught = (f", and caught {shipped['foreign']:.0%} of {rule.report['counts']['foreign']} photos of other "
              "ImageNet classes" if shipped and "foreign" in shipped else "")
    about = (f"“Fits none” means the zoo's {len(rule.archs)} models together find the photo unlike all "
             f"{len(probe.classes)} classes (their summed energy). Set to flag at most {rule.target:.0%} of in-class "
             f"photos{caught}: it cannot promise to catch every foreign photo, nor that a flagged one is foreign.")
    note = None
    if score > threshold:
        (best, p), = probe.top(1)
        note = (f"This photo fits none of the {len(probe.classes)} classes: the zoo's {len(rule.archs)} models "
                f"together find no class like it (the best guess here, **{best.replace('_', ' ')}**, gets {p:.0%}). "
                "The models know only the classes listed in the sidebar and must pick one of them.")
    return FitVerdict(score > threshold, note, about)


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
