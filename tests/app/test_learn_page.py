"""The Learn page through Streamlit's AppTest: the walkthrough, the toy's component and its state, the calculator.

The toy's sliders and figures are a browser component (a2core/figures/web/toy.js): AppTest sees its data
and can set its state as the browser would; tests/e2e/test_toy_browser.py drives it in Chromium."""

from __future__ import annotations

import json
import re

import pytest
import torch

from a2core.figures.learn import human_bytes, human_count
from a2core.figures.toy import toy_data
from a2core.lessons.orders import measure_plan, measure_refusal
from a2core.lessons.toy import default_rho, default_theta, strongest_terms, toy_scene, toy_steps
from tests.app.pages import open_page
from tests.app.plotly_json import charts


# every test here runs the page in AppTest for a second or more (pytest --durations)
pytestmark = [pytest.mark.usefixtures("warm_model"), pytest.mark.slow]  # fixture: tests/app/conftest.py


@pytest.fixture
def at():
    at = open_page("learn")
    assert not at.exception
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def toy_component(at):
    """The toy's st.components.v2 element (AppTest does not know the type: an UnknownElement)."""
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if getattr(child, "type", None) == "bidi_component" and child.proto.component_name == "a2lens.toy":
                found.append(child)
            walk(child)

    walk(at._tree)
    (element,) = found
    return element


def server_check(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Checked on the server"))


def cells(positions) -> str:
    return ", ".join(str(divmod(j, 6)) for j in positions)


def test_walkthrough_renders_every_step_with_real_shapes(at):
    headers = [s.value for s in at.subheader]
    for number in range(1, 8):
        assert any(h.startswith(f"{number} · ") for h in headers), number
    assert len(at.latex) >= 15
    shapes = " ".join(m.value for m in at.markdown if "shape:" in m.value)
    # layer2.2.attn of the A²-ResNet at 32 px: c = 32, m = 16, n = 8 over 16×16 = 256 positions
    for expected in ("`32 × 16 × 16`", "`16 × 256`", "`8 × 256`", "`16 × 8`"):
        assert expected in shapes, expected
    check = next(m.value for m in at.markdown if "max |Y − block(X)|" in m.value)
    assert float(re.search(r"= ([\d.e+-]+)\.$", check).group(1)) < 1e-4


def test_block_picker_changes_the_tensors(at):
    at.radio(key="learn_block_cifar10").set_value("layer3.2.attn").run()
    assert not at.exception
    shapes = " ".join(m.value for m in at.markdown if "shape:" in m.value)
    assert "`64 × 8 × 8`" in shapes and "`32 × 16`" in shapes


def test_toy_is_one_browser_component_with_no_server_widgets(at):
    # the θ and ρ sliders, the n radio and the reset button were server widgets: each move reran the page
    keys = [w.key for kind in (at.slider, at.radio, at.button) for w in kind]
    assert not any(k and k.startswith("toy") for k in keys), keys
    assert all(k not in at.session_state for k in ("toy_n", "toy_theta_2_0_0", "toy_rho_2_1_0"))
    element = toy_component(at)
    assert json.loads(element.proto.json) == toy_data(toy_scene())  # the scene and the default weights
    s = toy_steps(default_theta(2), default_rho(2), dtype=torch.float64)
    assert "(n = 2)" in server_check(at) and cells(strongest_terms(s)) in server_check(at)


def test_toy_weights_from_the_browser_reach_the_server(at):
    theta, rho = default_theta(3), default_rho(3)
    theta[0] = torch.tensor([0.0, 0.0, 5.0])  # g1 now gathers the grass
    weights = {"n": 3, "theta": theta.tolist(), "rho": rho.tolist()}
    at.session_state["toy"] = {"weights": weights}  # what setStateValue("weights", …) stores
    at.run()
    assert not at.exception
    s = toy_steps(theta, rho, dtype=torch.float64)
    assert "(n = 3)" in server_check(at) and cells(strongest_terms(s)) in server_check(at)
    assert cells(strongest_terms(s)) != cells(strongest_terms(toy_steps(default_theta(3), default_rho(3))))
    assert json.loads(toy_component(at).proto.json)["weights"] == weights  # a remounted view starts from them


@pytest.mark.parametrize("weights", [
    "θ", {"n": 7, "theta": [], "rho": []}, {"n": 2, "theta": [[1, 2]], "rho": [[1, 2]]},
    {"n": 2, "theta": [["x", 0, 0], [0, 0, 0]], "rho": [[0, 0, 0], [0, 0, 0]]},
    {"n": 2, "theta": [[float("nan"), 0, 0], [0, 0, 0]], "rho": [[0, 0, 0], [0, 0, 0]]},
])
def test_toy_state_that_is_not_weights_gives_the_defaults(at, weights):
    at.session_state["toy"] = {"weights": weights}
    at.run()
    assert not at.exception
    assert json.loads(toy_component(at).proto.json)["weights"]["theta"] == default_theta(2).tolist()
    assert "(n = 2)" in server_check(at)


#: the measurement's field maxima (app/views/learn.py's MEASURE_MAX; a page is not imported)
MEASURE_MAX = dict(t=16, h=128, w=128, c=512, m=512, n=512)


def set_sizes(at, prefix: str, **values) -> None:
    """Type into the size fields (text: the page checks what was typed) and rerun."""
    for key, value in values.items():
        at.text_input(key=f"{prefix}_{key}").set_value(str(value))
    at.run()


def calc_prefix(at) -> str:
    return f"calc_{at.selectbox(key='calc_preset').value}"


def conv_flops(c, m, n, L):
    # the 1×1 convolutions φ, θ, ρ (c → m, n, n) and the projection (m → c): 2 × multiply-adds
    return 2 * (c * (m + 2 * n) * L + m * c * L)


def calc_results(at) -> dict:
    # the calculator's metrics name the two orders ("order 1 attention state", …); other steps have their own
    return {"metrics": [m for m in at.metric if m.label.startswith("order ")], "tables": [d for d in at.dataframe if "bytes (fp32)" in d.value.columns],
            "figures": [c for c in charts(at) if c["layout"].get("annotations")
                        and c["layout"]["annotations"][0]["text"] == "attention state (bytes)"]}


def test_calculator_matches_a_direct_computation(at):
    # the article's preset: 32 frames of 28×28, m = n = 512
    L = 32 * 28 * 28
    assert metric(at, "order 1 attention state") == human_bytes(512 * 512 * 4) == "1.0 MiB"
    assert metric(at, "order 2 attention state") == human_bytes(L * L * 4)
    assert L * L * 4 > 2e9
    set_sizes(at, calc_prefix(at), t=2, h=10, w=12, c=64, m=24, n=6)
    assert not at.exception and not at.error
    L = 2 * 10 * 12
    assert metric(at, "order 1 attention state") == human_bytes(24 * 6 * 4)
    assert metric(at, "order 2 attention state") == human_bytes(L * L * 4)
    assert metric(at, "order 1 FLOPs") == human_count(2 * 2 * 24 * 6 * L + conv_flops(64, 24, 6, L))
    assert metric(at, "order 2 FLOPs") == human_count(2 * 6 * L * L + 2 * 24 * L * L + conv_flops(64, 24, 6, L))
    (table,) = [d for d in at.dataframe if "bytes (fp32)" in d.value.columns]
    # A²'s two orders, Non-local's L × L, one criss-cross pass's L × (T + H + W) weights
    assert list(table.value["bytes (fp32)"]) == [human_bytes(24 * 6 * 4), human_bytes(L * L * 4),
                                                 human_bytes(L * L * 4), human_bytes(L * (2 + 10 + 12) * 4)]
    assert list(table.value["FLOPs of the 1×1 convs"])[:2] == [human_count(conv_flops(64, 24, 6, L))] * 2
    assert list(table.value["FLOPs of the 1×1 convs"])[3] == human_count(2 * 2 * L * 64 * (2 * 8 + 64))


def test_calculator_c_counts(at):
    # c = 1 and c = 1024 gave the same cost: c enters through the 1×1 convolutions, the same in both orders
    prefix, L = calc_prefix(at), 32 * 28 * 28
    seen = {}
    for c in (1, 1024):
        set_sizes(at, prefix, c=c)
        assert not at.error
        seen[c] = metric(at, "order 1 FLOPs")
        assert seen[c] == human_count(4 * 512 * 512 * L + conv_flops(c, 512, 512, L))
    assert seen[1] != seen[1024]


@pytest.mark.parametrize("key,typed,label,problem", [
    ("t", "0", "T (frames)", "too small"), ("h", "-5", "H", "too small"), ("h", "−5", "H", "too small"),
    ("n", "100001", "n", "too large"), ("w", "100,001", "W", "too large"),
])
def test_calculator_out_of_range_says_so_and_shows_no_stale_results(at, key, typed, label, problem):
    prefix = calc_prefix(at)
    assert all(calc_results(at).values())  # the article's costs, before
    set_sizes(at, prefix, **{key: typed})
    assert not at.exception
    (error,) = at.error
    assert f"**{label}** must be a whole number from 1 to 100,000" in error.value and problem in error.value
    assert not any(calc_results(at).values()), "no metric, table or chart of sizes that are not the ones shown"
    assert at.text_input(key=f"{prefix}_{key}").value == typed  # what was typed stays, to be corrected
    set_sizes(at, prefix, **{key: 7})
    assert not at.error and all(calc_results(at).values())
    L = 7 * 28 * 28 if key == "t" else 32 * 7 * 28 if key in "hw" else 32 * 28 * 28
    assert metric(at, "order 2 attention state") == human_bytes(4 * L * L)


@pytest.mark.parametrize("typed", ["abc", "2.5", "1e3", ""])
def test_calculator_text_keeps_the_last_good_value(at, typed):
    # "abc" reset m to its preset (512) instead of the value last typed
    prefix = calc_prefix(at)
    set_sizes(at, prefix, m=64)
    set_sizes(at, prefix, m=typed)
    assert not at.exception
    assert at.text_input(key=f"{prefix}_m").value == "64"
    (error,) = at.error
    assert f"“{typed}” is not a whole number; it stays 64" in error.value
    assert metric(at, "order 1 attention state") == human_bytes(64 * 512 * 4)
    at.run()  # said once: the next run shows the field as it is
    assert not at.error and metric(at, "order 1 attention state") == human_bytes(64 * 512 * 4)


def test_calculator_reads_grouped_thousands(at):
    prefix = calc_prefix(at)
    set_sizes(at, prefix, t="1,000", h="100 000", w="2_000")
    assert not at.error
    L = 1_000 * 100_000 * 2_000
    assert metric(at, "order 2 attention state") == human_bytes(4 * L * L)


def test_measure_button_runs_both_orders(at, capfd):
    set_sizes(at, "measure", t=1, h=8, w=8, c=8, m=4, n=2)
    capfd.readouterr()
    at.button(key="measure_run").click().run()
    assert not at.exception
    (table,) = [d for d in at.dataframe if "time (ms)" in d.value.columns]
    frame = table.value
    assert list(frame["order"]) == ["gather_first", "pairwise"]
    assert (frame["time (ms)"] > 0).all()
    assert (frame["passes timed"] >= 3).all()  # a minimum duration: many passes at these sizes, never one
    assert (frame["max |Y − Y₁|"] < 1e-4).all()
    assert frame["predicted attention state"].iloc[1] == human_bytes(64 * 64 * 4)
    out, err = capfd.readouterr()
    assert "profiler" not in out + err and "ERROR" not in out + err  # the server's log stays quiet


def test_measure_with_a_bad_size_says_so_and_cannot_run(at):
    set_sizes(at, "measure", h=0)
    assert not at.exception
    assert any("**H** must be a whole number from 1 to 128" in e.value for e in at.error)
    assert at.button(key="measure_run").disabled
    assert not any(c.value.startswith("This run: L = ") for c in at.caption)


@pytest.mark.parametrize("preset", [0, 1])
def test_calculator_takes_the_largest_values_its_inputs_allow(at, preset):
    # The article preset with T = 100000 and H = 56 crashed the page (a C long overflow in the table).
    selector = at.selectbox(key="calc_preset")
    selector.set_value(selector.options[preset]).run()
    set_sizes(at, calc_prefix(at), **dict.fromkeys(("t", "h", "w", "c", "m", "n"), 100_000))
    assert not at.exception and not at.error
    L, c = 100_000**3, 100_000
    assert metric(at, "order 2 attention state") == human_bytes(4 * L * L)
    assert metric(at, "order 2 FLOPs") == human_count(2 * L * L * 200_000 + conv_flops(c, c, c, L))
    assert all(len(m.value) <= 12 for m in at.metric), [m.value for m in at.metric]  # a number with its unit
    (table,) = [d for d in at.dataframe if "bytes (fp32)" in d.value.columns]
    k, key = 3 * 100_000, 100_000 // 8  # CC-Net: a line through each of T, H, W; c_k = c / 8
    assert list(table.value["FLOPs of the products"]) == [
        human_count(4 * 100_000**2 * L), human_count(2 * L * L * 200_000),
        human_count(2 * L * L * 100_000),  # Non-local, c' = c / 2: θᵀφ and g fᵀ
        human_count(2 * 2 * (L * k * key + L * k * c)),  # two criss-cross passes
    ]


def test_calculator_big_article_case(at):
    set_sizes(at, calc_prefix(at), t=100_000, h=56)
    assert not at.exception
    L = 100_000 * 56 * 28
    assert metric(at, "order 2 FLOPs") == human_count(2 * L * L * 1024 + conv_flops(1024, 512, 512, L)) == "5.04e+19"
    assert metric(at, "order 2 attention state") == human_bytes(4 * L * L) == "87.3 PiB"


def test_measure_refuses_what_would_stall_the_server_before_running(at):
    # the largest sizes the inputs allow: the plan is shown and the button is disabled, nothing runs
    set_sizes(at, "measure", **MEASURE_MAX)
    assert not at.exception and not at.error
    sizes = {k: int(at.text_input(key=f"measure_{k}").value) for k in ("t", "h", "w", "c", "m", "n")}
    assert sizes == MEASURE_MAX
    refusal = measure_refusal(measure_plan(**sizes))
    assert refusal is not None and any(w.value == refusal for w in at.warning)
    assert at.button(key="measure_run").disabled
    assert any(c.value.startswith("This run: L = ") for c in at.caption)
    assert "measure_result" not in at.session_state


def test_measure_table_is_formatted(at):
    set_sizes(at, "measure", t=1, h=8, w=8, c=8, m=4, n=2)
    at.button(key="measure_run").click().run()
    (table,) = [d for d in at.dataframe if "time (ms)" in d.value.columns]
    formats = {k: v["type_config"].get("format") for k, v in json.loads(table.proto.columns).items() if "type_config" in v}
    assert formats == {"time (ms)": "%.2f", "max |Y − Y₁|": "%.1e"}


def test_orders_chart_labels_its_log_axes_in_units(at):
    fig = next(c for c in charts(at) if c["layout"].get("annotations")
               and c["layout"]["annotations"][0]["text"] == "attention state (bytes)")
    assert fig["layout"]["yaxis"]["ticktext"] == ["1 MiB", "1 GiB", "1 TiB"]
    assert all(t.endswith(("k", "M", "G", "T", "P")) for t in fig["layout"]["yaxis2"]["ticktext"])


def test_query_dependence_step_shows_this_images_numbers(at):
    """Step 8 measures query dependence on the current image: A²'s implied rows, Non-local's rows, GC's context."""
    from a2core.images import load_image
    from a2core.metrics.scored import block_query_dependence
    from a2core.probe.maps import compute_maps
    from app.common import load_model, weights_dir
    from app.sources import samples
    from app.sources.zoo import ZOO_VIEWS

    assert any(h.startswith("8 · Is attention query-dependent?") for h in (s.value for s in at.subheader))
    # The reference: the same sample through the models, scored here with a2core alone.
    sample = ZOO_VIEWS["cifar10"].default_sample
    image = load_image(samples(ZOO_VIEWS["cifar10"].samples)[sample].read_bytes())
    expected = {}
    for arch, label in (("a2_resnet", "A²"), ("nl_resnet", "Non-local"), ("gc_resnet", "GC")):
        result = compute_maps(load_model(arch, str(weights_dir() / f"{arch}.safetensors")), image, 32)
        expected[label] = block_query_dependence(result.blocks["layer2.2.attn"])
    assert metric(at, "A² (layer2.2.attn)") == f"{expected['A²']:.3f}"
    assert metric(at, "Non-local (layer2.2.attn)") == f"{expected['Non-local']:.3f}"
    assert metric(at, "GC (layer2.2.attn)") == "0.000"
    assert expected["Non-local"] > 0.01 and expected["GC"] == pytest.approx(0, abs=1e-9)
    # Another block: the numbers follow.
    at.radio(key="learn_block_cifar10").set_value("layer3.2.attn").run()
    assert not at.exception
    assert metric(at, "A² (layer3.2.attn)") != metric(at, "Non-local (layer3.2.attn)")
