""""Your model" in the app (AppTest): a random timm GC-ResNet saved to safetensors by the test, the server's
own model ($A2LENS_MODEL*), opens in Explore and Compare with its maps and Grad-CAM; problems with the model
are messages, never tracebacks. Uploads: tests/app/test_own_upload_app.py."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import a2core  # first: its torchvision shim lets timm import
from a2core.figures.gradcam import DIFFERENCE
from a2core.images import load_image, preprocess
from a2core.models.own import TIMM_MISSING
from streamlit.testing.v1 import AppTest

from a2core.figures import lens as figure_lens
from tests.app.pages import APP, lens_data
from tests.app.plotly_json import arr, charts

import timm  # noqa: E402

pytestmark = pytest.mark.slow  # each test builds timm/torchvision models and runs pages on them

ARCH = "timm:gcresnet33ts"
SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "imagenette" / "English_springer"
CLASSES = ("cat", "dog", "fox")
TIMEOUT = 600  # a 256-px forward and backward of a ResNet-33 on a busy CPU, and the app's imports


@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    """$A2LENS_MODEL*: a random gcresnet33ts with three classes, saved as safetensors with a classes file."""
    folder = tmp_path_factory.mktemp("own")
    torch.manual_seed(0)
    model = timm.create_model("gcresnet33ts", num_classes=len(CLASSES)).eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "my.safetensors"))
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("A2LENS_MODEL", ARCH)
        patch.setenv("A2LENS_MODEL_WEIGHTS", str(folder / "my.safetensors"))
        patch.setenv("A2LENS_MODEL_CLASSES", str(folder / "classes.txt"))
        yield model, folder


def open_own(view: str | None = None):
    """The app on "your model" (as if picked on an earlier page), switched to ``views/<view>.py`` when given."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["a2lens_zoo"] = "own"
    at.run()
    if view is not None:
        at.switch_page(f"views/{view}.py").run()
    return at


def gradcam_charts(at) -> list[dict]:
    """The page's Grad-CAM maps: their heatmap's hover text names them (the title is markdown above, to wrap)."""
    return [c for c in charts(at) if any("Grad-CAM" in (t.get("hovertemplate") or "") for t in c["data"])]


def gradcam_title(at) -> str:
    """The Grad-CAM's title as the page writes it above the map."""
    (title,) = [m.value for m in at.markdown if m.value.startswith("**Grad-CAM of “")]
    return title


def heatmap(chart: dict) -> np.ndarray:
    (trace,) = [t for t in chart["data"] if t["type"] == "heatmap"]
    return arr(trace["z"])


def text(at) -> str:
    return "\n".join([c.value for c in at.caption] + [m.value for m in at.markdown])


def test_explore_shows_the_models_own_maps_and_gradcam(own_model):
    model, folder = own_model
    at = open_own()
    assert not at.exception and not at.error
    assert at.radio(key="explore_zoo").value == "own"
    assert at.title[0].value == f"Explore the attention in {ARCH}"
    picker = at.selectbox(key="explore_module_own")
    assert len(picker.options) == 10 and all(" · GC · " in o for o in picker.options)  # every GC module
    assert picker.value == "stages.3.1.attn"
    page = text(at)
    assert "model view 256×256 px" in page and "read as **GC**" in page and "timm.layers.global_context" in page
    assert "knows 3 classes: cat, dog, fox" in page and DIFFERENCE in page
    # GC's context map, in the lens: one softmax over the last stage's 8×8 positions
    (card,) = lens_data(at)["cards"]
    context = figure_lens.unpack(card["context"])
    assert card["kind"] == "context" and card["shape"] == [8, 8] and context.sum() == pytest.approx(1.0, abs=1e-4)
    # Grad-CAM of the predicted class at the unit holding the module, as a2core computes it on the same view
    (cam_chart,) = gradcam_charts(at)
    image = load_image((SAMPLE / "ILSVRC2012_val_00008162.jpg").read_bytes())
    meta = a2core.load_own_model(a2core.ModelSpec("timm", "gcresnet33ts", folder / "my.safetensors",
                                                  folder / "classes.txt")).meta
    x = preprocess(image, meta)
    cams, classes = a2core.grad_cam(model, x, "stages.3.1")
    assert gradcam_title(at) == f"**Grad-CAM of “{CLASSES[classes[0]]}”** at `stages.3.1`"
    np.testing.assert_allclose(heatmap(cam_chart), cams[0], rtol=1e-4, atol=1e-6)
    assert "✕ at cell (4, 4) of the 8×8 map of `stages.3.1`" in page


def test_explore_explains_a_chosen_class_and_another_module(own_model):
    at = open_own()
    at.selectbox(key="explore_gradcam_class_own").set_value(0).run()
    assert not at.exception
    (cam_chart,) = gradcam_charts(at)
    assert gradcam_title(at) == "**Grad-CAM of “cat”** at `stages.3.1`"
    at.selectbox(key="explore_module_own").set_value("stages.2.0.attn").run()
    assert not at.exception and not at.error
    (cam_chart,) = gradcam_charts(at)
    assert gradcam_title(at) == "**Grad-CAM of “cat”** at `stages.2.0`"
    assert heatmap(cam_chart).shape == (16, 16)


def test_compare_has_your_models_column_and_a_gradcam_row(own_model):
    at = open_own("compare")
    assert not at.exception and not at.error
    assert at.radio(key="compare_zoo").value == "own"
    blocks = at.radio(key="cmp_block_own")
    assert len(blocks.options) == 10 and blocks.options[0] == "stages.0.0.attn (1/4 of the input)"
    (card,) = lens_data(at)["cards"]
    assert card["kind"] == "context" and card["map_title"] == "global context map" and DIFFERENCE in text(at)
    assert "Grad-CAM of each prediction, at the layer holding the block" in [h.value for h in at.subheader]
    (cam_chart,) = gradcam_charts(at)
    assert gradcam_title(at).endswith("at `stages.0.0`") and heatmap(cam_chart).shape == (64, 64)


def test_what_keeps_a_model_from_loading_is_a_message(own_model, tmp_path, monkeypatch):
    model, folder = own_model
    pickled = tmp_path / "model.pth"
    torch.save(model.state_dict(), pickled)
    # the operator's file, a pickle: offered (it is inside its folder), and refused when loaded
    monkeypatch.setenv("A2LENS_MODEL_WEIGHTS", str(pickled))
    at = open_own()
    assert not at.exception and any("never a pickle" in e.value for e in at.error)
    # a configured file that is not there is not offered, and not named: the page asks for an upload
    monkeypatch.setenv("A2LENS_MODEL_WEIGHTS", str(tmp_path / "missing.safetensors"))
    at = open_own()
    assert not at.exception and not at.error and [i.value for i in at.info] == [
        "Name your model and upload its weights."]
    monkeypatch.setenv("A2LENS_MODEL_WEIGHTS", str(folder / "my.safetensors"))
    monkeypatch.setenv("A2LENS_MODEL", "timm:seresnet18")
    at = open_own()
    assert not at.exception and any("do not fit timm:seresnet18" in e.value for e in at.error)
    monkeypatch.setenv("A2LENS_MODEL", ARCH)
    monkeypatch.setenv("A2LENS_MODEL_CLASSES", "")  # another spec: not the model loaded (and cached) above
    monkeypatch.setitem(sys.modules, "timm", None)  # as if timm were not installed
    at = open_own()
    assert not at.exception and any(TIMM_MISSING in e.value for e in at.error)
