"""Explore's "Enlarged descriptor" follows a new upload (issue 20, item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.pages import open_page

SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"


# every test here runs the page in AppTest for a second or more (pytest --durations)
pytestmark = [pytest.mark.usefixtures("warm_model"), pytest.mark.slow]  # fixture: tests/app/conftest.py


def upload(at, name: str):
    at.file_uploader[0].upload(name, (SAMPLES / name.replace("_", "/", 1)).read_bytes(), "image/jpeg").run()
    assert not at.exception and not at.error
    return at


def test_enlarged_descriptor_follows_a_new_upload():
    fresh = upload(open_page(), "ship_val_0002.jpg").selectbox(key="explore_descriptor").value  # what B opens on
    at = upload(open_page(), "airplane_val_0004.jpg")
    picker = at.selectbox(key="explore_descriptor")
    other = next(o for o in picker.options if o not in (picker.value, fresh))
    picker.set_value(other).run()
    assert at.selectbox(key="explore_descriptor").value == other, "a choice stands while the image does"
    upload(at, "ship_val_0002.jpg")
    assert at.selectbox(key="explore_descriptor").value == fresh
