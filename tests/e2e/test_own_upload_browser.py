""""Your model" from uploads in a real browser: a pickle renamed .safetensors, uploaded as the weights, gets
its message and no traceback; the same page then takes good weights and shows the model's maps."""

from __future__ import annotations

import io

import torch
from safetensors.torch import save

import a2core  # noqa: F401  (first: its torchvision shim lets timm import)
from tests.e2e.browser import wait_idle

import timm  # noqa: E402

FIRST_RENDER_MS = 600_000  # the first visit imports torch and, later, loads and runs the uploaded model
PICKLE_MESSAGE = "this is a pickle (PyTorch's torch.save format), not safetensors"


def _weights_input(page):
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Weights (.safetensors)")
    return uploader.locator('input[type="file"]')


def test_a_renamed_pickle_is_refused_and_the_page_goes_on(app_url, page, tmp_path):
    torch.manual_seed(0)
    model = timm.create_model("mobilenetv3_small_050", num_classes=3)
    pickled = io.BytesIO()
    torch.save(model.state_dict(), pickled)
    good = save({k: v.contiguous() for k, v in model.state_dict().items()})

    page.goto(f"{app_url}/?zoo=own")
    page.get_by_text("Name your model and upload its weights.").wait_for(timeout=FIRST_RENDER_MS)
    name = page.get_by_label("Model (library:arch)", exact=True).and_(page.get_by_test_id("stTextInputField"))
    name.fill("timm:mobilenetv3_small_050")
    name.press("Enter")
    wait_idle(page)
    _weights_input(page).set_input_files(files=[
        {"name": "model.safetensors", "mimeType": "application/octet-stream", "buffer": pickled.getvalue()}])
    page.get_by_text(PICKLE_MESSAGE).wait_for(timeout=FIRST_RENDER_MS)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "own_upload_refused.png"))

    # the same page, the same session: good weights replace the pickle and the model's maps appear
    _weights_input(page).set_input_files(files=[
        {"name": "model.safetensors", "mimeType": "application/octet-stream", "buffer": good}])
    page.get_by_role("heading", name="Explore the attention in timm:mobilenetv3_small_050").wait_for(
        timeout=FIRST_RENDER_MS)
    page.get_by_text("knows 3 classes: class 0, class 1, class 2").wait_for(timeout=FIRST_RENDER_MS)
    wait_idle(page)
    assert page.get_by_text(PICKLE_MESSAGE).count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
