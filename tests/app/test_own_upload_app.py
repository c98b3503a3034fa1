""""Your model" from uploads (AppTest): the weights and the classes come as uploads, read from memory and
cached by content; hostile uploads are messages and the page goes on working; the server's own files
come only from its model folder; the view follows the zoo's Explore rules (width, fit note)."""

from __future__ import annotations

import io
import json
import os
import struct

import pytest
import streamlit
import torch
from safetensors.torch import save
from streamlit.testing.v1 import AppTest

import a2core  # noqa: F401  (first: its torchvision shim lets timm import)
from app.sources import own
from tests.app.pages import APP

import timm  # noqa: E402

pytestmark = pytest.mark.slow  # AppTest page runs, a second or more each (--durations)

ARCH = "timm:mobilenetv3_small_050"  # SE modules; small enough for many page runs
TIMEOUT = 300
CLASSES = b"cat\ndog\nfox\n"


def weights(seed: int = 0) -> bytes:
    """A random mobilenetv3_small_050 of three classes as safetensors bytes; a zeroed classifier gives every
    class 1/3 (so the picture fits none of them)."""
    torch.manual_seed(seed)
    model = timm.create_model("mobilenetv3_small_050", num_classes=3)
    torch.nn.init.zeros_(model.classifier.weight)
    torch.nn.init.zeros_(model.classifier.bias)
    return save({k: v.contiguous() for k, v in model.state_dict().items()})


def header(entries: dict) -> bytes:
    text = json.dumps(entries).encode()
    return struct.pack("<Q", len(text)) + text


def pickled() -> bytes:
    buffer = io.BytesIO()
    torch.save(timm.create_model("mobilenetv3_small_050", num_classes=3).state_dict(), buffer)
    return buffer.getvalue()


@pytest.fixture
def no_server_model(monkeypatch):
    for variable in ("A2LENS_MODEL", "A2LENS_MODEL_WEIGHTS", "A2LENS_MODEL_CLASSES", "A2LENS_MODEL_DIR",
                     "A2LENS_MAX_UPLOAD_MB"):
        monkeypatch.delenv(variable, raising=False)


def open_own() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["a2lens_zoo"] = "own"
    at.run()
    return at


def upload(at: AppTest, data: bytes, name: str = "my.safetensors", classes: bytes | None = CLASSES,
           arch: str = ARCH) -> AppTest:
    at.text_input(key="explore_own_arch").set_value(arch)
    at.file_uploader(key="explore_own_weights_upload").set_value((name, data, "application/octet-stream"))
    at.file_uploader(key="explore_own_classes_upload").set_value(
        None if classes is None else ("classes.txt", classes, "text/plain"))
    return at.run()


def errors(at: AppTest) -> list[str]:
    assert not at.exception, at.exception
    return [e.value for e in at.error]


def test_the_page_asks_for_uploads_and_offers_no_path_to_type(no_server_model):
    at = open_own()
    assert not at.exception and not at.error
    assert [t.label for t in at.text_input] == ["Model (library:arch)"]  # no text box takes a path
    assert [u.label for u in at.file_uploader] == ["Weights (.safetensors)",
                                                   "Class names (optional: a text file, one a line)"]
    assert [i.value for i in at.info] == ["Name your model and upload its weights."]


def test_uploaded_weights_and_classes_make_the_model_cached_by_content(no_server_model, monkeypatch):
    data = weights()
    at = upload(open_own(), data)
    assert not errors(at)
    assert at.title[0].value == f"Explore the attention in {ARCH}"
    assert any("knows 3 classes: cat, dog, fox" in c.value for c in at.caption)
    # The model is cached under its content's hash: the key alone (no bytes) finds it, and the same bytes
    # uploaded again by another session under another name are the same model, not a second copy.
    from app.common import load_model

    key = own.spec_key("timm", "mobilenetv3_small_050", own.UPLOADED + own.digest(data), ("cat", "dog", "fox"))
    model = load_model(ARCH, key)
    assert model.meta.classes == ("cat", "dog", "fox")
    again = upload(open_own(), data, name="copy of mine.safetensors")
    assert not errors(again) and load_model(ARCH, key) is model


def test_your_models_view_follows_the_zoo_rules_for_width_and_fit(no_server_model, monkeypatch):
    shown = []
    image = streamlit.image

    def spy(picture, *args, **kwargs):
        shown.append((kwargs.get("caption"), kwargs.get("width")))
        return image(picture, *args, **kwargs)

    monkeypatch.setattr(streamlit, "image", spy)
    at = upload(open_own(), weights())
    assert not errors(at)
    # a zeroed classifier: 1/3 for each class, under the 50 % of the zoo's "fits none" note
    assert any("fits none of the 3 classes well" in w.value and "33%" in w.value for w in at.warning)
    shown.clear()
    at.select_slider(key="explore_size_own").set_value(288).run()
    assert not errors(at)
    # the view at its own width, as the zoo's Explore shows it (it was capped at 260 px before)
    assert shown == [("The model's view (288×288 px)", 288)]


@pytest.mark.parametrize("case", ["not safetensors", "truncated", "huge tensors", "lying offsets", "pickle",
                                  "does not fit", "huge classifier", "classes not text", "too many classes"])
def test_a_hostile_upload_is_a_clear_message_and_the_page_goes_on(case, no_server_model):
    data, classes = weights(), CLASSES
    if case == "not safetensors":
        data, expected = b"<html>not a model</html>" * 40, "not a safetensors file"
    elif case == "truncated":
        data, expected = data[: len(data) // 2], "a truncated safetensors file"
    elif case == "huge tensors":  # 4 TB claimed in a file of a few bytes: refused before anything is allocated
        data = header({"w": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}}) + bytes(16)
        expected = "tensor 'w' ends at byte 4,000,000,000,000 of a data section of 16 bytes"
    elif case == "lying offsets":
        data = header({"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 16]}}) + bytes(16)
        expected = "tensor 'w' of shape (1000, 1000) (F32) needs 4,000,000 bytes, its offsets hold 16"
    elif case == "pickle":  # a torch.save file renamed .safetensors: never unpickled
        data, expected = pickled(), "this is a pickle (PyTorch's torch.save format), not safetensors"
    elif case == "does not fit":
        data = save({"fc.weight": torch.zeros(3, 8)})
        expected = "these weights do not fit timm:mobilenetv3_small_050: missing"
    elif case == "huge classifier":  # a head of 10⁷ rows would build a 40-GB model: its other size must fit
        data = save({"classifier.weight": torch.zeros(10**7, 1, dtype=torch.uint8)})
        expected = "classifier.weight: file (10000000, 1) vs model (1000, 1024)"
    elif case == "classes not text":
        classes, expected = b"\xff\xfe\x00\x81" * 10, "cannot be used as class names: not a UTF-8 text file"
    else:
        classes, expected = b"a\nb\nc\nd\n", "4 class names for a classifier of 3 outputs"
    at = upload(open_own(), data, classes=classes)
    found = errors(at)
    assert any(expected in e for e in found), found
    # the same session goes on: good files make the model
    at = upload(at, weights())
    assert not errors(at) and at.title[0].value == f"Explore the attention in {ARCH}"


def test_an_upload_over_the_cap_is_refused_before_it_is_read(no_server_model, monkeypatch):
    monkeypatch.setenv("A2LENS_MAX_UPLOAD_MB", "1")
    at = upload(open_own(), weights() + bytes(2 * 2**20))  # what a browser refuses; a hand-made request may not
    assert any("over the 1 MB this server accepts" in e for e in errors(at))
    monkeypatch.setenv("A2LENS_MAX_UPLOAD_MB", "many")
    assert own.upload_cap_mb() == (own.DEFAULT_MAX_UPLOAD_MB,
                                   "A2LENS_MAX_UPLOAD_MB='many' is not a whole number of MB above 0: using 500.")
    monkeypatch.setenv("A2LENS_MAX_UPLOAD_MB", "100000")
    cap, note = own.upload_cap_mb()
    assert cap == 500 and "server.maxUploadSize allows 500" in note  # .streamlit/config.toml's


def test_only_files_inside_the_operators_model_folder_are_offered(no_server_model, monkeypatch, tmp_path):
    folder, outside = tmp_path / "models", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    (folder / "b.safetensors").write_bytes(weights(1))
    (folder / "a.safetensors").write_bytes(weights(0))
    (outside / "secret.safetensors").write_bytes(weights(2))
    os.symlink(outside / "secret.safetensors", folder / "link.safetensors")  # leads outside: not offered
    monkeypatch.setenv("A2LENS_MODEL", ARCH)
    monkeypatch.setenv("A2LENS_MODEL_DIR", str(folder))
    for configured in ("/etc/passwd", "../elsewhere/secret.safetensors", str(outside / "secret.safetensors"),
                       "link.safetensors", "missing.safetensors"):
        monkeypatch.setenv("A2LENS_MODEL_WEIGHTS", configured)
        at = open_own()
        picker = at.selectbox(key="explore_own_weights_choice")
        assert picker.options == ["a.safetensors (on the server)", "b.safetensors (on the server)",
                                  "Upload a .safetensors file…"], configured
        # the first of the folder's files, and no word about the configured path in the page
        assert not errors(at) and picker.value == "a.safetensors"
        page = [e.value for e in (*at.warning, *at.info, *at.caption, *at.markdown)]
        assert not [text for text in page if configured in text or "secret" in text], configured
    monkeypatch.setenv("A2LENS_MODEL_WEIGHTS", str(folder / "b.safetensors"))
    at = open_own()
    assert at.selectbox(key="explore_own_weights_choice").value == "b.safetensors"
    assert not errors(at) and at.title[0].value == f"Explore the attention in {ARCH}"


def test_inside_the_model_folder(tmp_path):
    folder = tmp_path / "models"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "x.safetensors").write_bytes(b"x")
    (tmp_path / "out.safetensors").write_bytes(b"x")
    os.symlink(tmp_path / "out.safetensors", folder / "out.safetensors")
    assert own.inside(folder, "sub/x.safetensors") == (folder / "sub" / "x.safetensors").resolve()
    assert own.inside(folder, str(folder / "sub" / "x.safetensors")) is not None  # absolute, inside
    for refused in ("sub/../sub/x.safetensors", "../out.safetensors", str(tmp_path / "out.safetensors"),
                    "out.safetensors", "/dev/zero", "/etc/passwd", "sub", "missing"):
        assert own.inside(folder, refused) is None, refused
    assert own.server_files(folder, ".safetensors") == {}  # the symlink leads outside; sub/ is not listed
