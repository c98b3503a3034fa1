"""Learn page: channel, spatial and double attention, the A² block step by step, a toy to drive
by hand, and the cost of the two computation orders. Made to be projected for a lecture.

Layout only: the tensors come from a2core.lessons (steps, toy), the costs from a2core.lessons
(cost, orders), the figures from a2core.figures (explore, learn; the toy's sliders and figures are
the browser view a2core.figures.toy, web/toy.js).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
import torch

from a2core import figures
from a2core.figures import lens as figure_lens
from a2core.figures.compare import ARCH_LABELS
from a2core.figures import learn as fl
from a2core.figures.toy import toy_data, toy_weights
from a2core.images import model_view, to_tensor
from a2core.lessons import (
    MAX_MEASURE_FLOPS,
    MAX_PAIRWISE_BYTES,
    bilinear_check,
    block_inputs,
    block_steps,
    criss_cross_cost,
    double_attention_costs,
    measure_orders,
    measure_plan,
    measure_refusal,
    non_local_cost,
    positions,
    strongest_terms,
    toy_scene,
    toy_steps,
)
from a2core.lessons.orders import MIN_TIME_S
from a2core.lessons.toy import TOY_SIZE
from a2core.metrics import query_dependence
from a2core.metrics.scored import block_query_dependence
from a2core.metrics.tables import read_results
from a2core.models import FAMILIES, attention_blocks
from a2core.probe import analysis
from a2core.probe.maps import compute_maps
from app import upload as upload_check
from app import urlstate
from app.common import (
    MAIN_ARCH,
    a2_blocks,
    clicked_position,
    image_input,
    load_model,
    model_source,
    run_probe,
    shown_sample,
)
from app.lens import component, lens
from app.panels import show
from app.size_fields import size_fields

ARCH = MAIN_ARCH
#: the article's example: a clip of 32 frames of 28×28, m = n = 512 (c = 1024).
ARTICLE = dict(t=32, h=28, w=28, c=1024, m=512, n=512)
MEASURE_DEFAULT = dict(t=2, h=20, w=20, c=64, m=32, n=16)
#: what each field of the two size forms accepts (app.size_fields says what is wrong with anything else): the
#: calculator takes any size (big numbers are written with units), the measurement what its caps can let through.
SIZE_FIELDS = [("t", "T (frames)"), ("h", "H"), ("w", "W"), ("c", "c"), ("m", "m"), ("n", "n")]
CALC_MAX = 100_000
MEASURE_MAX = dict(t=16, h=128, w=128, c=512, m=512, n=512)
#: the model view is shown this wide, in whole pixels as on the other pages (never smoothed).
VIEW_PX = 160
#: the toy's browser component (its state: the weights {n, theta, rho} the sliders last rested on).
TOY_KEY = "toy"


@st.cache_data(show_spinner="Running the A² block step by step…", max_entries=32, hash_funcs=upload_check.HASH)
def real_steps(path: str, picture: upload_check.Picture, size: int, name: str) -> dict[str, np.ndarray | float | dict]:
    """Every tensor of ``name`` of the pretrained A²-ResNet (weights at ``path``) on this image, recomputed
    from its X.

    X is captured with a forward hook; the steps use the block's own φ, θ, ρ
    and projection, and Y is checked against the block's forward pass.
    """
    model = load_model(ARCH, path)
    view = model_view(picture.image, size)
    logits, inputs = block_inputs(model, to_tensor(view, model.meta.mean, model.meta.std).unsqueeze(0), [name])
    block = attention_blocks(model)[name]
    steps = block_steps(block, inputs[name])
    with torch.no_grad():
        y_block = block(inputs[name])[0]
    arrays = {k: getattr(steps, k).numpy() for k in ("x", "a", "b", "v", "gather", "descriptors", "distribute", "z", "y")}
    arrays["image"] = np.asarray(view, dtype=np.uint8)
    arrays["check"] = float((steps.y - y_block).abs().max())
    arrays["params"] = {"c": block.in_channels, "m": block.m, "n": block.n}
    return arrays


def shape(t) -> str:
    return " × ".join(str(s) for s in np.shape(t))


def step(title: str, latex: str | list[str], text: str, shapes: dict[str, object], draw) -> None:
    """One row of the walkthrough: the equations across the page (a column would clip them on a
    projector or a laptop), then the explanation and shapes on the left, the live tensor on the right."""
    st.subheader(title)
    for line in [latex] if isinstance(latex, str) else latex:
        st.latex(line)
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.markdown(text)
        st.markdown("  \n".join(f"**{label}** shape: `{shape(t)}`" for label, t in shapes.items()))
    with right:
        draw()
    st.divider()


# ------------------------------------------------------------------ the article's three families

#: What each family weighs, in the seed article's terms (its review section), and what its live card shows.
FAMILY_TEXT = {
    "channel": ("**Channel attention** multiplies every position of a channel by the same weight: c weights, "
                "one vector over the channel axis of the c × h × w feature map. SE is the article's example.",
                "one weight per channel, the same at every position"),
    "spatial": ("**Spatial attention** learns a weight per position, an h × w map, and multiplies every channel "
                "at that position by it. Non-local is the article's example: it computes such a map for each "
                "query position (its row of the L × L matrix), so the map follows the mouse.",
                "a weight per position"),
    "mixed": ("**Mixed attention** does both, channels and positions: BAM and CBAM are the representatives "
              "(CBAM gates the channels, then the positions; the card shows its spatial gate).",
              "channels and positions"),
}
FAMILIES_CARD_PX = 260


def families(source, picture: upload_check.Picture | None, name: str) -> None:
    """The article's review: a feature map, then its three families, each with one model of this zoo live on the
    photo (the first of the family the zoo ships, the article's own example when it is there), one shared hover.

    A family the zoo has no weights for yet is said to be missing, never stood in for by another family's model.
    """
    st.markdown(
        "The article starts from what a CNN hands to the next layer: a feature map of **c channels** (one per "
        "learned feature) over **h × w positions**. Attention multiplies it by weights, and the designs sort "
        "into three families by *what* they weigh."
    )
    examples = {f: next((a for a in archs if a in source.weights), None) for f, (_, archs) in FAMILIES.items()}
    for family, (title, archs) in FAMILIES.items():
        text, _ = FAMILY_TEXT[family]
        named = ", ".join(ARCH_LABELS[a].split(" (")[0] for a in archs)
        shown = examples[family]
        st.markdown(f"{text} In the zoo: {named}." + (f" Live below: **{ARCH_LABELS[shown].split(' (')[0]}**."
                                                       if shown else ""))
        if shown is None:
            st.info(f"No {family}-attention model of this zoo has weights yet ({named}: not shipped, in training), "
                    "so this family has no live example here.", icon=":material/hourglass:")
    if picture is None:
        return
    cards, image = [], None
    for family, arch in examples.items():
        if arch is None:
            continue
        probe = run_probe(arch, source.path(arch), picture, source.input_size)
        block = probe.block_like(name)
        if block is None:
            continue
        image = probe.image
        cards.append(figure_lens.block_card(block, title=f"{ARCH_LABELS[arch].split(' (')[0]}: {family} attention",
                                            caption=f"{FAMILY_TEXT[family][1]} · {block.name}"))
    if cards:
        st.markdown("**One example of each family on this photo** (hover a map: every card follows):")
        lens(figure_lens.lens_data(image, cards, position=clicked_position("shared"), card_px=FAMILIES_CARD_PX),
             key=f"learn_families_{source.key}")


# ------------------------------------------------------------------ recap


def recap(params: dict[str, int], spatial: tuple[int, int]) -> None:
    c, m, n = params["c"], params["m"], params["n"]
    L = spatial[0] * spatial[1]
    st.markdown(
        "A CNN's feature map has **c channels** (one per learned feature) over **h × w positions**. "
        "Attention reweights it, and designs differ in *what* they weight:"
    )
    # One card per design, one under the other: side by side, the equations do not fit below ~1600 px.
    cards = [st.container(border=True) for _ in range(3)]
    with cards[0]:
        st.subheader("Channel attention: SE")
        st.latex(r"s = \sigma\!\left(W_2\,\delta\!\left(W_1 \tfrac{1}{L}\textstyle\sum_j x_j\right)\right) \in \mathbb{R}^{c}")
        st.latex(r"y_j = s \odot x_j")
        st.markdown("One weight per channel, **the same at every position**: *which features* matter. "
                    "ECA replaces the two layers by a 1-D convolution; GSoP pools second-order statistics "
                    "(the channel covariance) instead of means.")
    with cards[1]:
        st.subheader("Spatial attention: Non-local")
        st.latex(r"f_{jk} = \operatorname{softmax}_k\!\left(\theta(x_j)^\top \phi(x_k)\right)")
        st.latex(r"y_j = x_j + W_z \textstyle\sum_k f_{jk}\, g(x_k)")
        st.markdown("Every position *j* looks at every position *k*: **an L × L matrix**, so memory and time "
                    "grow with L². GC keeps one map for all queries.")
    with cards[2]:
        st.subheader("Double attention: A²")
        st.latex(r"\mathbf{g}_i = A\,\operatorname{softmax}(\bar{\mathbf{b}}_i)^\top")
        st.latex(r"\mathbf{z}_j = G\,\mathbf{v}_j = \textstyle\sum_i v_{ij}\,\mathbf{g}_i")
        st.markdown("First **gather** the whole image into **n global descriptors** (gᵢ), then let each position "
                    "**pick the mix it needs**. Long-range like Non-local, at the cost of n maps, not L².")
    st.markdown(f"**Attention state of one image at this block** (c = {c}, {spatial[0]}×{spatial[1]} → L = {L}, "
                f"m = {m}, n = {n}):")
    st.dataframe(
        pd.DataFrame(
            {
                "design": ["SE / ECA", "Non-local", "A² (gather first)"],
                "numbers": [c, L * L, 2 * n * L + m * n],  # before the long texts, so it shows at 1024 px
                "attention tensor": ["s: c", "f: L × L", "softmax(B), softmax(V): 2 · n × L;  G: m × n"],
                "attends over": ["channels", "positions × positions", "positions → n descriptors → positions"],
            }
        ),
        hide_index=True,
        key="learn_recap_table",
    )
    st.page_link("views/compare.py", label="See all designs on the same image: Compare page", icon=":material/compare:")


# ------------------------------------------------------------------ walkthrough


def walkthrough(s: dict, channels: int) -> None:
    image, params = s["image"], s["params"]
    c, m, n = params["c"], params["m"], params["n"]
    h, w = s["x"].shape[1:]
    L = h * w
    as_maps = lambda t: t.reshape(t.shape[0], h, w)  # noqa: E731
    k = lambda count: min(channels, count)  # noqa: E731
    gather, distribute = as_maps(s["gather"]), as_maps(s["distribute"])
    entropy = analysis.gathering_entropy(gather)

    step(
        "1 · The feature map X",
        r"X \in \mathbb{R}^{c \times h \times w},\quad L = h\,w",
        f"What the block receives for this image: c = {c} channels over {h}×{w} = {L} positions "
        f"(first {k(c)} channels shown, captured with a forward hook).",
        {"X": s["x"]},
        lambda: show(fl.maps_grid(s["x"][: k(c)], [f"x ch {i}" for i in range(k(c))], colorscale="RdBu_r",
                                  zmid=0), "learn_x"),
    )
    def draw_abv():
        for label, t, count in (("A ch", s["a"], m), ("B row", s["b"], n), ("V row", s["v"], n)):
            st.caption(f"{label.split()[0]} (first {k(count)} of {count})")
            show(fl.maps_grid(as_maps(t)[: k(count)], [f"{label} {i}" for i in range(k(count))],
                              colorscale="RdBu_r", zmid=0, cell_px=130), f"learn_{label[0].lower()}")

    step(
        "2 · Three 1×1 convolutions",
        [r"A = \phi(X; W_\phi) \in \mathbb{R}^{m \times L}",
         r"B = \theta(X; W_\theta) \in \mathbb{R}^{n \times L}",
         r"V = \rho(X; W_\rho) \in \mathbb{R}^{n \times L}"],
        f"A (m = {m}) holds the features to gather; each row b̄ᵢ of B (n = {n}) scores where descriptor i "
        "should gather from; each column of V scores which descriptors a position wants.",
        {"A": s["a"], "B": s["b"], "V": s["v"]},
        draw_abv,
    )
    step(
        "3 · Gathering maps softmax(B)",
        r"\operatorname{softmax}(\bar{\mathbf{b}}_i)_j = \frac{e^{b_{ij}}}{\sum_{k=1}^{L} e^{b_{ik}}}",
        "Each descriptor's row becomes a probability map over the L positions (each map sums to 1): "
        "**where descriptor i gathers from**. H is its entropy (log L = uniform, 0 = one position).",
        {"softmax(B)": s["gather"]},
        lambda: show(figures.gathering_grid(image, gather, entropy=entropy, cols=4), "learn_gather"),
    )
    step(
        "4 · Global descriptors G (feature gathering)",
        [r"\mathbf{g}_i = A\,\operatorname{softmax}(\bar{\mathbf{b}}_i)^\top = \sum_{j} \operatorname{softmax}(\bar{\mathbf{b}}_i)_j\,\mathbf{a}_j",
         r"G = [\mathbf{g}_1, \dots, \mathbf{g}_n] \in \mathbb{R}^{m \times n}"],
        "A weighted average of the features of A under each gathering map: **n summaries of the whole image**. "
        "This is bilinear pooling, G = A softmax(B)ᵀ = Σⱼ aⱼ b̄ⱼᵀ (see the toy).",
        {"G": s["descriptors"]},
        lambda: show(fl.matrix_heatmap(s["descriptors"], x_labels=[f"g{i}" for i in range(n)],
                                       y_labels=[f"A ch {i}" for i in range(m)], show_values=m <= 16,
                                       colorscale="RdBu_r"), "learn_g"),
    )
    step(
        "5 · Distribution weights softmax(V)",
        [r"\mathbf{v}_j = \operatorname{softmax}(V_{:,j}),\qquad \sum_{i=1}^{n} v_{ij} = 1"],
        "Now the softmax runs over the **n descriptors at each position**: how much of each descriptor "
        "position j receives. Map i shows where descriptor i is sent.",
        {"softmax(V)": s["distribute"]},
        lambda: show(figures.distribution_grid(image, distribute, cols=4), "learn_distribute"),
    )
    step(
        "6 · Z (feature distribution)",
        [r"\mathbf{z}_j = G\,\mathbf{v}_j = \sum_i v_{ij}\,\mathbf{g}_i",
         r"Z = G\,\operatorname{softmax}(V) \in \mathbb{R}^{m \times L}"],
        "Every position receives its own mix of the global descriptors: information from the whole image, "
        "even where the convolutions' receptive field is small.",
        {"Z": s["z"]},
        lambda: show(fl.maps_grid(as_maps(s["z"])[: k(m)], [f"Z ch {i}" for i in range(k(m))], colorscale="RdBu_r",
                                  zmid=0), "learn_z"),
    )
    step(
        "7 · Output Y",
        r"Y = X + \operatorname{proj}(Z),\quad \operatorname{proj}: m \to c \ (1{\times}1\ \text{conv} + \text{BN})",
        f"Back to c channels and added to X (a residual). Recomputed here from the block's own weights: "
        f"max |Y − block(X)| = {s['check']:.1e}.",
        {"Y": s["y"]},
        lambda: show(fl.maps_grid(s["y"][: k(c)], [f"y ch {i}" for i in range(k(c))], colorscale="RdBu_r",
                                  zmid=0), "learn_y"),
    )


# ------------------------------------------------------------------ query dependence

#: The designs compared in the query-dependence step, with what their rows are.
QUERY_DESIGNS = (("nl_resnet", "Non-local", "its attention rows"),
                 ("gc_resnet", "GC", "its context map, shared by every position"))


@st.cache_data(show_spinner="Measuring query dependence…", max_entries=32, hash_funcs=upload_check.HASH)
def other_query_dependence(arch: str, path: str, picture: upload_check.Picture, size: int, name: str) -> float | None:
    """Query dependence of block ``name`` of the pretrained ``arch`` on ``picture``; None if it has no such block."""
    result = compute_maps(load_model(arch, path), picture.image, size)
    return block_query_dependence(result.blocks[name]) if name in result.blocks else None


def query_step(s: dict, name: str, others: dict[str, float | None], zoo_wide: dict | None) -> None:
    """8 · Is attention query-dependent? A²'s implied rows, Non-local's rows and GC's context on this image."""
    gather, distribute = s["gather"], s["distribute"]
    h, w = s["x"].shape[1:]
    rows = analysis.implied_attention_matrix(gather.reshape(len(gather), h, w), distribute.reshape(len(gather), h, w))
    a2 = query_dependence(rows)
    st.subheader("8 · Is attention query-dependent?")
    st.latex(r"\mathrm{QD} = \frac{1}{L(L-1)} \sum_{p \ne q} \bigl(1 - \cos(\mathbf{a}_p, \mathbf{a}_q)\bigr)")
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.markdown(
            "Each position p reads the image through its own attention map a_p: A²'s implied row "
            "Σᵢ vᵢₚ softmax(b̄ᵢ), Non-local's row of its L × L matrix. If every position read the same map, one "
            "map would do, which is GC's bet: GCNet (Cao et al., 2019) found Non-local's maps nearly the same "
            "for every query. QD is 0 when all rows are equal and 1 when they share no position."
        )
    with right:
        cols = st.columns(1 + len(QUERY_DESIGNS))
        cols[0].metric(f"A² ({name})", f"{a2:.3f}")
        for col, (arch, label, _) in zip(cols[1:], QUERY_DESIGNS):
            value = others.get(arch)
            col.metric(f"{label} ({name})", "—" if value is None else f"{value:.3f}")
        missing = [label for arch, label, _ in QUERY_DESIGNS if others.get(arch) is None]
        if missing:
            st.caption(f"{', '.join(missing)}: no block named {name} or no weights in this zoo.")
        if zoo_wide:
            means = [f"{r['arch']} `{r['block']}` {r['query_dependence']:.3f}" for r in zoo_wide["results"]
                     if "query_dependence" in r and r["block"] == name]
            if means:
                st.caption(f"Over the zoo's {zoo_wide['n_images']} measured val images (`python -m a2core.metrics`): "
                           + "; ".join(means) + ".")
    st.divider()


# ------------------------------------------------------------------ toy


def toy() -> None:
    st.markdown(
        "A 6×6 scene with three channels: a **ball** (top left), a **bat** (right) and **grass** (bottom row). "
        "φ is the identity, so a descriptor g tells how much ball, bat and grass it gathered. "
        "Set **θ** (what each descriptor looks for) and **ρ** (which descriptor each kind of position asks for): "
        "the figures follow the sliders as they move, computed in the browser. "
        "The default is the article's example: the ball's positions ask for the bat."
    )
    # The sliders and every figure are toy.js (a2core.figures.toy): dragging reruns nothing here. The weights
    # come back as the component state "weights" once the sliders rest, and the check below uses them.
    scene = toy_scene()
    stored = st.session_state.get(TOY_KEY)
    state = component("toy")(key=TOY_KEY, data=toy_data(scene, stored.get("weights") if stored else None),
                             default={"weights": None}, on_weights_change=lambda: None, height="content")
    weights = toy_weights(state.get("weights"), scene)
    s = toy_steps(np.array(weights["theta"]), np.array(weights["rho"]), dtype=torch.float64)
    check = bilinear_check(s)
    cells = ", ".join(str(divmod(j, TOY_SIZE)) for j in strongest_terms(s))
    st.markdown(
        f"Checked on the server (torch, float64) for the θ and ρ last set (n = {weights['n']}): summed over all "
        f"{TOY_SIZE * TOY_SIZE} positions, max |A softmax(B)ᵀ − Σⱼ aⱼ b̄ⱼᵀ| = **{check['max_abs_diff']:.1e}**; "
        f"the largest terms are at positions {cells}.",
        help="Matrix products are associative up to round-off: bilinear pooling and the block's G are one sum.",
    )


# ------------------------------------------------------------------ orders


def size_inputs(prefix: str, defaults: dict[str, int], maxima: dict[str, int]) -> dict[str, int] | None:
    """Six fields in a row (T, H, W, c, m, n) → their values, or None while one is out of range (said there)."""
    return size_fields(prefix, SIZE_FIELDS, defaults, maxima)


def calculator(app_preset: tuple[str, dict[str, int]]) -> None:
    st.markdown("**Order 1**, gather first:")
    st.latex(r"Z = \big[\phi(X)\,\operatorname{softmax}(\theta(X))^\top\big]\,\operatorname{softmax}(\rho(X))")
    st.markdown("**Order 2**, pairwise:")
    st.latex(r"Z = \phi(X)\,\big[\operatorname{softmax}(\theta(X))^\top\,\operatorname{softmax}(\rho(X))\big]")
    st.markdown(
        "Both give the same Z (matrix products are associative), but order 2 builds an **L × L** matrix "
        "with L = T·H·W, while order 1 only keeps the **m × n** descriptors. Preset: the article's example, "
        "a clip of 32 frames of 28×28."
    )
    presets = {"article: 32 frames of 28×28": ARTICLE, app_preset[0]: app_preset[1]}
    preset = st.selectbox("Preset", list(presets), key="calc_preset")
    sizes = size_inputs(f"calc_{preset}", presets[preset], dict.fromkeys(presets[preset], CALC_MAX))
    if sizes is None:  # said under the fields; no results of sizes that are not the ones shown
        st.info("The costs appear when every size is a whole number in its range.", icon=":material/calculate:")
        return
    costs = double_attention_costs(**sizes)
    first, pair = costs["gather_first"], costs["pairwise"]
    L = positions(sizes["t"], sizes["h"], sizes["w"])
    # two columns of two: four in a row cut the labels at 1024 px
    one, two = st.columns(2)
    one.metric("order 1 attention state", fl.human_bytes(first.attention_bytes), help=f"m·n·4 B = {first.attention_bytes:,} B")
    two.metric("order 2 attention state", fl.human_bytes(pair.attention_bytes), help=f"L²·4 B = {pair.attention_bytes:,} B")
    one.metric("order 1 FLOPs", fl.human_count(first.total_flops),
               help=f"{first.total_flops:,}: products {first.flops:,} + 1×1 convolutions {first.pointwise_flops:,}")
    two.metric("order 2 FLOPs", fl.human_count(pair.total_flops),
               help=f"{pair.total_flops:,}: products {pair.flops:,} + 1×1 convolutions {pair.pointwise_flops:,}")
    # Non-local and CC-Net at the same sizes (their own widths: c' = c/2, c_k = c/8), for the answer to their
    # cost: A² factorises the L × L matrix, CC-Net keeps only each position's lines (two passes).
    nl = non_local_cost(sizes["c"], t=sizes["t"], h=sizes["h"], w=sizes["w"])
    cc = criss_cross_cost(sizes["c"], t=sizes["t"], h=sizes["h"], w=sizes["w"])
    rows = (first, pair, nl, cc)
    # Written with units as text: the exact counts outgrow the 64-bit integers a dataframe holds.
    st.dataframe(
        pd.DataFrame(
            {
                "order": ["A² gather first", "A² pairwise", "Non-local", "CC-Net (2 passes)"],
                "attention state": ["m × n", "L × L", "L × L", "L × K, one pass"],
                "bytes (fp32)": [fl.human_bytes(o.attention_bytes) for o in rows],
                "FLOPs of the products": [fl.human_count(o.flops) for o in rows],
                "products formula": ["2·(mnL) + 2·(mnL)", "2·(nL²) + 2·(mL²)", "2·(c'L²) + 2·(c'L²)",
                                     "2 × [2·(LKc_k) + 2·(LKc)]"],
                # c enters here only: φ, θ, ρ (c → m, n, n) and the projection (m → c), the same in both orders
                "FLOPs of the 1×1 convs": [fl.human_count(o.pointwise_flops) if o.pointwise_flops else "not counted"
                                           for o in rows],
                "1×1 convs formula": ["2·(c(m+2n)L + mcL)"] * 2 + ["-", "2 × 2·Lc(2c_k + c)"],
                "FLOPs in all": [fl.human_count(o.total_flops) for o in rows],
            }
        ),
        hide_index=True,
        key="calc_table",
    )
    st.caption("K = H + W (a row and a column; for a clip also its line through time, T + H + W, the 3-D "
               "criss-cross of CCNet's journal version); c' = c/2, c_k = c/8. Non-local's 1×1 convs are left out.")
    ratio = pair.attention_bytes / first.attention_bytes
    st.markdown(
        f"L = {sizes['t']}·{sizes['h']}·{sizes['w']} = **{L:,}** positions: order 2 needs "
        f"**{f'{ratio:,.0f}' if ratio < 1e9 else fl.human_count(ratio)}×** the memory of order 1."
    )
    show(fl.orders_figure(costs), "calc_figure")


def measure() -> None:
    st.markdown(
        "Run the real `DoubleAttention` block both ways on this machine (same weights, same random input): "
        "time of one forward pass (the median of many, timed for at least "
        f"{MIN_TIME_S:.1f} s each, `torch.utils.benchmark`) and the largest tensor it creates. The server is shared, "
        f"so a run is capped at a {MAX_PAIRWISE_BYTES // 2**20} MiB pairwise matrix and "
        f"{MAX_MEASURE_FLOPS / 1e9:.0f} GFLOPs in all."
    )
    sizes = size_inputs("measure", MEASURE_DEFAULT, MEASURE_MAX)
    refusal = "Fix the sizes above first." if sizes is None else measure_refusal(plan := measure_plan(**sizes))
    if sizes is not None:
        st.caption(
            f"This run: L = {plan['L']:,} positions, a {fl.human_bytes(plan['pairwise_bytes'])} pairwise matrix, "
            f"at least {plan['passes']} forward passes ({fl.human_count(plan['flops'])} FLOPs), more for small "
            f"sizes to fill {MIN_TIME_S:.1f} s per order."
        )
        if refusal is not None:
            st.warning(refusal, icon=":material/speed:")
    if st.button("Measure both orders", key="measure_run", type="primary", disabled=refusal is not None):
        try:
            with st.spinner("Measuring…"):
                st.session_state["measure_result"] = (sizes, measure_orders(**sizes))
        except ValueError as error:
            st.session_state.pop("measure_result", None)
            st.warning(str(error))
    if "measure_result" in st.session_state:
        used, rows = st.session_state["measure_result"]
        predicted = double_attention_costs(**used)
        st.dataframe(
            pd.DataFrame(
                {
                    "order": [r["order"] for r in rows],
                    "time (ms)": [r["time_ms"] for r in rows],
                    "passes timed": [r["runs"] for r in rows],
                    "largest tensor": [fl.human_bytes(r["peak_bytes"]) for r in rows],
                    "all allocations": [fl.human_bytes(r["total_bytes"]) for r in rows],
                    "predicted attention state": [fl.human_bytes(predicted[r["order"]].attention_bytes) for r in rows],
                    "max |Y − Y₁|": [r["max_abs_diff"] for r in rows],
                }
            ),
            hide_index=True,
            column_config={"time (ms)": st.column_config.NumberColumn(format="%.2f"),
                           "max |Y − Y₁|": st.column_config.NumberColumn(format="%.1e")},
            key="measure_table",
        )
        st.caption(f"measured at T={used['t']}, {used['h']}×{used['w']}, c={used['c']}, m={used['m']}, n={used['n']}")
        show(fl.measured_figure(rows), "measure_figure")


# ------------------------------------------------------------------ page

st.title("Learn: double attention, step by step")
st.markdown(
    "Channel attention (SE) reweights **what**, spatial attention (Non-local) reweights **where**; "
    "double attention (A²-Nets, Chen et al., NeurIPS 2018) first **gathers** the whole image into a few global "
    "descriptors and then **distributes** them back, each position taking the mix it needs. Every tensor below "
    "is the real one, computed from the pretrained A²-ResNet on the current image."
)

notes = st.container()  # what a link asked for and could not get (app.urlstate)
source = model_source("learn")
if source is None:
    urlstate.show_notes(notes)
    st.stop()
picked = image_input("learn", source)
blocks = {b.name: b for b in a2_blocks(source.zoo)}
with st.sidebar:
    st.subheader("Learn")
    urlstate.seed(f"learn_block_{source.key}", "block", list(blocks), next(iter(blocks)), describe="the A² blocks")
    name = st.radio("A² block", list(blocks), key=f"learn_block_{source.key}")
    channels = st.slider("Channels shown per tensor", 4, 16, 8, step=4, key="learn_channels")
urlstate.show_notes(notes)
urlstate.record(zoo=source.key, sample=shown_sample("learn", source), block=name)
block = blocks[name]
side = source.input_size // block.stride  # the block's feature map at the trained size

# The tab titles wrap onto a second line rather than scroll behind an arrow ("4 · Two orders, two co…" at 1024 px).
st.html("<style>[data-testid='stTabs'] [role='tablist'] { flex-wrap: wrap; row-gap: 2px; }</style>")
recap_tab, steps_tab, toy_tab, orders_tab = st.tabs(
    ["1 · Channel, spatial, double", "2 · Step by step", "3 · Toy to drive by hand", "4 · Two orders, two costs"]
)
real = None
if picked is not None:
    try:
        real = real_steps(source.path(ARCH), picked[0], source.input_size, name)
    except FileNotFoundError as error:
        st.error(f"The pretrained A²-ResNet is missing: {error}")
with recap_tab:
    st.header("Three families of attention")
    families(source, picked[0] if picked is not None else None, name)
    st.header("Channel, spatial, double")
    if real is not None:
        recap(real["params"], tuple(real["x"].shape[1:]))
    else:  # the architecture's own sizes at the trained input size, without weights
        recap({"c": block.c, "m": block.m, "n": block.n}, (side, side))
with steps_tab:
    if real is None:
        st.info("Pick an image in the sidebar to see the block's tensors.")
    else:
        view = fl.pixelated(real["image"], VIEW_PX)
        # at its own width: a stretched image is smoothed by the browser
        st.image(view, caption=f"what the model sees ({picked[1]})", width=view.shape[1])
        walkthrough(real, channels)
        others = {arch: other_query_dependence(arch, source.path(arch), picked[0], source.input_size, name)
                  for arch, _, _ in QUERY_DESIGNS if arch in source.weights}
        query_step(real, name, others, read_results(Path(source.path(ARCH)).parent).get("val"))
with toy_tab:
    toy()
with orders_tab:
    st.header("Calculator")
    calculator((f"this app: {name} at {source.input_size} px",
                dict(t=1, h=side, w=side, c=block.c, m=block.m, n=block.n)))
    st.header("Measured on this machine")
    measure()
