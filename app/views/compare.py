"""Compare page: one image through every attention design of the zoo, side by side.

Layout only: the forward passes come from app.common (cached per image), the
numbers from a2core.probe.analysis / a2core.training.zoo, the figures from a2core.figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from a2core.figures import compare as fc
from a2core.figures import lens as figure_lens
from a2core.figures.gradcam import DIFFERENCE
from a2core.metrics.scored import block_query_dependence
from a2core.models import ARCHS
from a2core.probe import FIT_THRESHOLD, analysis
from a2core.training import zoo_rows
from a2core.weights import WeightsError
from app import boxes as photo_boxes
from app import panels, urlstate
from app.common import a2_blocks, clicked_position, fit_verdict, image_input, model_source, run_probe, shown_sample
from app.lens import lens

DEFAULT_ARCHS = ["se_resnet", "nl_resnet", "a2_resnet"]
#: The narrowest a model's lens card gets: the cards share the width in even rows (four, then three, of seven at
#: 1440 px; two a row at 1024 px), however many models are picked.
CARD_PX = 230
#: The narrowest card of the channel designs' feature maps (three tiles each) and of a Grad-CAM.
EXTRAS_CARD_PX = 420
GRADCAM_CARD_PX = 320


@st.cache_data(show_spinner="Counting parameters and FLOPs…")
def zoo_table(folder: str, size: int, latency_repeats: int) -> list[dict]:
    return zoo_rows(folder, size=size, latency_repeats=latency_repeats)


def arch_labels(backbone: str) -> dict[str, str]:
    """Each arch's card title; the plain one is named after the zoo's backbone (ResNet-20 or ResNet-18)."""
    return {**fc.ARCH_LABELS, "resnet": f"{backbone} (no attention)"}


def model_card(arch, path, label, picture, size, name, shape):
    """``arch``'s lens card for its module ``name`` (its design's maps, its top-3) and its maps → (card, probe),
    or (None, the reason it is not available)."""
    try:
        result = run_probe(arch, path, picture, size)
    except (FileNotFoundError, WeightsError) as error:
        return None, f"{arch} is not available: {error}"
    # a guess of this model; whether the photo fits none of the classes is the zoo's flag, above the cards
    note = (f"Unsure: top-1 {result.probs.max():.0%}, under {FIT_THRESHOLD:.0%}." if result.fits_none() else None)
    common = dict(title=label, prediction=result.top(3), note=note)
    block = result.blocks.get(name)
    if block is None:
        return figure_lens.plain_card(shape, caption="No attention block: the baseline that every other card adds "
                                      "one design to.", **common), result
    return figure_lens.block_card(block, **common), result


def seed_models(key: str, shipped: Sequence[str], default: list[str]) -> None:
    """The model picker's first value: the link's ``?models=a,b`` (archs this source has), else ``default``."""
    if key in st.session_state:
        return
    asked = urlstate.parse_list(urlstate.wanted("models") or "")
    st.session_state[key] = [a for a in asked if a in shipped] or default
    if unknown := [a for a in asked if a not in shipped]:
        urlstate.note("models", ",".join(asked), f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not "
                      f"among this zoo's models ({', '.join(shipped)})")


def query_dependence_line(probes: dict, name: str, labels: dict[str, str]) -> None:
    """This photo's query dependence (GCNet's 1 − cos between every pair of query positions' maps, as
    ``python -m a2core.metrics`` measures it) of each model whose block ``name`` has a map per query position."""
    numbers = {arch: block_query_dependence(p.blocks[name]) for arch, p in probes.items() if name in p.blocks}
    numbers = {arch: q for arch, q in numbers.items() if q is not None}
    if not numbers:
        return
    shown = " · ".join(f"{labels.get(a, a).split(' (')[0]} **{q:.3f}**" for a, q in numbers.items())
    st.markdown(f"**Query dependence on this photo** (`{name}`): {shown}")
    st.caption("The mean over all pairs of query positions of 1 − cos between their attention maps (GCNet, Cao et "
               "al. 2019): 0 = every query sees the same map (GC's context, by construction); the larger, the more "
               "the map changes with where you point. A²: its implied rows. The zoo's means: the Measure page.")


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


notes = st.container()  # what a link asked for and could not get (app.urlstate)
source = model_source("compare", needs=(), own=True)
if source is None:
    urlstate.show_notes(notes)
    st.stop()
labels = arch_labels(source.view.backbone)
urlstate.restore_position(lambda p: clicked_position("shared", p))
st.title("Compare attention designs")
st.markdown(
    f"The same image goes through every model of the zoo: the plain {source.view.backbone} and its **SE**, "
    "**ECA**, **GSoP** (channel attention), **Non-local**, **GC** (spatial attention) and **A²** (double "
    "attention) variants. Hover or click a position on any map: every model follows it to the same place of the photo."
)

picked = image_input("compare", source)
# The widgets whose choices follow the zoo have one key per zoo: a value kept from the other zoo would not fit.
with st.sidebar:
    st.subheader("Compare")
    shipped = source.archs
    seed_models(f"cmp_archs_{source.key}", shipped, [a for a in DEFAULT_ARCHS if a in shipped] or list(shipped))
    archs = st.multiselect("Models (columns)", list(shipped), format_func=lambda a: labels.get(a, a).split(" (")[0],
                           key=f"cmp_archs_{source.key}")
    if source.folder is not None and (missing := [labels.get(a, a) for a in ARCHS if a not in shipped]):
        st.caption(f"No weight file in {source.folder} for: {', '.join(missing)}.")
    sizes = source.sizes[:3]
    urlstate.seed(f"cmp_size_{source.key}", "size", list(sizes), source.input_size, parse=int,
                  describe="Compare's input sizes (px)")
    size = st.select_slider("Input size (px)", options=sizes, key=f"cmp_size_{source.key}",
                            help=f"The models were trained on {source.input_size}×{source.input_size}; larger inputs "
                            "give finer maps.")
    if source.folder is not None:
        strides = {b.name: b.stride for b in a2_blocks(source.zoo)}  # the blocks every design of the zoo has
    else:  # "your model": its own attention modules
        strides = panels.module_strides(shipped[0], source.path(shipped[0]), source.input_size)
    # The options' labels must not depend on the input size: the browser drops the choice when they change.
    urlstate.seed(f"cmp_block_{source.key}", "block", list(strides), next(iter(strides)), describe="the blocks")
    name = st.radio("Block", list(strides), key=f"cmp_block_{source.key}",
                    format_func=lambda b: f"{b} (1/{strides[b]} of the input)")
    st.caption(f"At {size} px: {size // strides[name]}×{size // strides[name]} feature map.")
    top = st.slider("Top channels / descriptors shown", 1, 5, 3, key="cmp_top")
photo_boxes.sample_toggle("compare", source.samples.get(shown_sample("compare", source) or ""))

if picked is not None:
    picture, label = picked
    photo_boxes.restore(picture.digest)  # a link's boxes, for the photo it opens on
    shape = (size // strides[name], size // strides[name])
    fraction = clicked_position("shared")
    cell = analysis.position_index(fraction, shape)

    st.markdown(
        f"**Query position:** cell {cell} of the {shape[0]}×{shape[1]} feature map of `{name}` "
        f"(the point at {fraction[0]:.0%} down, {fraction[1]:.0%} across the image). Hover any map: every "
        "model follows the mouse; click to pin the position, the arrow keys move it.\n\n"
        "- **Channel attention** (SE, ECA, GSoP) rescales whole feature maps: one weight per channel, "
        "the same at every position, so the position does not change it.\n"
        "- **Non-local** computes, for the query, a softmax over all positions: an L × L matrix.\n"
        "- **A²** gathers n global descriptors, then lets each position mix them: its attention row is a "
        "mix of n gathering maps (rank n), here beside Non-local's full row.\n"
        "- **GC** uses one context map for all queries."
    )
    if not archs:
        st.info("Pick at least one model in the sidebar.")
    cards, probes = [], {}
    for arch in archs:
        card, probe = model_card(arch, source.path(arch), labels.get(arch, arch), picture, size, name, shape)
        if card is None:
            st.info(probe)
        else:
            cards.append(card)
            probes[arch] = probe
    if probes:  # the "fits none" flag of the photo, once for all the cards
        verdict = fit_verdict(source, picture, probes.get("a2_resnet", next(iter(probes.values()))))
        if verdict.note is not None:
            st.warning(verdict.note, icon=":material/help:")
        st.caption(verdict.about)
    if cards:
        # One card per model, sized to the screen (CARD_PX), all redrawn in the browser for the hovered position.
        image = next(iter(probes.values())).image
        lens(figure_lens.lens_data(image, cards, position=fraction, top=top, card_px=CARD_PX),
             key=f"cmp_lens_{source.key}", photo=picture.digest)
        query_dependence_line(probes, name, labels)
    extras = {a: p.blocks[name] for a, p in probes.items() if name in p.blocks and panels.has_extras(p.blocks[name])}
    if extras:
        st.subheader("Inside the channel designs")
        with panels.card_grid("cmp_extras", EXTRAS_CARD_PX):
            for arch, block in extras.items():
                with st.container(border=True):
                    st.markdown(f"**{labels.get(arch, arch)}**")
                    panels.extras_panel(f"cmp_extras_{arch}", arch, source.path(arch), block, probes[arch].image, top)
    if probes:
        st.subheader("Grad-CAM of each prediction, at the layer holding the block")
        st.caption(DIFFERENCE)
        with panels.card_grid("cmp_gradcams", GRADCAM_CARD_PX):
            for arch in probes:
                with st.container(border=True):
                    panels.gradcam_card(arch, source.path(arch), labels.get(arch, arch), picture, size, name,
                                        fraction)

urlstate.show_notes(notes)
urlstate.record(zoo=source.key, sample=shown_sample("compare", source), size=size, block=name,
                pos=urlstate.format_position(clicked_position("shared")), models=archs,
                boxes=photo_boxes.url_value(picked[0].digest if picked is not None else None))
# The zoo's costs do not depend on the image: shown even when an upload is refused.
zoo_section(source, size, labels)
