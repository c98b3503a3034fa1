"""A real server and a real browser for the end-to-end tests.

``app_url`` starts ``streamlit run app/main.py`` once per session on a free
loopback port and waits for its health endpoint (``bench.sessions.serve``, as the load test does); ``page`` is a fresh Chromium
tab (Debian's /usr/bin/chromium driven by Playwright, which cannot download
its own browser here). Pages of the app are at ``app_url + "/explore"`` etc.
"""

from __future__ import annotations

import os

import pytest

from bench.sessions import serve

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
def app_url(tmp_path_factory) -> str:
    """Base URL of a running A²Lens server (no trailing slash) on the shipped weights."""
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with serve(timeout_s=STARTUP_TIMEOUT_S, xsrf_protection=True, log=log) as server:
        yield server.url


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
