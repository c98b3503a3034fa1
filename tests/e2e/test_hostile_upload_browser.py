"""A photo with a damaged EXIF block, uploaded in a real browser to Explore: a note and the photo's maps, no
traceback."""

from __future__ import annotations

from a2core.images import DAMAGED_EXIF
from tests.e2e.browser import wait_idle, wait_lens
from tests.image_cases import junk_exif_jpeg

FIRST_RENDER_MS = 600_000  # the first visit imports torch and loads the model


def test_a_damaged_exif_block_gets_a_note_not_a_traceback(app_url, page, tmp_path):
    upload = tmp_path / "junk_exif.jpg"
    upload.write_bytes(junk_exif_jpeg())
    page.goto(f"{app_url}/?zoo=imagenette")
    before = wait_lens(page, timeout_ms=FIRST_RENDER_MS)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_text(DAMAGED_EXIF).wait_for()
    wait_lens(page, before)  # the page went on to the photo's maps
    wait_idle(page)
    assert "junk_exif.jpg" in page.locator('[data-testid="stAlert"]').filter(has_text=DAMAGED_EXIF).inner_text()
    info = page.locator('[data-testid="stMarkdown"]').filter(has_text="model view").first.inner_text()
    assert "junk_exif.jpg" in info, info
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Traceback").count() == 0 and page.get_by_text("not a TIFF file").count() == 0
    page.screenshot(path=str(tmp_path / "junk_exif.png"))
