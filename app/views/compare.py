"""Compare page: one image through every attention design of the zoo, side by side.

Layout only: the forward passes come from app.common (cached per image), the
numbers from a2core.probe.analysis / a2core.training.zoo, the figures from a2core.figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from a2core.figures import compare as fc
from a2core.figures import explore as figures
from a2core.images import load_image, model_view, to_tensor
from a2core.lessons import block_inputs
from a2core.models import ARCHS
from a2core.probe import FIT_THRESHOLD, analysis
from a2core.training import zoo_rows
from a2core.weights import WeightsError
from app.common import a2_blocks, clicked_position, image_input, load_model, model_source, run_probe

DEFAULT_ARCHS = ["se_resnet", "nl_resnet", "a2_resnet"]
CARD_PX = 270  # a model's card: three fit beside each other at 1440 px, two at 1024 px
CLICK_KEYS = "cmp_click_"


@st.cache_data(show_spinner=False, max_entries=32)
def feature_maps(arch: str, path: str, image_bytes: bytes, size: int) -> dict[str, np.ndarray]:
    """The feature map X (c, h, w) every attention block of ``arch`` (weights at ``path``) receives for this image."""
    model = load_model(arch, path)
    view = model_view(load_image(image_bytes), size)
    _, inputs = block_inputs(model, to_tensor(view, model.meta.mean, model.meta.std).unsqueeze(0))
    return {name: x[0].numpy() for name, x in inputs.items()}


@st.cache_data(show_spinner="Counting parameters and FLOPs…")
def zoo_table(folder: str, size: int, latency_repeats: int) -> list[dict]:
    return zoo_rows(folder, size=size, latency_repeats=latency_repeats)


def on_click(key: str, image_size: int) -> None:
    """Selection callback of a clickable map: move the shared position to the clicked pixel.

    Stored as a fraction of the image, so a click on an 8×8 map and one on a
    16×16 map mean the same place of the photo for every model.
    """
    points = st.session_state[key].selection.points
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


def channel_column(arch, path, block, image, image_bytes, size, name, top):
    weights = block.arrays["channel"]
    st.plotly_chart(fc.channel_bars(weights, top=top, title="channel weights s, sorted"), key=f"{arch}_bars")
    idx = fc.top_channels(weights, top)
    x = feature_maps(arch, path, image_bytes, size)[name]
    st.caption(f"top {top} channels of the block's input X {tuple(x.shape)}, over the image")
    show(fc.feature_maps_over_image(image, x, idx, weights), f"{arch}_features")


def non_local_column(arch, block, image, cell, shape):
    row = fc.attention_row(block.arrays["attention"], cell, shape)
    st.caption(f"attention row of the clicked cell {cell}: softmax over all {shape[0] * shape[1]} positions")
    clickable(
        figures.heatmap_over_image(image, row, position=cell, clickable=True, label="attention", size=300),
        f"{CLICK_KEYS}{arch}", image.shape[0],
    )


def a2_column(arch, block, image, cell, shape, top):
    gather, distribute = block.arrays["gather"], block.arrays["distribute"]
    implied = analysis.implied_attention(gather, distribute, cell)
    st.caption(f"implied attention of cell {cell}: a mix of n = {len(gather)} gathering maps (rank n)")
    clickable(
        figures.heatmap_over_image(image, implied, position=cell, clickable=True, label="attention", size=300),
        f"{CLICK_KEYS}{arch}", image.shape[0],
    )
    used = analysis.top_descriptors(distribute, cell, k=top)
    v = distribute[:, cell[0], cell[1]]
    st.caption("gathering maps of the descriptors this cell uses most (its distribution weight v in the title)")
    titles = [f"d{i} · v {v[i]:.2f}" for i in used]
    grid = figures.map_grid(image, gather[used], titles, cols=len(used), label="gathering weight")
    show(grid, f"{arch}_gather")


def context_column(arch, block, image, shape):
    context = block.arrays["context"].reshape(shape)
    st.caption("global context map: one softmax over positions, the same for every query")
    show(figures.heatmap_over_image(image, context, label="context weight", size=300), f"{arch}_context")


def gsop_column(arch, block, top):
    cov = block.arrays["covariance"]
    show(fc.covariance_heatmap(cov, title=f"channel covariance Σ {cov.shape[0]}×{cov.shape[1]}"), f"{arch}_cov")
    show(fc.channel_bars(block.arrays["channel"], top=top, title="resulting channel weights, sorted"), f"{arch}_bars")


def arch_labels(backbone: str) -> dict[str, str]:
    """Each arch's card title; the plain one is named after the zoo's backbone (ResNet-20 or ResNet-18)."""
    return {**fc.ARCH_LABELS, "resnet": f"{backbone} (no attention)"}


def model_column(arch, path, label, image_bytes, size, name, cell_fraction, top):
    st.subheader(label)
    try:
        result = run_probe(arch, path, image_bytes, size)
    except (FileNotFoundError, WeightsError) as error:
        st.info(f"{arch} is not available: {error}")
        return
    show(figures.topk_bars(result.top(3), height=150), f"{arch}_top")
    if result.fits_none():
        st.caption(f"Fits none of its classes well: top-1 {result.probs.max():.0%}, under {FIT_THRESHOLD:.0%}.")
    block = result.blocks.get(name)
    if block is None:
        st.caption("No attention block: the baseline that every other column adds one design to.")
        return
    shape = tuple(block.feature_size[-2:])
    cell = analysis.position_index(cell_fraction, shape)
    image = result.image
    if block.kind in ("SqueezeExcitation", "EfficientChannelAttention"):
        channel_column(arch, path, block, image, image_bytes, size, name, top)
    elif block.kind == "NonLocal":
        non_local_column(arch, block, image, cell, shape)
    elif block.kind == "DoubleAttention":
        a2_column(arch, block, image, cell, shape, top)
    elif block.kind == "GlobalContext":
        context_column(arch, block, image, shape)
    elif block.kind == "GlobalSecondOrderPooling":
        gsop_column(arch, block, top)
    params = "".join(f", {k}={v}" for k, v in block.params.items())
    st.caption(f"{name}: {block.kind}, feature map {shape[0]}×{shape[1]}{params}")


def zoo_section(source, size: int, labels: dict[str, str]) -> None:
    if source.folder is None:  # a source that is not a zoo has no table
        return
    st.header(f"The zoo: accuracy and cost ({source.label})")
    st.markdown(
        f"{source.view.about} *Extra* is what the attention blocks add to the plain ResNet. Top-1 is read from "
        "each weight file (empty when the file does not say); parameters and FLOPs are counted on the model "
        f"(`torch.utils.flop_counter`, one {size}×{size} image)."
    )
    measure = st.toggle("Measure CPU latency on this machine (a few seconds)", key="cmp_latency")
    rows = zoo_table(str(source.folder), size, 20 if measure else 0)
    columns = {
        "model": [labels.get(r["arch"], r["arch"]) for r in rows],
        # in percent, so the table shows the two decimals the model card reports (88.36 %, not 88 %)
        "top-1 (val)": [None if r["val_accuracy"] is None else 100 * r["val_accuracy"] for r in rows],
        "params": [r["params"] for r in rows],
        "extra params": [r["extra_params"] for r in rows],
        "MFLOPs": [r["flops"] / 1e6 for r in rows],
        "extra MFLOPs": [r["extra_flops"] / 1e6 for r in rows],
    }
    if measure:  # no column of "None" before anything was measured
        columns["latency (ms)"] = [r["latency_ms"] for r in rows]
    st.dataframe(
        pd.DataFrame(columns),
        hide_index=True,
        column_config={
            "top-1 (val)": st.column_config.NumberColumn(format="%.2f %%"),
            "params": st.column_config.NumberColumn(format="localized"),
            "extra params": st.column_config.NumberColumn(format="localized"),
            "MFLOPs": st.column_config.NumberColumn(format="%.2f"),
            "extra MFLOPs": st.column_config.NumberColumn(format="%.3f"),
            "latency (ms)": st.column_config.NumberColumn(format="%.2f"),
        },
        key="cmp_zoo",
    )


source = model_source("compare", needs=())
if source is None:
    st.stop()
labels = arch_labels(source.view.backbone)
st.title("Compare attention designs")
st.markdown(
    f"The same image goes through every model of the zoo: the plain {source.view.backbone} and its **SE**, "
    "**ECA**, **GSoP** (channel attention), **Non-local**, **GC** (spatial attention) and **A²** (double "
    "attention) variants. Click a position on any clickable map: every model updates to the same place of the photo."
)

picked = image_input("compare", source)
# The widgets whose choices follow the zoo have one key per zoo: a value kept from the other zoo would not fit.
with st.sidebar:
    st.subheader("Compare")
    shipped = source.archs
    archs = st.multiselect(
        "Models (columns)", list(shipped), default=[a for a in DEFAULT_ARCHS if a in shipped] or list(shipped),
        format_func=lambda a: labels.get(a, a).split(" (")[0], key=f"cmp_archs_{source.key}",
    )
    if missing := [labels.get(a, a) for a in ARCHS if a not in shipped]:
        st.caption(f"No weight file in {source.folder} for: {', '.join(missing)}.")
    sizes = source.sizes[:3]
    size = st.select_slider("Input size (px)", options=sizes, value=source.input_size, key=f"cmp_size_{source.key}",
                            help=f"The models were trained on {source.input_size}×{source.input_size}; larger inputs "
                            "give finer maps.")
    strides = {b.name: b.stride for b in a2_blocks(source.zoo)}  # the blocks every design of the zoo has
    # The options' labels must not depend on the input size: the browser drops the choice when they change.
    name = st.radio("Block", list(strides), key=f"cmp_block_{source.key}",
                    format_func=lambda b: f"{b} (1/{strides[b]} of the input)")
    st.caption(f"At {size} px: {size // strides[name]}×{size // strides[name]} feature map.")
    top = st.slider("Top channels / descriptors shown", 1, 5, 3, key="cmp_top")

if picked is not None:
    image_bytes, label = picked
    shape = (size // strides[name], size // strides[name])
    fraction = clicked_position("shared")
    cell = analysis.position_index(fraction, shape)

    left, right = st.columns([1, 2])
    with left:
        view = np.asarray(model_view(load_image(image_bytes), size))
        st.caption(f"{label}: click a cell to move the query position")
        picker = figures.heatmap_over_image(view, np.zeros(shape), position=cell, clickable=True, opacity=0.0,
                                            label="cell", size=260)
        picker.update_traces(showscale=False, selector=dict(type="heatmap"))
        clickable(picker, f"{CLICK_KEYS}image", view.shape[0])
    with right:
        st.markdown(
            f"**Query position:** cell {cell} of the {shape[0]}×{shape[1]} feature map of `{name}` "
            f"(the point at {fraction[0]:.0%} down, {fraction[1]:.0%} across the image).\n\n"
            "- **Channel attention** (SE, ECA, GSoP) rescales whole feature maps: one weight per channel, "
            "the same at every position, so the click does not change it.\n"
            "- **Non-local** computes, for the clicked query, a softmax over all positions: an L × L matrix.\n"
            "- **A²** gathers n global descriptors, then lets each position mix them: its attention row is a "
            "mix of n gathering maps (rank n), here beside Non-local's full row.\n"
            "- **GC** uses one context map for all queries."
        )
    if not archs:
        st.info("Pick at least one model in the sidebar.")
    # One card per model, as many to a row as the screen holds (three at 1440 px, two at 1024 px): fixed
    # columns squeezed the cards on a projector and left empty bordered places after the last model.
    with st.container(horizontal=True, wrap=True, gap="small"):
        for arch in archs:
            with st.container(border=True, width=CARD_PX):
                model_column(arch, source.path(arch), labels[arch], image_bytes, size, name, fraction, top)

# The zoo's costs do not depend on the image: shown even when an upload is refused.
zoo_section(source, size, labels)
