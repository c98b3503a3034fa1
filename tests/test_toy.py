"""The toy double attention block and the step-by-step computation behind the Learn page."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from a2core.probe import analysis
from a2core.blocks import DoubleAttention
from a2core.models import build
from a2core.lessons.steps import bilinear_terms, block_inputs, block_steps, double_attention_steps
from a2core.lessons.toy import TOY_CHANNELS, bilinear_check, default_rho, default_theta, toy_feature_map, toy_steps


def test_toy_scene_has_one_binary_map_per_channel():
    x = toy_feature_map()
    assert x.shape == (len(TOY_CHANNELS), 6, 6)
    assert set(x.unique().tolist()) == {0.0, 1.0}
    assert (x.sum(0) <= 1).all(), "ball, bat and grass do not overlap"
    assert x[2, -1].sum() == 6, "grass is the bottom row"


@pytest.mark.parametrize("n", [2, 3])
def test_toy_softmaxes_are_distributions(n):
    s = toy_steps(default_theta(n), default_rho(n))
    L = 36
    assert s.gather.shape == (n, L) and s.distribute.shape == (n, L)
    torch.testing.assert_close(s.gather.sum(1), torch.ones(n))  # each gathering map over positions
    torch.testing.assert_close(s.distribute.sum(0), torch.ones(L))  # each position over descriptors
    assert s.descriptors.shape == (3, n) and s.z.shape == (3, L)


def test_default_toy_tells_the_article_story():
    s = toy_steps(default_theta(2), default_rho(2))
    g = s.descriptors
    # descriptor 1 gathered mostly ball, descriptor 2 mostly bat
    assert g[:, 0].argmax() == 0 and g[:, 1].argmax() == 1
    z = s.as_maps(s.z)
    assert z[1, 1, 1] > 0.5, "the ball's position receives the bat"


def test_sliders_change_the_outputs():
    theta, rho = default_theta(2), default_rho(2)
    before = toy_steps(theta, rho)
    theta2 = theta.clone()
    theta2[0] = torch.tensor([0.0, 0.0, 4.0])  # descriptor 1 now looks for grass
    after = toy_steps(theta2, rho)
    assert after.descriptors[2, 0] > 0.5 > before.descriptors[2, 0]
    rho2 = rho.clone()
    rho2[:, 0] = torch.tensor([4.0, -4.0])  # the ball now asks for descriptor 1
    assert toy_steps(theta, rho2).distribute[0, 7] > 0.9 > before.distribute[0, 7]


def test_steps_match_the_equations_written_out():
    torch.manual_seed(0)
    c, m, n, h, w = 5, 4, 3, 3, 4
    x = torch.randn(c, h, w, dtype=torch.float64)
    w_phi, w_theta, w_rho = (torch.randn(k, c, dtype=torch.float64) for k in (m, n, n))
    s = double_attention_steps(x, w_phi, w_theta, w_rho)
    flat = x.reshape(c, -1)
    L = h * w
    b = w_theta @ flat
    for i in range(n):  # g_i = Σ_j softmax(b_i)_j a_j
        weights = torch.exp(b[i]) / torch.exp(b[i]).sum()
        g_i = sum(weights[j] * (w_phi @ flat[:, j]) for j in range(L))
        torch.testing.assert_close(s.descriptors[:, i], g_i)
    v = w_rho @ flat
    for j in (0, L - 1):  # z_j = Σ_i v_ij g_i
        v_j = torch.exp(v[:, j]) / torch.exp(v[:, j]).sum()
        torch.testing.assert_close(s.z[:, j], s.descriptors @ v_j)


def test_bilinear_pooling_equals_the_matmul():
    s = toy_steps(default_theta(3), default_rho(3))
    check = bilinear_check(s)
    assert check["max_abs_diff"] < 1e-6
    terms = bilinear_terms(s.a, s.gather)
    assert terms.shape == (36, 3, 3)
    j = 7
    torch.testing.assert_close(terms[j], torch.outer(s.a[:, j], s.gather[:, j]))


def test_implied_attention_matches_analysis_and_rows_sum_to_one():
    s = toy_steps(default_theta(3), default_rho(3))
    p = s.implied_attention()
    torch.testing.assert_close(p.sum(1), torch.ones(36))
    expected = analysis.implied_attention_matrix(s.as_maps(s.gather), s.as_maps(s.distribute))
    np.testing.assert_allclose(p.numpy(), expected, atol=1e-6)
    # and Z = A Pᵀ: the associative (pairwise) order
    torch.testing.assert_close(s.a @ p.T, s.z, atol=1e-6, rtol=1e-5)


def test_block_steps_reproduce_the_block():
    torch.manual_seed(1)
    block = DoubleAttention(16, 8, 4).eval()
    torch.nn.init.normal_(block.proj[1].weight)  # proj starts at zero; make Y depend on Z
    x = torch.randn(1, 16, 5, 6)
    s = block_steps(block, x)
    with torch.no_grad():
        y, maps = block(x, return_maps=True)
    torch.testing.assert_close(s.y, y[0])
    torch.testing.assert_close(s.as_maps(s.gather), maps.gather[0])
    torch.testing.assert_close(s.descriptors, maps.descriptors[0])


def test_block_inputs_captures_what_each_block_receives():
    torch.manual_seed(2)
    model = build("a2_resnet").eval()
    images = torch.randn(2, 3, 32, 32)
    logits, inputs = block_inputs(model, images)
    assert set(inputs) == {"layer2.2.attn", "layer3.2.attn"}
    assert inputs["layer2.2.attn"].shape == (2, 32, 16, 16)
    assert inputs["layer3.2.attn"].shape == (2, 64, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(logits, model(images))
    assert len(model.layer2[2].attn._forward_pre_hooks) == 1, "one inert tap, not a hook per call"
    with pytest.raises(KeyError):
        block_inputs(model, images, ["layer9.attn"])


def test_bad_toy_arguments_raise():
    with pytest.raises(ValueError):
        toy_steps(torch.zeros(4, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError):
        toy_steps(torch.zeros(2, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError):
        toy_feature_map(3)


# ---------------------------------------------------------------- the toy as plain numbers, for the browser view


def test_toy_scene_is_plain_numbers_of_the_toy():
    import json

    from a2core.lessons.toy import TOY_N, WEIGHT_RANGE, toy_scene

    scene = toy_scene()
    assert json.loads(json.dumps(scene)) == scene
    assert scene["x"] == toy_feature_map().tolist() and scene["range"] == list(WEIGHT_RANGE)
    for n in TOY_N:
        assert scene["defaults"][str(n)] == {"theta": default_theta(n).tolist(), "rho": default_rho(n).tolist()}


def test_toy_steps_in_float64_agree_with_float32():
    s32 = toy_steps(default_theta(3), default_rho(3))
    s64 = toy_steps(default_theta(3), default_rho(3), dtype=torch.float64)
    assert s32.z.dtype == torch.float32 and s64.z.dtype == s64.gather.dtype == torch.float64
    torch.testing.assert_close(s64.z.float(), s32.z)


def test_strongest_terms_rank_the_bilinear_terms_and_keep_ties_in_position_order():
    from a2core.lessons.toy import strongest_terms

    s = toy_steps(default_theta(2), default_rho(2), dtype=torch.float64)
    # the bat's top cell (0, 4) and the ball's (1, 1), (1, 2) tie exactly: position order decides
    assert strongest_terms(s) == [4, 7, 8] == strongest_terms(toy_steps(default_theta(2), default_rho(2)))
    theta = default_theta(2)
    theta[0] = torch.tensor([0.0, 0.0, 5.0])  # g1 now gathers the grass: 6 cells, each weight below the bat's
    assert strongest_terms(toy_steps(theta, default_rho(2)), k=4) == [4, 10, 16, 22]


@pytest.mark.parametrize("state", [None, "x", {"n": 4}, {"n": 2, "theta": [[0, 0, 0]], "rho": [[0, 0, 0]] * 2},
                                   {"n": 2, "theta": [[float("inf"), 0, 0]] * 2, "rho": [[0, 0, 0]] * 2},
                                   {"n": 2, "theta": [["a", 0, 0]] * 2, "rho": [[0, 0, 0]] * 2}])
def test_toy_weights_from_the_browser_fall_back_to_the_defaults(state):
    from a2core.figures.toy import toy_weights
    from a2core.lessons.toy import toy_scene

    assert toy_weights(state, toy_scene()) == {"n": 2, **toy_scene()["defaults"]["2"]}


def test_toy_weights_are_clipped_to_the_sliders_and_their_step():
    from a2core.figures.toy import toy_weights
    from a2core.lessons.toy import toy_scene

    state = {"n": 3, "theta": [[9, -9, 1.2]] * 3, "rho": [[0.3, 0, 4]] * 3}
    assert toy_weights(state, toy_scene()) == {"n": 3, "theta": [[5.0, -5.0, 1.0]] * 3, "rho": [[0.5, 0.0, 4.0]] * 3}


def test_toy_view_embeds_the_one_toy_script():
    from a2core.figures import web
    from a2core.figures.toy import ToyView, toy_data
    from a2core.lessons.toy import toy_scene

    data = toy_data(toy_scene())
    assert set(data["colors"]) == {"x", "maps"} and all(len(c) == 256 * 6 for c in data["colors"].values())
    page = ToyView(data)._repr_html_()
    assert web.script("toy") in page and web.style("toy") in page
    assert "export default function toy(component)" in web.script("toy")
    assert page.count("</script>") == 1
