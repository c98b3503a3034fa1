"""Grad-CAM against Captum's LayerGradCam and a reference written here, its layer, and its figure."""

from __future__ import annotations

import copy

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

import a2core  # first: its torchvision shim lets timm import
from a2core import figures
from a2core._compat import import_torchvision
from a2core.figures.gradcam import DIFFERENCE, gradcam_over_image
from a2core.probe.gradcam import grad_cam, holder_of
from a2core.models import build
from a2core.probe import install_taps, tapped_blocks

import timm  # noqa: E402

tv = import_torchvision()


def reference_grad_cam(model, x, layer, targets):
    """Selvaraju et al.'s equations with autograd: α_k = mean ∂y_c/∂A_k, cam = ReLU(Σ α_k A_k)."""
    store = {}
    handle = model.get_submodule(layer).register_forward_hook(lambda m, a, out: store.setdefault("a", out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    a = store["a"]
    grads = torch.autograd.grad(logits[torch.arange(len(x)), torch.as_tensor(targets)].sum(), a)[0]
    return torch.relu((grads.mean((2, 3), keepdim=True) * a).sum(1)).detach().numpy()


def captum_grad_cam(model, x, layer, targets):
    """The same maps from Captum (PyTorch's interpretability library), an implementation independent of ours."""
    from captum.attr import LayerGradCam

    cams = LayerGradCam(model, model.get_submodule(layer)).attribute(
        x, target=torch.as_tensor(targets), relu_attributions=True)
    return cams[:, 0].detach().numpy()


def perturbed_a2():
    torch.manual_seed(0)
    model = build("a2_resnet")
    with torch.no_grad():  # open the zero-initialised blocks, so the maps matter to the class
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


@pytest.mark.slow
@pytest.mark.parametrize("maker", [perturbed_a2, lambda: timm.create_model("seresnet18", num_classes=5).eval()],
                         ids=["a2_resnet", "timm seresnet18"])
def test_matches_the_reference_for_the_predicted_and_a_chosen_class(maker):
    torch.manual_seed(1)
    model = maker()
    x = torch.randn(3, 3, 32, 32)
    layer = holder_of(model, list(tapped_blocks(model))[0])
    cams, targets = grad_cam(model, x, layer)
    with torch.no_grad():
        np.testing.assert_array_equal(targets, model(x).argmax(1).numpy())
    for reference in (reference_grad_cam, captum_grad_cam):
        expected = reference(model, x, layer, targets)
        assert cams.shape == expected.shape and cams.dtype == np.float32
        assert expected.max() > 0  # not trivially zero
        np.testing.assert_allclose(cams, expected, rtol=1e-5, atol=1e-7)
        chosen, classes = grad_cam(model, x, layer, target=1)
        np.testing.assert_array_equal(classes, [1, 1, 1])
        np.testing.assert_allclose(chosen, reference(model, x, layer, [1, 1, 1]), rtol=1e-5, atol=1e-7)
    assert (cams >= 0).all()


def test_a_frozen_model_still_gets_its_gradients():
    model = perturbed_a2().requires_grad_(False)
    x = torch.randn(2, 3, 32, 32)
    cams, targets = grad_cam(model, x, "layer3.2")
    model.requires_grad_(True)
    np.testing.assert_allclose(cams, reference_grad_cam(model, x, "layer3.2", targets), rtol=1e-5, atol=1e-7)


def test_leaves_the_model_as_it_was():
    model = perturbed_a2()
    untapped = copy.deepcopy(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    install_taps(model)  # as the app does at load: the output taps on the layers holding blocks
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    for layer in ("layer2.2", "layer3.2", "layer2.2"):
        grad_cam(model, torch.randn(1, 3, 32, 32), layer)
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()) == hooks
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert not model.training
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():  # the taps are inert outside a probe
        assert torch.equal(model(x), untapped(x))


def test_the_layer_holding_a_block():
    assert holder_of(build("a2_resnet"), "layer2.2.attn") == "layer2.2"
    assert holder_of(timm.create_model("seresnet18"), "layer3.1.se") == "layer3.1"
    # torchvision's MBConv keeps its layers in a Sequential: the unit itself holds the SE
    assert holder_of(tv.models.efficientnet_b0(), "features.2.0.block.2") == "features.2.0"
    with pytest.raises(ValueError):
        holder_of(build("a2_resnet"), "fc")


def test_figure_is_the_attention_heatmap_with_its_colour_scale_and_marker():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    cam = rng.random((8, 8)).astype(np.float32)
    fig = gradcam_over_image(image, cam, class_name="cat", layer="layer3.2", position=(2, 5),
                             colorscale="Inferno", opacity=0.4)
    attention = figures.heatmap_over_image(image, cam, position=(2, 5), colorscale="Inferno",
                                           opacity=0.4, label="Grad-CAM")
    heat, ref = (next(t for t in f.data if isinstance(t, go.Heatmap)) for f in (fig, attention))
    assert heat.colorscale == ref.colorscale and heat.zmin == 0 and heat.zmax == pytest.approx(cam.max())
    assert heat.opacity == 0.4
    markers = [t for t in fig.data if t.name == "position"]
    assert [t.to_plotly_json() for t in markers] == [t.to_plotly_json() for t in attention.data if t.name == "position"]
    assert fig.layout.title.text == "Grad-CAM of “cat” at layer3.2"
    assert "every forward pass" in DIFFERENCE and "one class" in DIFFERENCE
