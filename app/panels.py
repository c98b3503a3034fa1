"""Panels that lay out one attention module's maps by the design it is, and Grad-CAM beside them.

Shared by Explore and Compare, so a page works for any model: the zoo's, or your own timm or
torchvision model whose modules the adapters read (:mod:`a2core.probe.adapters`). The maps come
from ``app.common.run_probe``, Grad-CAM from :func:`gradcam`; the figures from :mod:`a2core.figures`.
Layout only: every number is computed in a2core.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from a2core import figures, grad_cam
from a2core.figures import compare as fc
from a2core.figures import lens as figure_lens
from a2core.figures import series as figure_series
from a2core.figures.labels import class_label
from a2core.figures.gradcam import DIFFERENCE, gradcam_over_image
from a2core.images import to_tensor
from a2core.lessons import block_inputs
from a2core.probe import analysis, block_strides
from a2core.probe.gradcam import holder_of
from app.common import CACHE_TTL_S, clicked_position, fit_note, load_model
from app.lens import lens

CHANNEL_KINDS = ("SqueezeExcitation", "EfficientChannelAttention")
#: The lens's column on Explore is never narrower than this: its map (at least LENS_MAP_PX, growing with the
#: screen) and its bars (at least 240 px) side by side, also at 1024 px with the sidebar open.
LENS_MIN_PX = 560
LENS_MAP_PX = 280
#: How each design's maps are named in a block picker.
KIND_LABELS = {
    "SqueezeExcitation": "SE", "EfficientChannelAttention": "ECA", "GlobalSecondOrderPooling": "GSoP",
    "NonLocal": "Non-local", "GlobalContext": "GC", "DoubleAttention": "A²",
    "CBAM": "CBAM", "BAM": "BAM", "SelectiveKernel": "SK", "CrissCross": "CC-Net", "SplitAttention": "ResNeSt",
    "TripletAttention": "Triplet",
}
#: The designs that weigh branches per channel: their choice is summarised per stage beside the lens.
BRANCH_KINDS = {"SelectiveKernel": "branch", "SplitAttention": "radix"}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def show(fig, key: str) -> None:
    fig.update_layout(width=None, autosize=True)
    st.plotly_chart(fig, key=key, config={"displayModeBar": False})


def card_grid(key: str, min_px: int):
    """A container whose children (bordered cards) fill the page's width as a grid: as many columns of at least
    ``min_px`` as fit, for any number of cards (a stylesheet on the container's key class, nothing drawn)."""
    st.html(f"<style>.st-key-{key} {{ display: grid !important; gap: 0.5rem; "
            f"grid-template-columns: repeat(auto-fill, minmax(min({min_px}px, 100%), 1fr)); }}</style>")
    return st.container(key=key)


def wrapping_columns(key: str, spec, first_min_px: int):
    """``st.columns(spec)`` whose first column is never narrower than ``first_min_px``: on a narrow screen the
    others wrap below it at full width instead of squeezing it (Streamlit stacks columns only under 640 px)."""
    st.html(f"<style>.st-key-{key} [data-testid='stHorizontalBlock'] {{ flex-wrap: wrap; }} "
            f".st-key-{key} [data-testid='stColumn']:first-child {{ min-width: min({first_min_px}px, 100%); }}</style>")
    with st.container(key=key):
        return st.columns(spec)


def _batch(model, view: np.ndarray):
    # The model's view (S, S, 3) uint8 (ImageMaps.image: the picture already cropped and resized as the model
    # sees it) → its (1, 3, S, S) input: the same tensor as a2core.images.preprocess of the picture at S px.
    return to_tensor(view, model.meta.mean, model.meta.std).unsqueeze(0)


@st.cache_data(show_spinner=False, max_entries=32, ttl=CACHE_TTL_S)
def feature_maps(arch: str, path: str, view: np.ndarray, name: str) -> np.ndarray:
    """The feature map X (c, h, w) that the attention module ``name`` of ``arch`` receives for ``view``
    (the model's view, (S, S, 3) uint8: ``ImageMaps.image``)."""
    model = load_model(arch, path)
    _, inputs = block_inputs(model, _batch(model, view), names=[name])
    return inputs[name][0].numpy()


@st.cache_data(show_spinner="Computing Grad-CAM…", max_entries=64, ttl=CACHE_TTL_S)
def gradcam(arch: str, path: str, view: np.ndarray, layer: str, target: int | None) -> tuple[np.ndarray, int]:
    """Grad-CAM (h, w) of ``target`` (None: the predicted class) at ``layer`` for ``view`` (the model's view,
    (S, S, 3) uint8: ``ImageMaps.image``), and the class."""
    # On the shared model, concurrently with other sessions: the layer's output is read through the
    # thread's own tap (a2core.probe.taps), which load_model put on every layer holding a block.
    model = load_model(arch, path)
    cams, classes = grad_cam(model, _batch(model, view), layer, target)
    return cams[0], int(classes[0])


def has_extras(block) -> bool:
    """Whether :func:`extras_panel` has something to show for ``block`` beyond its lens card."""
    return block.kind in (*CHANNEL_KINDS, "GlobalSecondOrderPooling", "CBAM", "BAM", "TripletAttention") or (
        block.kind == "GlobalContext" and block.arrays.get("scale") is not None)


def extras_panel(key, arch, path, block, image, top):
    """What a design computes that does not depend on the position and is not on its lens card: the top
    channels of an SE/ECA block's input X, GSoP's covariance, GC's channel gate (timm's fuse_scale)."""
    if block.kind in CHANNEL_KINDS:
        weights = block.arrays["channel"]
        idx = fc.top_channels(weights, top)
        x = feature_maps(arch, path, image, block.name)
        st.caption(f"top {top} channels of the block's input X {tuple(x.shape)}, over the image")
        show(fc.feature_maps_over_image(image, x, idx, weights), f"{key}_features")
    elif block.kind == "GlobalSecondOrderPooling":
        cov = block.arrays["covariance"]
        show(fc.covariance_heatmap(cov, title=f"channel covariance Σ {cov.shape[0]}×{cov.shape[1]}"), f"{key}_cov")
    elif block.kind == "GlobalContext" and block.arrays.get("scale") is not None:
        st.caption("its gate on the channels, x ⊙ gate (timm's fuse_scale)")
        show(fc.channel_bars(block.arrays["scale"], title="channel gate, sorted"), f"{key}_scale")
    elif block.kind == "CBAM":  # the lens shows the spatial gate; the channel gate comes first
        st.caption("its channel gate M_c, applied before the spatial gate on the lens")
        show(fc.channel_bars(block.arrays["channel"], top, title="channel gate M_c, sorted"), f"{key}_channel")
    elif block.kind == "BAM":  # the lens shows the combined gate; here its two branches, added inside σ
        st.caption("its two branches, added before the sigmoid: 1 + σ(M_c + M_s) scales the features")
        show(fc.channel_bars(block.arrays["channel_logits"], top, title="channel branch M_c, sorted"),
             f"{key}_channel")
        show(figures.heatmap_over_image(image, block.arrays["spatial_logits"], title="spatial branch M_s",
                                        label="M_s", size=260), f"{key}_spatial")
    elif block.kind == "TripletAttention":  # the lens shows the H–W branch
        st.caption("its two other branches, each a gate over a channel and one spatial axis")
        show(figure_series.triplet_branches(block.arrays["channel_width"], block.arrays["channel_height"]),
             f"{key}_branches")


def branch_labels(arch: str, path: str, block) -> list[str]:
    """What each branch of an SK or split-attention block is: SK's kernels by their field, ResNeSt's splits."""
    if block.kind == "SelectiveKernel":
        dilations = load_model(arch, path).get_submodule(block.name).dilations
        return [f"3×3, dilation {d} ({2 * d + 1}×{2 * d + 1} field)" if d > 1 else "3×3" for d in dilations]
    return [f"split {r + 1}" for r in range(len(block.arrays[BRANCH_KINDS[block.kind]]))]


def branch_choice_panel(key: str, arch: str, path: str, probe, block) -> None:
    """Which branch each channel picks, per stage, over every block of this design in the model."""
    field = BRANCH_KINDS[block.kind]
    weights = {n: b.arrays[field] for n, b in probe.blocks.items() if b.kind == block.kind}
    what = "kernel" if block.kind == "SelectiveKernel" else "split"
    st.caption(f"Every {kind_label(block.kind)} block of the model: the share of each stage's channels whose "
               f"largest weight is each {what} (the softmax over the branches, per channel).")
    show(figure_series.branch_choice_bars(figure_series.branch_shares(weights), branch_labels(arch, path, block),
                                          title=f"which {what} the channels pick, per stage"), f"{key}_stages")


def module_caption(block) -> str:
    """One module: its design, where it was read from, its feature map and parameters."""
    shape = tuple(block.feature_size[-2:])
    params = "".join(f", {k}={v}" for k, v in block.params.items())
    module = block.module.rsplit(".", 1)[-1]
    origin = "" if module == block.kind else f" (read from {block.module.split('.')[0]}'s {module})"
    return f"{block.name}: {block.kind}{origin}, feature map {shape[0]}×{shape[1]}{params}"


def gradcam_panel(key, arch, path, probe, block_name, cell_fraction, target=None, size_px=300,
                  caption=True, **style):
    """Grad-CAM of ``target`` (the predicted class by default) at the layer holding ``block_name``,
    with the pinned position's ✕ on it (the lens above moves it)."""
    model = load_model(arch, path)
    layer = holder_of(model, block_name)
    cam, explained = gradcam(arch, path, probe.image, layer, target)
    cell = analysis.position_index(cell_fraction, cam.shape)
    # The title in markdown, which wraps in a narrow card (a plotly title is cut at the figure's edge).
    st.markdown(f"**Grad-CAM of “{class_label(probe.classes[explained])}”** at `{layer}`")
    show(gradcam_over_image(probe.image, cam, title="", position=cell, size=size_px, **style), key)
    st.caption(f"✕ at cell {cell} of the {cam.shape[0]}×{cam.shape[1]} map of `{layer}`" + (f". {DIFFERENCE}" if caption
                                                                                          else ""))


@st.cache_data(show_spinner=False, max_entries=16, ttl=CACHE_TTL_S)
def module_strides(arch: str, path: str, size: int) -> dict[str, int]:
    """{attention module name: stride of its feature map} of ``arch`` at ``size`` px, forward order."""
    return block_strides(load_model(arch, path), size)


PREDICTED = "the predicted class"


def class_picker(key: str, classes: tuple[str, ...], predicted: str) -> int | None:
    """A select box for the class Grad-CAM explains → its index, or None for the predicted class (``predicted``,
    named in the Grad-CAM's title)."""
    return st.selectbox(
        "Grad-CAM of the class", [None, *range(len(classes))], key=key,
        # The first option's label stays the same for every picture: a label that named the predicted class
        # changed with each new photo, and the browser then dropped the choice ("Choose an option").
        format_func=lambda i: PREDICTED if i is None else class_label(classes[i]),
    )


@st.fragment
def attention_view(probe, arch: str, path: str, label: str, colorscale: str, opacity: float,
                   source_key: str, trained_size: int, top: int = 3, verdict=None, photo: str | None = None) -> None:
    """Explore for any model: each attention module's maps as its design has them, Grad-CAM beside them,
    and the prediction. Rerun on its own when a position is pinned. ``photo``: the picture's digest, which
    carries its boxes (:mod:`app.boxes`)."""
    style = dict(colorscale=colorscale, opacity=opacity)
    blocks = probe.blocks
    if not blocks:
        st.info("The plain ResNet has no attention module: it is the baseline every other model adds one design to."
                if arch == "resnet" else
                f"{arch} has no attention module that A²Lens reads (see docs/own-model.md).")
        return
    names = list(blocks)
    name = st.selectbox(
        "Attention module", names, index=len(names) - 1, key=f"explore_module_{source_key}",
        format_func=lambda n: f"{n} · {kind_label(blocks[n].kind)} · 1/{probe.size // blocks[n].feature_size[-1]} "
        "of the view",
    )
    block = blocks[name]
    h, w = block.feature_size[-2:]
    fraction = clicked_position("shared")
    st.markdown(f"**{label}** · model view {probe.size}×{probe.size} px · module `{name}` "
                f"(`{block.module}`), read as **{kind_label(block.kind)}**: feature map **{h}×{w}** · "
                f"{len(blocks)} attention modules in {arch}")
    maps, prediction = wrapping_columns(f"explore_top_{source_key}", [2.05, 0.75], LENS_MIN_PX)
    with maps:
        st.markdown("#### What the block computes: hover a position (click to pin it, arrow keys move it)")
        lens(figure_lens.lens_data(probe.image, [figure_lens.block_card(block, caption=module_caption(block))],
                                   position=fraction, layout="explore", map_px=LENS_MAP_PX, **style),
             key=f"explore_lens_{source_key}", photo=photo)
        if has_extras(block):
            extras_panel(f"explore_extras_{source_key}", arch, path, block, probe.image, top)
        if block.kind in BRANCH_KINDS:
            branch_choice_panel(f"explore_branches_{source_key}", arch, path, probe, block)
    with prediction:
        # The zoo's Explore rule: the view at its own width, and the note for a picture that fits no class.
        prediction_panel(probe, arch, f"its input size is {trained_size} px", trained_size, verdict)
    st.subheader("Grad-CAM beside the attention")
    cam, note = st.columns([1.2, 1.0])
    with cam:
        (best, _), = probe.top(1)
        target = class_picker(f"explore_gradcam_class_{source_key}", probe.classes, best)
        gradcam_panel(f"explore_gradcam_{source_key}", arch, path, probe, name, fraction, target,
                      caption=False, **style)
    with note:
        st.caption(DIFFERENCE)


def prediction_panel(probe, arch: str, size_note: str, trained_size: int, verdict=None) -> None:
    """The model's view, its top-5 and the note for a picture that fits none of its classes: ``verdict``'s
    (:func:`app.common.fit_verdict`) with its line on what the flag means, else :func:`fit_note`'s.

    ``size_note`` is said of the model when the view is not ``trained_size`` px.
    """
    st.markdown("#### Prediction")
    # Whole pixels, shown at their own width so the browser does not smooth them: a 32-px view as 5×5
    # blocks, a 160-px view pixel for pixel.
    shown = figures.crisp(probe.image, min_side=150)
    st.image(shown, caption=f"The model's view ({probe.size}×{probe.size} px)", width=shown.shape[1])
    st.plotly_chart(figures.topk_bars(probe.top(5)), key="explore_top5", width="stretch",
                    config={"displayModeBar": False})
    note = fit_note(probe) if verdict is None else verdict.note
    if note is not None:
        st.warning(note, icon=":material/help:")
    if verdict is not None:
        st.caption(verdict.about)
    st.caption(f"{arch} at {probe.size} px" + (f" ({size_note})" if probe.size != trained_size else ""))


def gradcam_card(arch: str, path: str, label: str, picture, size: int, name: str, fraction) -> None:
    """Compare's Grad-CAM row: one model's Grad-CAM of its predicted class at the layer holding ``name``."""
    from a2core.weights import WeightsError
    from app.common import run_probe

    st.markdown(f"**{label}**")
    try:
        probe = run_probe(arch, path, picture, size)
        model = load_model(arch, path)
        holder_of(model, name)
    except (FileNotFoundError, WeightsError) as error:
        st.info(f"{arch} is not available: {error}")
        return
    except (AttributeError, ValueError):  # no such layer in this model
        st.caption(f"{arch} has no layer holding `{name}`.")
        return
    gradcam_panel(f"cmp_gradcam_{arch}", arch, path, probe, name, fraction, caption=False, size_px=260)
