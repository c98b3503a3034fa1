"""Explore page: one image through a pretrained model of the chosen zoo, the A²-ResNet by default with every
map of its double attention blocks; any other design of the zoo (the model picker) with its lens card, the maps
its design has, and Grad-CAM."""

import io

import numpy as np
import streamlit as st

from a2core import figures
from a2core.figures.compare import ARCH_LABELS
from a2core.figures import lens as figure_lens
from a2core.figures.gradcam import DIFFERENCE
from a2core.probe import analysis, npz_arrays
from app import boxes as photo_boxes
from app import panels, urlstate
from app.common import MAIN_ARCH, clicked_position, fit_verdict, image_input, model_source, run_probe, shown_sample
from app.lens import lens

ARCH = MAIN_ARCH
#: The descriptor grids: three tiles of 175 px to a row fit the page at 1024 px with the sidebar open (553 px);
#: four did not, and plotly shrank the grid inside a box of its full height, leaving a blank band.
GRID_COLS, GRID_TILE = 3, 175
SORT_LABELS = {"usage": "most used first", "sharpness": "sharpest first (low entropy)", "index": "block order"}


def _on_grid_click(chart_key: str, grid, tile_order: list[int]) -> None:
    # The grid's "tiles" trace has one point per tile, in tile order.
    state = st.session_state.get(chart_key)
    points = state.selection.points if state is not None else []
    if points and grid.data[int(points[0]["curve_number"])].name == "tiles":
        st.session_state["explore_descriptor"] = f"d{tile_order[int(points[0]['point_index'])]}"




def pick_model(source) -> str | None:
    """The model shown: a zoo's picker (every arch with weights, the A²-ResNet first chosen), or the one model of
    another source ("your model"), whatever attention it has."""
    if source is None:
        return None
    if source.folder is None:
        return source.archs[0]
    options = list(source.archs)
    key = f"explore_arch_{source.key}"
    # A link's ?model= (written only for a model other than A²: an A² link stays as it was)
    urlstate.seed(key, "model", options, ARCH if ARCH in options else options[0], describe="this zoo's models")
    plain = f"{source.view.backbone} (no attention)"
    with st.sidebar:
        return st.selectbox("Model", options, key=key, help="Each is the same backbone with one attention design "
                            "(the Compare page shows them side by side).",
                            format_func=lambda a: plain if a == "resnet" else ARCH_LABELS.get(a, a))


source = model_source("explore", own=True)
arch = pick_model(source)
if arch == ARCH:
    st.title("Explore the double attention")
    st.caption(
        "A²-Nets (Chen et al., NeurIPS 2018): each block first **gathers** the whole feature map into n global "
        "descriptors (a softmax over positions per descriptor), then **distributes** them back — every position "
        "takes its own mix of descriptors (a softmax over the n descriptors)."
    )
else:
    st.title("Explore the attention" + (f" in {arch}" if arch else ""))
    st.caption("Each attention module of the model as its design has it: channel weights (SE, ECA, GSoP), the "
               "branch each channel picks (SK's kernels, ResNeSt's splits), context maps (GC), spatial gates (CBAM, "
               "BAM, Triplet), attention rows (Non-local), each pass's cross and their reach (CC-Net), gathering and "
               "distribution (A²), with Grad-CAM beside them.")
notes = st.container()  # what a link asked for and could not get (app.urlstate)
if source is None:
    urlstate.show_notes(notes)
    st.stop()
urlstate.restore_position(lambda p: clicked_position("shared", p))
picked = image_input("explore", source)
with st.sidebar:
    st.subheader("View")
    # One slider per zoo: the choices differ, and a kept value from the other zoo would not be one of them.
    urlstate.seed(f"explore_size_{source.key}", "size", list(source.sizes), source.input_size, parse=int,
                  describe="the resolutions (px)")
    size = st.select_slider(
        "Resolution (px)", source.sizes, key=f"explore_size_{source.key}",
        help=f"The model was trained at {source.input_size} px; larger inputs give finer maps (not what it was "
        "trained on).",
    )
    colorscale = st.selectbox("Colour scale", figures.COLORSCALES, key="explore_colorscale")
    opacity = st.slider("Map opacity", 0.0, 1.0, 0.6, 0.05, key="explore_opacity")
    if arch == ARCH:
        sort = st.radio("Sort descriptors", list(SORT_LABELS), format_func=SORT_LABELS.get, key="explore_sort")
photo_boxes.sample_toggle("explore", source.samples.get(shown_sample("explore", source) or ""))

urlstate.show_notes(notes)
if picked is None:
    st.info("Pick a sample or upload another picture in the sidebar.")
    st.stop()
picture, label = picked
photo_boxes.restore(picture.digest)  # a link's boxes, for the photo it opens on
try:
    probe = run_probe(arch, source.path(arch), picture, size)
except FileNotFoundError as error:
    st.error(f"No pretrained weights: {error}")
    st.stop()


@st.fragment
def explore_view(probe, label: str, colorscale: str, opacity: float, sort: str, source_key: str,
                 trained_size: int, path: str, photo: str, sample: str | None = None, verdict=None) -> None:
    """Everything a pinned position changes, rerun on its own: a pin reruns this, not the sidebar and the model
    (a hover redraws the lens in the browser and reruns nothing). Everything it shows comes from ``probe``
    (Grad-CAM too, from the model's view); ``photo`` is the picture's digest, which names the view."""
    blocks = probe.double_attention_blocks()
    names = list(blocks)
    finest = max(range(len(names)), key=lambda i: blocks[names[i]].feature_size)  # default: the finest maps
    urlstate.seed(f"explore_block_{source_key}", "block", names, names[finest], describe="the A² blocks")
    block_name = st.selectbox(
        "A² block", names, key=f"explore_block_{source_key}",
        # The label must not name the feature map's size: it changes with the resolution, and a
        # changed label would no longer match the user's choice (issue 20, item 1).
        format_func=lambda n: f"{n} · 1/{probe.size // blocks[n].feature_size[0]} of the view "
        f"(m={blocks[n].params['m']}, n={blocks[n].params['n']})",
    )
    urlstate.show_notes()  # a link's block that is not one of these (seeded just above)
    block = blocks[block_name]
    gather, distribute = block.arrays["gather"], block.arrays["distribute"]
    n, (h, w) = len(gather), block.feature_size
    usage = analysis.descriptor_usage(distribute)
    entropy = analysis.gathering_entropy(gather)
    order = analysis.descriptor_order(gather, distribute, sort)
    position = analysis.position_index(clicked_position("shared"), (h, w))
    top = analysis.top_descriptors(distribute, position, k=3)

    st.markdown(
        f"**{label}** · model view {probe.size}×{probe.size} px · block `{block_name}`: feature map "
        f"**{h}×{w}** (L = {h * w}), c = {block.params['in_channels']}, **m = {block.params['m']}**, "
        f"**n = {n}** · tensors: gather `{tuple(gather.shape)}`, distribute `{tuple(distribute.shape)}`, "
        f"G `{tuple(block.arrays['descriptors'].shape)}`"
    )

    left, right = panels.wrapping_columns(f"explore_top_{source_key}", [2.05, 0.75], panels.LENS_MIN_PX)
    with left:
        st.markdown("#### Hover a position (click to pin it, arrow keys move it)")
        lens(figure_lens.lens_data(
            probe.image, [figure_lens.a2_card(gather, distribute, caption=(
                "Left: the implied pixel-to-pixel attention, column j of softmax(θ)ᵀ·softmax(ρ) = Σᵢ vᵢⱼ · gathering "
                "map i, a rank-n Non-local attention map. Right: how the cell mixes the n global descriptors, "
                "z_j = G v_j; the red bars are the descriptors it uses most, framed in red among the gathering maps "
                "below once the position is pinned."))],
            position=clicked_position("shared"), colorscale=colorscale, opacity=opacity, layout="explore",
            map_px=panels.LENS_MAP_PX,
        ), key=f"explore_lens_{source_key}", photo=photo)
    with right:
        panels.prediction_panel(probe, ARCH, f"trained at {trained_size} px", trained_size, verdict)

    st.subheader("Grad-CAM beside the attention")
    cam, note = st.columns([1.2, 1.0])
    with cam:
        target = panels.class_picker(f"explore_gradcam_class_{source_key}", probe.classes, probe.top(1)[0][0])
        # Its ✕ follows the pinned position of the lens above.
        panels.gradcam_panel(f"explore_gradcam_{source_key}", ARCH, path, probe, block_name,
                             clicked_position("shared"), target, caption=False,
                             colorscale=colorscale, opacity=opacity)
    with note:
        st.caption(DIFFERENCE)

    st.subheader(f"Gathering maps: where each of the {n} descriptors collects from")
    st.caption(
        "softmax(θ(X)) over the L positions, one map per descriptor, each on its own colour range. "
        f"'use' = total distribution weight the descriptor receives over the image (sums to L = {h * w}), "
        "H = entropy in nats (low = sharp). Click a map to enlarge it below, with each cell's exact weight on hover."
    )
    grid = figures.gathering_grid(
        probe.image, gather, order, usage=usage, entropy=entropy, highlight=list(top), opacity=opacity,
        colorscale=colorscale, clickable=True, cols=GRID_COLS, tile=GRID_TILE,
    )
    st.plotly_chart(
        grid, key="explore_grid", on_select=lambda: _on_grid_click("explore_grid", grid, [int(i) for i in order]),
        selection_mode=("points",), width="content", config={"displayModeBar": False},
    )

    choices = [f"d{i}" for i in order]
    # A new image, block, resolution or pinned position opens on the pinned cell's most used descriptor, not
    # the last view's choice (a click on a gathering map changes none of these: its choice stays).
    view = (photo, source_key, block_name, probe.size, position)
    if st.session_state.get("explore_descriptor") not in choices or st.session_state.get("explore_view") != view:
        st.session_state["explore_descriptor"] = f"d{top[0]}"
        st.session_state["explore_view"] = view
    pick, gathers, sent = st.columns([0.8, 1, 1])
    with pick:
        chosen = st.selectbox("Enlarged descriptor", choices, key="explore_descriptor")
        i = int(chosen[1:])
        st.caption(f"d{i}: use {usage[i]:.2f}, entropy {entropy[i]:.2f} nats (uniform would be {np.log(h * w):.2f}).")
    with gathers:
        st.plotly_chart(
            figures.heatmap_over_image(probe.image, gather[i], opacity=opacity, colorscale=colorscale,
                                       title=f"d{i} gathers from", label="gathering weight", size=260),
            key="explore_enlarged", width="content", config={"displayModeBar": False},
        )
    with sent:
        st.plotly_chart(
            figures.heatmap_over_image(probe.image, distribute[i], opacity=opacity, colorscale=colorscale,
                                       title=f"d{i} is sent to", label="distribution weight", size=260),
            key="explore_sent", width="content", config={"displayModeBar": False},
        )

    # A toggle, not an expander: a collapsed expander's chart is still built, sent and redrawn on every click.
    if st.toggle(f"Distribution maps of all {n} descriptors: where each descriptor is sent",
                 key="explore_show_distribution"):
        st.plotly_chart(
            figures.distribution_grid(probe.image, distribute, order, usage=usage, highlight=list(top),
                                      opacity=opacity, colorscale=colorscale, cols=GRID_COLS, tile=GRID_TILE,
                                      hover=False),
            key="explore_distribution_grid", width="content", config={"displayModeBar": False},
        )

    st.subheader("Downloads")

    def _figure_png() -> bytes:
        # Built only when the button is pressed, so clicks on the maps stay instant.
        return figures.to_png(figures.explore_matplotlib(
            probe.image, gather, distribute, position, order, colormap=colorscale, alpha=opacity,
            highlight=list(top), title=f"{label} · {block_name} ({h}×{w}, m={block.params['m']}, n={n})",
        ))

    boxes = photo_boxes.npz_arrays(photo, source.samples.get(sample or ""))  # as drawn when the page was run

    def _maps_npz() -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **npz_arrays(probe, boxes))
        return buffer.getvalue()

    d1, d2, _ = st.columns([1, 1.7, 1.3])  # the .npz label is the longer one: uncut at 1024 px
    d1.download_button("⬇ Figure (PNG)", _figure_png, file_name=f"a2lens_{block_name.replace('.', '_')}.png",
                       mime="image/png", key="explore_png", on_click="ignore")
    d2.download_button("⬇ All maps of this image (.npz)", _maps_npz, file_name="a2lens_maps.npz",
                       mime="application/octet-stream", key="explore_npz", on_click="ignore",
                       help="Every block's tensors, the model view, the probabilities and the boxes (drawn: "
                       "`boxes`; the sample's own: `object_boxes`; (K, 4) x0, y0, x1, y1 as fractions of the view): "
                       "np.load(path, allow_pickle=False).")
    # The view in the URL (app.urlstate), from the fragment too: a pin reruns only this.
    urlstate.record(zoo=source_key, model=None, sample=sample, size=probe.size, block=block_name,
                    pos=urlstate.format_position(clicked_position("shared")), boxes=photo_boxes.url_value(photo))


verdict = fit_verdict(source, picture, probe)  # the "fits none" flag: the zoo's rule, or the top-1 rule
if arch == ARCH:
    explore_view(probe, label, colorscale, opacity, sort, source.key, source.input_size, source.path(arch),
                 picture.digest, shown_sample("explore", source), verdict)
else:
    urlstate.record(zoo=source.key, model=arch if source.folder is not None else None,
                    sample=shown_sample("explore", source), size=size,
                    pos=urlstate.format_position(clicked_position("shared")), boxes=photo_boxes.url_value(picture.digest))
    panels.attention_view(probe, arch, source.path(arch), label, colorscale, opacity, source.key,
                          source.input_size, verdict=verdict, photo=picture.digest)
