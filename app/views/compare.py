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
from a2core.probe import analysis
from a2core.training import shipped_archs, zoo_rows
from a2core.weights import WeightsError
from app.common import clicked_position, image_input, load_model, run_probe, weights_dir

DEFAULT_ARCHS = ["se_resnet", "nl_resnet", "a2_resnet"]
BLOCKS = {"layer2.2.attn": 2, "layer3.2.attn": 4}  # block name → stride of its feature map
CARD_PX = 270  # a model's card: three fit beside each other at 1440 px, two at 1024 px
CLICK_KEYS = "cmp_click_"


@st.cache_data(show_spinner=False, max_entries=32)
def feature_maps(arch: str, image_bytes: bytes, size: int) -> dict[str, np.ndarray]:
    """The feature map X (c, h, w) every attention block of ``arch`` receives for this image."""
    model = load_model(arch)
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


def channel_column(arch, block, image, image_bytes, size, name, top):
    weights = block.arrays["channel"]
    st.plotly_chart(fc.channel_bars(weights, top=top, title="channel weights s, sorted"), key=f"{arch}_bars")
    idx = fc.top_channels(weights, top)
    x = feature_maps(arch, image_bytes, size)[name]
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


def model_column(arch, image_bytes, size, name, cell_fraction, top):
    st.subheader(fc.ARCH_LABELS.get(arch, arch))
    try:
        result = run_probe(arch, image_bytes, size)
    except (FileNotFoundError, WeightsError) as error:
        st.info(f"{arch} is not available: {error}")
        return
    show(figures.topk_bars(result.top(3), height=150), f"{arch}_top")
    block = result.blocks.get(name)
    if block is None:
        st.caption("No attention block: the baseline that every other column adds one design to.")
        return
    shape = tuple(block.feature_size[-2:])
    cell = analysis.position_index(cell_fraction, shape)
    image = result.image
    if block.kind in ("SqueezeExcitation", "EfficientChannelAttention"):
        channel_column(arch, block, image, image_bytes, size, name, top)
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


def zoo_section(size: int) -> None:
    st.header("The zoo: accuracy and cost")
    st.markdown(
        "Every model is the same CIFAR ResNet-20 with one attention design on the last block of stages 2 "
        "and 3, trained with the same recipe, so the columns compare. *Extra* is what the attention "
        "blocks add to the plain ResNet. Top-1 is read from each weight file (see "
        "`assets/weights/MODEL_CARD.md`); parameters and FLOPs are counted on the model "
        f"(`torch.utils.flop_counter`, one {size}×{size} image)."
    )
    measure = st.toggle("Measure CPU latency on this machine (a few seconds)", key="cmp_latency")
    rows = zoo_table(str(weights_dir()), size, 20 if measure else 0)
    columns = {
        "model": [fc.ARCH_LABELS.get(r["arch"], r["arch"]) for r in rows],
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


st.title("Compare attention designs")
st.markdown(
    "The same image goes through every model of the zoo: the plain ResNet-20 and its **SE**, **ECA**, "
    "**GSoP** (channel attention), **Non-local**, **GC** (spatial attention) and **A²** (double attention) "
    "variants. Click a position on any clickable map: every model updates to the same place of the photo."
)

picked = image_input("compare")
with st.sidebar:
    st.subheader("Compare")
    shipped = shipped_archs(weights_dir())
    archs = st.multiselect(
        "Models (columns)", list(shipped), default=[a for a in DEFAULT_ARCHS if a in shipped],
        format_func=lambda a: fc.ARCH_SHORT.get(a, a), key="cmp_archs",
    )
    if missing := [fc.ARCH_LABELS.get(a, a) for a in ARCHS if a not in shipped]:
        st.caption(f"No weight file in {weights_dir()} for: {', '.join(missing)}.")
    size = st.select_slider("Input size (px)", options=[32, 64, 96], value=32, key="cmp_size",
                            help="The models were trained on 32×32; larger inputs give finer maps.")
    # The options' labels must not depend on the input size: the browser drops the choice when they change.
    name = st.radio("Block", list(BLOCKS), key="cmp_block", format_func=lambda b: f"{b} (1/{BLOCKS[b]} of the input)")
    st.caption(f"At {size} px: {size // BLOCKS[name]}×{size // BLOCKS[name]} feature map.")
    top = st.slider("Top channels / descriptors shown", 1, 5, 3, key="cmp_top")

if picked is not None:
    image_bytes, label = picked
    shape = (size // BLOCKS[name], size // BLOCKS[name])
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
                model_column(arch, image_bytes, size, name, fraction, top)

# The zoo's costs do not depend on the image: shown even when an upload is refused.
zoo_section(size)
