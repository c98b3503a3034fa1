"""Hostile uploads on Explore and Compare through Streamlit's AppTest: each gets a message, never a traceback."""

from __future__ import annotations

import pytest

from a2core.images import DAMAGED_EXIF
from tests.app.pages import open_page
from tests.image_cases import encode, junk_exif_jpeg, picture


# AppTest page runs, a second or more each (--durations)
pytestmark = [pytest.mark.usefixtures("warm_models"), pytest.mark.slow]  # fixture: tests/app/conftest.py


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


@pytest.mark.parametrize("name, data", [("notes.txt", b"lecture notes, not a picture\n" * 20),
                                        ("scan.tiff", encode(picture(64, 64), "TIFF"))])
def test_a_refused_file_type_sent_by_hand_gets_a_message(name, data):
    # The browser's picker offers only the photo types; a hand-made request may send any name. Streamlit
    # raised "StreamlitAPIException: Invalid file extension" for it; the content check answers instead.
    at = open_page("explore")
    at.file_uploader[0].upload(name, data, "application/octet-stream").run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    assert name in error.value and "not an image this app can read" in error.value
    at.file_uploader[0].upload("fine.png", encode(picture(64, 64), "PNG"), "image/png").run()
    assert not at.exception and not at.error


def test_a_refused_weights_type_sent_by_hand_gets_a_message(monkeypatch):
    for variable in ("A2LENS_MODEL", "A2LENS_MODEL_WEIGHTS", "A2LENS_MODEL_CLASSES", "A2LENS_MODEL_DIR"):
        monkeypatch.delenv(variable, raising=False)
    at = open_page(None, zoo="own")
    at.text_input(key="explore_own_arch").set_value("timm:mobilenetv3_small_050")
    at.file_uploader(key="explore_own_weights_upload").set_value(("model.pt", b"\x80\x02junk", "text/plain"))
    at.file_uploader(key="explore_own_classes_upload").set_value(("classes.csv", b"cat\ndog\n", "text/csv"))
    at.run()
    # Streamlit raised "Invalid file extension" before the page ran; now the page reads them and answers
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    assert "cannot be loaded" in error.value


@pytest.mark.parametrize("library", ["timm", "nonsense"])
def test_a_100_kb_model_name_is_cut_and_not_repeated_whole(monkeypatch, library):
    for variable in ("A2LENS_MODEL", "A2LENS_MODEL_WEIGHTS", "A2LENS_MODEL_CLASSES", "A2LENS_MODEL_DIR"):
        monkeypatch.delenv(variable, raising=False)
    at = open_page(None, zoo="own")
    at.text_input(key="explore_own_arch").set_value(f"{library}:" + "x" * 100_000)
    at.file_uploader(key="explore_own_weights_upload").set_value(("model.safetensors", b"junk", "text/plain"))
    at.run()
    assert not at.exception
    assert len(at.text_input(key="explore_own_arch").value) == 100  # max_chars: cut on the server too
    (error,) = at.error
    assert len(error.value) < 400, len(error.value)
    if library == "nonsense":  # the name is wrong: the message says so, quoting its start only
        assert "got 'nonsense:xxx" in error.value and "…" in error.value


def test_a_long_file_name_is_not_repeated_whole():
    at = open_page("explore")
    name = "n" * 5_000 + ".png"
    at.file_uploader[0].upload(name, b"not a picture", "image/png").run()
    assert not at.exception
    (error,) = at.error
    assert len(error.value) < 400 and "nnnn" in error.value


@pytest.mark.parametrize("widget", ["upload", "camera"])
def test_a_file_name_streamlit_refuses_gets_a_message_and_the_app_goes_on(widget):
    # A null byte in the name: Streamlit refuses it (for every uploader) when it reads the widget's value, which
    # it first does before the page runs, so its StreamlitAPIException stood in place of the page. The name proves
    # nothing: the page checks the content, repeats the name as text, and the next file works.
    at = open_page("explore")
    if widget == "camera":
        at.toggle(key="explore_camera_on").set_value(True).run()
        field = at.camera_input(key="explore_camera")
    else:
        field = at.file_uploader(key="explore_upload")
    field.set_value(("notes\0.jpg", b"lecture notes, not a picture\n" * 20, "image/jpeg")).run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    assert "`notes\ufffd.jpg` cannot be used" in error.value and "not an image this app can read" in error.value
    field = at.camera_input(key="explore_camera") if widget == "camera" else at.file_uploader(key="explore_upload")
    field.set_value(("fine\0.jpg", encode(picture(64, 64), "JPEG"), "image/jpeg")).run()
    assert not at.exception and not at.error
    assert any("fine\ufffd.jpg" in m.value or "camera photo" in m.value for m in at.markdown)


def test_a_camera_photo_of_a_refused_type_sent_over_the_websocket_gets_a_message():
    # What a hand-made client sends: the camera widget's file named notes.txt (Streamlit allows the camera
    # ".jpg" only and raised "Invalid file extension" before the page ran, on every rerun while the file stayed).
    from bench.sessions import QUERY, Session, serve

    with serve() as server:
        session = Session(server.url, query=QUERY)
        session.open()
        session.set("explore_camera_on", bool_value=True)
        refused = session.upload("notes.txt", b"lecture notes, not a picture\n" * 20, mime="text/plain",
                                 key="explore_camera")
        (error,) = refused.errors  # an error message, not an exception (the driver counts both)
        assert error.startswith("error message: `notes.txt` cannot be used") and "not an image" in error, error
        assert refused.elements > 10  # the page went on: sidebar, title, …
        shot = session.upload("image.jpg", encode(picture(64, 64), "JPEG"), key="explore_camera")
        assert shot.errors == []
        assert any(k.startswith("explore_lens_") for k in session.lenses)  # Explore ran on the camera photo
        session.close()


def test_the_pages_get_the_picture_decoded_once_and_the_models_view_is_preprocess_s_input():
    # Decode once (issue 36): the check keeps the decoded picture, named by its file's digest; Grad-CAM and the
    # feature maps take the model's view (ImageMaps.image), which must give the tensor preprocess() gives.
    import hashlib

    import torch

    from a2core.images import decode, preprocess
    from a2core.probe import compute_maps
    from app import upload
    from app.common import load_model, weights_dir
    from app.panels import _batch

    data = encode(picture(200, 150), "JPEG")
    checked = upload.check(data)
    assert checked.error is None and checked.picture.digest == hashlib.sha256(data).hexdigest()
    reference = decode(data).image  # an independent decode of the same file
    assert checked.picture.image.tobytes() == reference.tobytes()
    model = load_model("a2_resnet", str(weights_dir() / "a2_resnet.safetensors"))
    for size in (32, 48):
        view = compute_maps(model, checked.picture.image, size).image
        assert torch.equal(_batch(model, view), preprocess(reference, model.meta, size))
