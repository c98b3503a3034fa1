"""Hostile uploads on Explore and Compare through Streamlit's AppTest: each gets a message, never a traceback."""

from __future__ import annotations

import pytest

from a2core.images import DAMAGED_EXIF
from a2core.models import ARCHS
from tests.app.pages import open_page
from tests.image_cases import junk_exif_jpeg


@pytest.fixture(scope="module", autouse=True)
def warm_models():
    # Load the shipped models once, outside the per-run timeout (st.cache_resource is per process).
    from app.common import load_model, weights_dir

    for arch in ARCHS:
        load_model(arch, str(weights_dir() / f"{arch}.safetensors"))


def notes(at) -> list[str]:
    return [i.value for i in at.info if DAMAGED_EXIF in i.value]


@pytest.mark.parametrize("view", ["explore", "compare"])
def test_a_damaged_exif_block_gets_a_note_and_the_photo_as_stored(view):
    at = open_page(view)
    at.file_uploader[0].upload("junk_exif.jpg", junk_exif_jpeg(), "image/jpeg").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    (note,) = notes(at)
    assert "junk_exif.jpg" in note
    # the page went on to the model: Explore's view of it, or Compare's cards
    assert any("junk_exif.jpg" in m.value for m in at.markdown) or view == "compare"
    assert [i for i in at.get("image") if any("model's view" in c for c in i.captions)] or view == "compare"
    if view == "compare":
        assert any(c.proto.component_name == "a2lens.lens" for c in at.get("bidi_component"))
