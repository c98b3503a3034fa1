"""Panels that lay out one attention module's maps by the design it is, and Grad-CAM beside them.

Shared by Explore and Compare, so a page works for any model: the zoo's, or your own timm or
torchvision model whose modules the adapters read (:mod:`a2core.probe.adapters`). The maps come
from ``app.common.run_probe``, Grad-CAM from :func:`gradcam`; the figures from :mod:`a2core.figures`.
Layout only: every number is computed in a2core.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from a2core import grad_cam
from a2core.figures import compare as fc
from a2core.figures import explore as figures
from a2core.figures.gradcam import DIFFERENCE, gradcam_over_image
from a2core.images import load_image, preprocess
from a2core.lessons import block_inputs
from a2core.probe import analysis, block_strides
from a2core.probe.gradcam import holder_of
from app.common import CACHE_TTL_S, clicked_position, fit_note, load_model

CHANNEL_KINDS = ("SqueezeExcitation", "EfficientChannelAttention")
#: How each design's maps are named in a block picker.
KIND_LABELS = {
    "SqueezeExcitation": "SE", "EfficientChannelAttention": "ECA", "GlobalSecondOrderPooling": "GSoP",
    "NonLocal": "Non-local", "GlobalContext": "GC", "DoubleAttention": "A²",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def on_click(key: str, image_size: int) -> None:
    """Selection callback of a clickable map: move the shared position to the clicked pixel.

    Stored as a fraction of the image, so a click on an 8×8 map and one on a
    16×16 map mean the same place of the photo for every model.
    """
    state = st.session_state.get(key)
    points = state.selection.points if state is not None else []
    if points:
        x, y = points[0]["x"], points[0]["y"]
        clicked_position("shared", ((y + 0.5) / image_size, (x + 0.5) / image_size))


def clickable(fig, key: str, image_size: int) -> None:
    fig.update_layout(width=None, autosize=True)
    st.plotly_chart(
        fig, key=key, on_select=lambda: on_click(key, image_size), selection_mode=("points",),
        config={"displayModeBar": False},
    )


def show(fig, key: str) -> None:
    fig.update_layout(width=None, autosize=True)
    st.plotly_chart(fig, key=key, config={"displayModeBar": False})


@st.cache_data(show_spinner=False, max_entries=32, ttl=CACHE_TTL_S)
def feature_maps(arch: str, path: str, image_bytes: bytes, size: int, name: str) -> np.ndarray:
    """The feature map X (c, h, w) that the attention module ``name`` of ``arch`` receives for this image."""
    model = load_model(arch, path)
    _, inputs = block_inputs(model, preprocess(load_image(image_bytes), model.meta, size), names=[name])
    return inputs[name][0].numpy()


@st.cache_data(show_spinner="Computing Grad-CAM…", max_entries=64, ttl=CACHE_TTL_S)
def gradcam(arch: str, path: str, image_bytes: bytes, size: int, layer: str, target: int | None
            ) -> tuple[np.ndarray, int]:
    """Grad-CAM (h, w) of ``target`` (None: the predicted class) at ``layer`` for this image, and the class."""
    # On the shared model, concurrently with other sessions: the layer's output is read through the
    # thread's own tap (a2core.probe.taps), which load_model put on every layer holding a block.
    model = load_model(arch, path)
    cams, classes = grad_cam(model, preprocess(load_image(image_bytes), model.meta, size), layer, target)
    return cams[0], int(classes[0])


def channel_panel(key, arch, path, block, image, image_bytes, size, name, top):
    weights = block.arrays["channel"]
    st.plotly_chart(fc.channel_bars(weights, top=top, title="channel weights s, sorted"), key=f"{key}_bars")
    idx = fc.top_channels(weights, top)
    x = feature_maps(arch, path, image_bytes, size, name)
    st.caption(f"top {top} channels of the block's input X {tuple(x.shape)}, over the image")
    show(fc.feature_maps_over_image(image, x, idx, weights), f"{key}_features")


def non_local_panel(key, block, image, cell, shape, **style):
    row = fc.attention_row(block.arrays["attention"], cell, shape)
    st.caption(f"attention row of the clicked cell {cell}: softmax over all {shape[0] * shape[1]} positions")
    clickable(figures.heatmap_over_image(image, row, position=cell, clickable=True, label="attention", size=300,
                                         **style), key, image.shape[0])


def a2_panel(key, block, image, cell, top, **style):
    gather, distribute = block.arrays["gather"], block.arrays["distribute"]
    implied = analysis.implied_attention(gather, distribute, cell)
    st.caption(f"implied attention of cell {cell}: a mix of n = {len(gather)} gathering maps (rank n)")
    clickable(figures.heatmap_over_image(image, implied, position=cell, clickable=True, label="attention", size=300,
                                         **style), key, image.shape[0])
    used = analysis.top_descriptors(distribute, cell, k=top)
    v = distribute[:, cell[0], cell[1]]
    st.caption("gathering maps of the descriptors this cell uses most (its distribution weight v in the title)")
    titles = [f"d{i} · v {v[i]:.2f}" for i in used]
    show(figures.map_grid(image, gather[used], titles, cols=len(used), label="gathering weight", **style),
         f"{key}_gather")


def context_panel(key, block, image, shape, **style):
    context = block.arrays["context"].reshape(shape)
    st.caption("global context map: one softmax over positions, the same for every query")
    show(figures.heatmap_over_image(image, context, label="context weight", size=300, **style), f"{key}_context")
    if block.arrays.get("scale") is not None:
        st.caption("its gate on the channels, x ⊙ gate (timm's fuse_scale)")
        show(fc.channel_bars(block.arrays["scale"], title="channel gate, sorted"), f"{key}_scale")


def gsop_panel(key, block, top):
    cov = block.arrays["covariance"]
    show(fc.covariance_heatmap(cov, title=f"channel covariance Σ {cov.shape[0]}×{cov.shape[1]}"), f"{key}_cov")
    show(fc.channel_bars(block.arrays["channel"], top=top, title="resulting channel weights, sorted"),
         f"{key}_bars")


def block_panel(key, arch, path, block, image, image_bytes, size, cell_fraction, top, **style):
    """The maps of one attention module as its design has them; spatial maps take the shared click."""
    shape = tuple(block.feature_size[-2:])
    cell = analysis.position_index(cell_fraction, shape)
    if block.kind in CHANNEL_KINDS:
        channel_panel(key, arch, path, block, image, image_bytes, size, block.name, top)
    elif block.kind == "NonLocal":
        non_local_panel(key, block, image, cell, shape, **style)
    elif block.kind == "DoubleAttention":
        a2_panel(key, block, image, cell, top, **style)
    elif block.kind == "GlobalContext":
        context_panel(key, block, image, shape, **style)
    elif block.kind == "GlobalSecondOrderPooling":
        gsop_panel(key, block, top)
    params = "".join(f", {k}={v}" for k, v in block.params.items())
    module = block.module.rsplit(".", 1)[-1]
    origin = "" if module == block.kind else f" (read from {block.module.split('.')[0]}'s {module})"
    st.caption(f"{block.name}: {block.kind}{origin}, feature map {shape[0]}×{shape[1]}{params}")


def gradcam_panel(key, arch, path, probe, image_bytes, block_name, cell_fraction, target=None, size_px=300,
                  caption=True, takes_clicks=True, **style):
    """Grad-CAM of ``target`` (the predicted class by default) at the layer holding ``block_name``,
    with the shared click's ✕ on it; with ``takes_clicks`` a click on it moves the ✕ (a target per cell)."""
    model = load_model(arch, path)
    layer = holder_of(model, block_name)
    cam, explained = gradcam(arch, path, image_bytes, probe.size, layer, target)
    cell = analysis.position_index(cell_fraction, cam.shape)
    fig = gradcam_over_image(probe.image, cam, class_name=probe.classes[explained], layer=layer, position=cell,
                             clickable=takes_clicks, size=size_px, **style)
    if takes_clicks:
        clickable(fig, key, probe.image.shape[0])
    else:
        show(fig, key)
    st.caption(f"✕ at cell {cell} of the {cam.shape[0]}×{cam.shape[1]} map of `{layer}`" + (f". {DIFFERENCE}" if caption
                                                                                          else ""))


@st.cache_data(show_spinner=False, max_entries=16, ttl=CACHE_TTL_S)
def module_strides(arch: str, path: str, size: int) -> dict[str, int]:
    """{attention module name: stride of its feature map} of ``arch`` at ``size`` px, forward order."""
    return block_strides(load_model(arch, path), size)


def class_picker(key: str, classes: tuple[str, ...], predicted: str) -> int | None:
    """A select box for the class Grad-CAM explains → its index, or None for the predicted class."""
    return st.selectbox(
        "Grad-CAM of the class", [None, *range(len(classes))], key=key,
        format_func=lambda i: f"predicted: {predicted}" if i is None else classes[i].replace("_", " "),
    )


@st.fragment
def attention_view(probe, arch: str, path: str, image_bytes: bytes, label: str, colorscale: str, opacity: float,
                   source_key: str, trained_size: int, top: int = 3) -> None:
    """Explore for any model: each attention module's maps as its design has them, Grad-CAM beside them,
    and the prediction. Rerun on its own when a map is clicked."""
    style = dict(colorscale=colorscale, opacity=opacity)
    blocks = probe.blocks
    if not blocks:
        st.info(f"{arch} has no attention module that A²Lens reads (see the README's *Your own model*).")
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
    maps, cam, prediction = st.columns([1.1, 1.1, 0.75])
    with maps:
        st.markdown("#### What the block computes")
        block_panel(f"explore_maps_{source_key}", arch, path, block, probe.image, image_bytes, probe.size, fraction,
                    top, **style)
    with cam:
        st.markdown("#### Grad-CAM")
        (best, _), = probe.top(1)
        target = class_picker(f"explore_gradcam_class_{source_key}", probe.classes, best)
        gradcam_panel(f"explore_gradcam_{source_key}", arch, path, probe, image_bytes, name, fraction, target,
                      **style)
    with prediction:
        # The zoo's Explore's panel as it is, view width and fit note included: one rule for every model.
        prediction_panel(probe, arch, f"its input size is {trained_size} px", trained_size)


def prediction_panel(probe, arch: str, size_note: str, trained_size: int) -> None:
    """The model's view, its top-5 and the note for a picture that fits none of its classes (:func:`fit_note`).

    ``size_note`` is said of the model when the view is not ``trained_size`` px.
    """
    st.markdown("#### Prediction")
    # Whole pixels, shown at their own width so the browser does not smooth them: a 32-px view as 5×5
    # blocks, a 160-px view pixel for pixel.
    shown = figures.crisp(probe.image, min_side=150)
    st.image(shown, caption=f"The model's view ({probe.size}×{probe.size} px)", width=shown.shape[1])
    st.plotly_chart(figures.topk_bars(probe.top(5)), key="explore_top5", width="stretch",
                    config={"displayModeBar": False})
    if (note := fit_note(probe)) is not None:
        st.warning(note, icon=":material/help:")
    st.caption(f"{arch} at {probe.size} px" + (f" ({size_note})" if probe.size != trained_size else ""))


def gradcam_card(arch: str, path: str, label: str, image_bytes: bytes, size: int, name: str, fraction) -> None:
    """Compare's Grad-CAM row: one model's Grad-CAM of its predicted class at the layer holding ``name``."""
    from a2core.weights import WeightsError
    from app.common import run_probe

    st.markdown(f"**{label}**")
    try:
        probe = run_probe(arch, path, image_bytes, size)
        model = load_model(arch, path)
        holder_of(model, name)
    except (FileNotFoundError, WeightsError) as error:
        st.info(f"{arch} is not available: {error}")
        return
    except (AttributeError, ValueError):  # no such layer in this model
        st.caption(f"{arch} has no layer holding `{name}`.")
        return
    gradcam_panel(f"cmp_gradcam_{arch}", arch, path, probe, image_bytes, name, fraction, caption=False, size_px=260)
