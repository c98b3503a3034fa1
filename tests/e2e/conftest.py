"""A real server and a real browser for the end-to-end tests.

``app_url`` starts ``streamlit run app/main.py`` once per session on a free
loopback port and waits for its health endpoint (``bench.sessions.serve``, as the load test does); ``page`` is a fresh Chromium
tab (Debian's /usr/bin/chromium driven by Playwright, which cannot download
its own browser here). Pages of the app are at ``app_url + "/explore"`` etc.; ``?zoo=cifar10`` or
``?zoo=imagenette`` opens a page on that zoo.

The server runs on both zoos: the shipped CIFAR-10 weights and random photo-zoo weights
(bench/zoo_weights.py), so the photo pages are tested before their weights land. The README's
screenshots are written only when asked for, from the shipped weights:

    A2LENS_DOCS_ZOO=imagenette python3 -m pytest tests/e2e -k screenshot    # docs/*.png of the photo zoo
"""

from __future__ import annotations

import os

import pytest

from a2core.models import default_path
from bench.sessions import serve
from tests.e2e.browser import DOCS_ZOO
from bench.zoo_weights import weights_folder

ZOOS = ("cifar10", "imagenette")

CHROMIUM = os.environ.get("A2LENS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def weights_root(tmp_path_factory):
    """The weights folder the server runs on (laid out as ``assets/weights``); None: the shipped weights."""
    return None if DOCS_ZOO else weights_folder(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, weights_root) -> str:
    """Base URL of a running A²Lens server (no trailing slash): on both zoos (see above), or on the shipped
    weights when this run makes the docs' screenshots."""
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    weights = weights_root
    with serve(timeout_s=STARTUP_TIMEOUT_S, xsrf_protection=True, log=log, weights=weights) as server:
        yield server.url


@pytest.fixture(params=ZOOS)
def zoo(request) -> str:
    """Each zoo in turn; when making the docs of the photo zoo, its shipped A²-ResNet must be there."""
    if DOCS_ZOO and not default_path("a2_resnet", zoo=request.param).is_file():
        pytest.skip(f"making the docs from the shipped weights, and {request.param} has no shipped A²-ResNet")
    return request.param


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh tab, 1600×1000, with a 120 s default timeout (the first forward pass loads the model)."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, device_scale_factor=1)
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    try:
        yield tab
    finally:
        context.close()
