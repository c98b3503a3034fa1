""""Your model" in a real browser: a random timm GC-ResNet saved to safetensors by the test, named to the
server by $A2LENS_MODEL*, opens in Explore with its context map and Grad-CAM; a click on the lens
moves the shared ✕."""

from __future__ import annotations

import re

import pytest
import torch
from safetensors.torch import save_file

import a2core  # noqa: F401  (first: its torchvision shim lets timm import)
from bench.sessions import serve
from tests.e2e.browser import CHARTS, wait_idle, wait_lens
from tests.e2e.conftest import STARTUP_TIMEOUT_S

import timm  # noqa: E402

FIRST_RENDER_MS = 600_000  # the first visit imports torch, loads the model and runs a 256-px Grad-CAM


@pytest.fixture(scope="module")
def own_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own")
    torch.manual_seed(0)
    model = timm.create_model("gcresnet33ts", num_classes=3)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "my.safetensors"))
    (folder / "classes.txt").write_text("cat\ndog\nfox\n")
    with pytest.MonkeyPatch.context() as patch:  # the server inherits the environment
        patch.setenv("A2LENS_MODEL", "timm:gcresnet33ts")
        patch.setenv("A2LENS_MODEL_WEIGHTS", str(folder / "my.safetensors"))
        patch.setenv("A2LENS_MODEL_CLASSES", str(folder / "classes.txt"))
        with serve(timeout_s=STARTUP_TIMEOUT_S, xsrf_protection=True, log=folder / "server.log") as server:
            yield server.url


def test_your_model_in_explore_with_gradcam_and_a_click(own_url, page, tmp_path):
    page.set_viewport_size({"width": 1600, "height": 1100})
    page.goto(f"{own_url}/?zoo=own")
    page.get_by_role("heading", name="Explore the attention in timm:gcresnet33ts").wait_for(timeout=FIRST_RENDER_MS)
    page.get_by_text(re.compile(r"✕ at cell \(4, 4\) of the 8×8 map")).wait_for(timeout=FIRST_RENDER_MS)
    wait_idle(page)
    # the Grad-CAM's title is text above its figure (it wraps at a projector's width)
    titles = page.locator('[data-testid="stMarkdown"]').filter(has_text="Grad-CAM of “").all_inner_texts()
    assert any(re.fullmatch(r"Grad-CAM of “(cat|dog|fox)” at stages\.3\.1", t.strip()) for t in titles), titles
    # the Grad-CAM is drawn over the photo by plotly, the context map by the lens
    assert page.locator(f"{CHARTS} .heatmaplayer image").count() >= 1
    wait_lens(page)
    card = page.locator(".a2lens .card").first
    assert card.get_attribute("data-kind") == "context" and card.get_attribute("data-cell") == "4,4"

    # Click the lens's top-left cell: the position is pinned, and the server's Grad-CAM ✕ follows.
    box = page.locator(".a2lens .stage").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 16, box["y"] + box["height"] / 16)
    page.get_by_text(re.compile(r"✕ at cell \(0, 0\) of the 8×8 map")).wait_for(timeout=120_000)
    wait_idle(page)
    page.screenshot(path=str(tmp_path / "explore_own.png"))
