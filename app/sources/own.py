""""Your model" as a model source: a timm or torchvision arch and its weights in a safetensors file.

The browser never names a file on the server. The user names the arch (``library:arch``, e.g.
``timm:ecaresnet26t``) and **uploads** the weights and, optionally, a classes file (one name a
line); both are read from memory, the weights at most :func:`upload_cap_mb` MB
(``$A2LENS_MAX_UPLOAD_MB``, default 500; Streamlit's ``server.maxUploadSize`` must allow as much).

Files on the server come only from its operator: the ``.safetensors`` files in the model folder
``$A2LENS_MODEL_DIR`` (the folder of ``$A2LENS_MODEL_WEIGHTS`` when it is not set) are offered by
name, ``$A2LENS_MODEL``, ``$A2LENS_MODEL_WEIGHTS`` and ``$A2LENS_MODEL_CLASSES`` are the defaults,
and a configured path counts only when it resolves (symlinks followed) to a file inside that folder.

The chosen model is a :class:`app.sources.ModelSource` with one arch (``library:arch``) whose "path"
is the spec serialised (:func:`spec_key`): an upload is named by its SHA-256, so ``load_model``
caches one model per content, whoever uploads it and however often the page reruns. This module
does not import ``app.common``: :func:`source` is handed the loader. Every problem (timm missing,
a pickle, a truncated file, tensors that do not fit) is a message in the sidebar; the app keeps running.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import streamlit as st
from streamlit import config as st_config

from a2core import ModelSpec, WeightsError, load_own_model
from a2core.models.own import ENV_CLASSES, ENV_MODEL, ENV_WEIGHTS
from app.sources import SAMPLES_DIR, ModelSource, ZooView, samples

KEY = "own"
LABEL = "Your model (timm or torchvision)"
ENV_MODEL_DIR = "A2LENS_MODEL_DIR"
ENV_MAX_UPLOAD_MB = "A2LENS_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 500
#: A classes file is names, one a line: ImageNet's thousand take 20 kB.
CLASSES_MAX_MB = 1
#: The longest model name taken (timm's longest is under 60 characters): the browser stops typing there,
#: and Streamlit cuts a longer one sent by hand to it, so no message repeats more.
NAME_MAX_CHARS = 100
#: How a spec key names its weights: an upload by its content, a server file by its name in the model folder.
UPLOADED, SERVER = "upload:sha256:", "server:"
_UPLOAD_CHOICE = "\0upload"  # the weights picker's "upload a file" entry: no file name can be this
LOG = logging.getLogger(__name__)

#: What loads a model: ``app.common.load_model(arch, key, weights bytes or None)``.
Loader = Callable[..., object]


def is_own(arch: str) -> bool:
    """Whether ``arch`` names a user's model (``library:arch``) rather than an arch of the zoo."""
    return ":" in arch


def upload_cap_mb(environ: Mapping[str, str] = os.environ) -> tuple[int, str | None]:
    """(the most MB a weights upload may have, a note for the operator when the setting was not usable).

    ``$A2LENS_MAX_UPLOAD_MB`` (default 500), never more than Streamlit's ``server.maxUploadSize``, which
    refuses larger requests before the app sees them.
    """
    server = int(st_config.get_option("server.maxUploadSize"))
    value, note = environ.get(ENV_MAX_UPLOAD_MB, ""), None
    wanted = DEFAULT_MAX_UPLOAD_MB
    if value.strip():
        try:
            wanted = int(value)
            if wanted < 1:
                raise ValueError
        except ValueError:
            wanted = DEFAULT_MAX_UPLOAD_MB
            note = f"{ENV_MAX_UPLOAD_MB}={value!r} is not a whole number of MB above 0: using {wanted}."
    if wanted > server:
        note = (f"{ENV_MAX_UPLOAD_MB} asks for {wanted} MB, but Streamlit's server.maxUploadSize allows {server}: "
                f"uploads are capped at {server} MB.")
    return min(wanted, server), note


def model_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The operator's model folder: ``$A2LENS_MODEL_DIR``, else the folder of ``$A2LENS_MODEL_WEIGHTS``, else None."""
    if environ.get(ENV_MODEL_DIR):
        return Path(environ[ENV_MODEL_DIR])
    if environ.get(ENV_WEIGHTS):
        return Path(environ[ENV_WEIGHTS]).parent
    return None


def inside(folder: Path, name: str) -> Path | None:
    """The file ``name`` (relative to ``folder``, or absolute) resolved, when it is a regular file inside
    ``folder`` once symlinks are followed; else None. ``..`` is refused outright."""
    given = Path(name)
    if ".." in given.parts:
        return None
    try:
        root = folder.resolve(strict=True)
        resolved = (given if given.is_absolute() else root / given).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, unreadable, or a symlink loop
        return None
    return resolved if resolved.is_relative_to(root) and resolved.is_file() else None


def server_files(folder: Path | None, suffix: str) -> dict[str, Path]:
    """{name relative to ``folder``: resolved path} of the files ending in ``suffix`` in ``folder`` (not its
    subfolders), leaving out symlinks that lead outside it."""
    if folder is None or not folder.is_dir():
        return {}
    found = {p.name: inside(folder, p.name) for p in sorted(folder.iterdir()) if p.name.endswith(suffix)}
    return {name: path for name, path in found.items() if path is not None}


def _configured(folder: Path | None, variable: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The name in ``folder`` of the file ``$variable`` names, or None (unset, or not a file inside ``folder``)."""
    value = environ.get(variable, "").strip()
    if not value or folder is None:
        return None
    path = inside(folder, value)
    if path is None:  # the operator's mistake: said in the server's log, not to every browser
        LOG.warning("%s=%s is not a file inside the model folder %s: not offered", variable, value, folder)
        return None
    return str(path.relative_to(folder.resolve()))


def spec_key(library: str, arch: str, weights: str, classes: str | tuple[str, ...] | None = None) -> str:
    """The model as a string that :func:`load` reads back: the cache key of the loaded model.

    ``weights`` is ``upload:sha256:<hex>`` or ``server:<name in the model folder>``; ``classes`` the names
    themselves, ``server:<name>``, or None.
    """
    return json.dumps({"library": library, "arch": arch, "weights": weights,
                       "classes": list(classes) if isinstance(classes, tuple) else classes}, sort_keys=True)


def is_uploaded(key: str) -> bool:
    """Whether the :func:`spec_key` ``key`` names uploaded weights (kept loaded a while) or a server file."""
    return json.loads(key)["weights"].startswith(UPLOADED)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load(key: str, data: bytes | None = None):
    """The model a :func:`spec_key` names, in eval mode with ``model.meta``; ``data``: the uploaded weights.

    Raises what :func:`a2core.load_own_model` raises (ImportError, ValueError, WeightsError, OSError), and
    WeightsError for an upload whose bytes are not given (or not those the key names) and for a server
    name that is not a file in the model folder.
    """
    spec = json.loads(key)
    weights, classes = spec["weights"], spec["classes"]
    if weights.startswith(UPLOADED):
        if data is None or digest(data) != weights.removeprefix(UPLOADED):
            raise WeightsError("the uploaded weights are no longer held by the server: upload the file again")
        weights = data
    else:
        weights = _server_path(weights)
    classes = tuple(classes) if isinstance(classes, list) else None if classes is None else _server_path(classes)
    return load_own_model(ModelSpec(spec["library"], spec["arch"], weights, classes))


def _server_path(name: str) -> Path:
    folder = model_dir()
    path = inside(folder, name.removeprefix(SERVER)) if folder is not None and name.startswith(SERVER) else None
    if path is None:
        raise WeightsError("that file is not in the server's model folder")
    return path


def class_names(data: bytes) -> tuple[str, ...]:
    """A classes file's bytes → its names (one a line, blank lines skipped); ValueError for what is not one."""
    if len(data) > CLASSES_MAX_MB * 1024 * 1024:
        raise ValueError(f"over {CLASSES_MAX_MB} MB: a classes file is names, one a line")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"not a UTF-8 text file ({error.reason} at byte {error.start})") from None
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:
        raise ValueError("no class names in it")
    return names


def _shown(name: str) -> str:
    # An uploaded file's name is the user's text: shown as code, so it cannot be markdown or a link.
    return "`" + name.replace("`", "'")[:120] + "`"


def loading_problem(load_model: Loader, arch: str, key: str, data: bytes | None) -> str | None:
    """Load the model (once per server and content, with the app's models) → None, or why it cannot load."""
    try:
        load_model(arch, key, data)
    except ImportError as error:  # timm missing: its message says how to install it
        return str(error)
    except (WeightsError, ValueError, OSError) as error:
        return f"This model cannot be loaded: {error}"
    except MemoryError:
        return "This model cannot be loaded: it does not fit in the server's memory."
    return None


def _upload_digest(key: str, upload) -> str:
    # Hashed once per upload, not on every rerun: a 500-MB file takes a second.
    memo = f"{key}_own_digest"
    if st.session_state.get(memo, (None,))[0] != upload.file_id:
        st.session_state[memo] = (upload.file_id, digest(upload.getvalue()))
    return st.session_state[memo][1]


def _weights_input(key: str, folder: Path | None) -> tuple[str, bytes | None, str] | None:
    """The weights picker → (spec key's weights, the uploaded bytes or None, where they came from), or None."""
    files = server_files(folder, ".safetensors")
    configured = _configured(folder, ENV_WEIGHTS)
    if configured is not None:
        files.setdefault(configured, folder / configured)
    choice = _UPLOAD_CHOICE
    if files:
        options = [*files, _UPLOAD_CHOICE]
        choice = st.selectbox("Weights", options, index=options.index(configured) if configured else 0,
                              key=f"{key}_own_weights_choice",
                              format_func=lambda o: "Upload a .safetensors file…" if o == _UPLOAD_CHOICE
                              else f"{o} (on the server)")
    if choice != _UPLOAD_CHOICE:
        return SERVER + choice, None, f"the server's `{choice}`"
    cap, note = upload_cap_mb()
    if note:
        st.caption(note)
    # With a MIME type among the types Streamlit leaves the name unchecked (app.upload.PHOTO_MIME): a file
    # of another type sent by hand is read and refused by its content, not by Streamlit's exception.
    upload = st.file_uploader("Weights (.safetensors)", type=["safetensors", "application/octet-stream"],
                              max_upload_size=cap,
                              key=f"{key}_own_weights_upload",
                              help=f"At most {cap} MB. Read from memory, never saved on the server.")
    if upload is None:
        return None
    if upload.size > cap * 1024 * 1024:  # the browser enforces the cap; a hand-made request may not
        st.error(f"{_shown(upload.name)} has {upload.size / 2**20:.0f} MB, over the {cap} MB this server accepts.")
        return None
    return UPLOADED + _upload_digest(key, upload), upload.getvalue(), f"the upload {_shown(upload.name)}"


def _classes_input(key: str, folder: Path | None, weights: str) -> tuple[str | tuple[str, ...] | None, bool]:
    """The classes picker → (the spec key's classes, whether they are usable)."""
    upload = st.file_uploader("Class names (optional: a text file, one a line)", type=["txt", "text/plain"],
                              max_upload_size=CLASSES_MAX_MB, key=f"{key}_own_classes_upload")
    if upload is not None:
        try:
            return class_names(upload.getvalue()), True
        except ValueError as error:
            st.error(f"{_shown(upload.name)} cannot be used as class names: {error}.")
            return None, False
    configured = _configured(folder, ENV_CLASSES)
    # the operator's classes go with the operator's weights only, not with an upload
    if configured is not None and weights == SERVER + (_configured(folder, ENV_WEIGHTS) or ""):
        return SERVER + configured, True
    return None, True


def source(key: str, load_model: Loader) -> ModelSource | None:
    """The inputs for "your model" in the sidebar → its :class:`ModelSource`, or None with a message.

    ``load_model(arch, key, data)`` loads and caches the model (``app.common.load_model``).
    """
    st.caption("A timm or torchvision classifier and its weights in a safetensors file (never a pickle: "
               "`safetensors.torch.save_file(model.state_dict(), path)`).")
    name = st.text_input("Model (library:arch)", value=os.environ.get(ENV_MODEL, "")[:NAME_MAX_CHARS],
                         key=f"{key}_own_arch", max_chars=NAME_MAX_CHARS, placeholder="timm:ecaresnet26t",
                         help="timm:NAME or torchvision:NAME")
    folder = model_dir()
    picked = _weights_input(key, folder)
    classes, usable = _classes_input(key, folder, picked[0] if picked else "")
    if not name.strip() or picked is None:
        st.info("Name your model and upload its weights." if picked is None else "Name your model: library:arch.")
        return None
    if not usable:
        return None
    try:
        library, arch_name = ModelSpec.parse(name)
    except ValueError as error:
        st.error(str(error))
        return None
    weights, data, origin = picked
    arch, path = f"{library}:{arch_name}", spec_key(library, arch_name, weights, classes)
    # A failed load is not cached by Streamlit: remembered here, so a rerun does not parse the file again.
    memo = f"{key}_own_problem"
    if st.session_state.get(memo, (None,))[0] != path:
        st.session_state[memo] = (path, loading_problem(load_model, arch, path, data))
    if (problem := st.session_state[memo][1]) is not None:
        st.error(problem)
        return None
    meta = load_model(arch, path, data).meta
    size = meta.input_size
    shown = ", ".join(c.replace("_", " ") for c in meta.classes[:12]) + (" …" if len(meta.classes) > 12 else "")
    st.caption(f"**{arch}** knows {len(meta.classes)} classes: {shown}. It sees {size}×{size} px.")
    view = ZooView(
        zoo=KEY, label=LABEL, backbone=arch, about=f"Your model {arch}, with its weights from {origin}.",
        # its own input size first (Compare offers the first three); larger views give finer maps
        sizes=(size, size + 64, size + 128), samples=SAMPLES_DIR / "imagenette",
        sample_label="Imagenette validation photos", default_sample="English_springer · val_00008162",
    )
    return ModelSource(key=KEY, label=f"Your model: {arch}", zoo=KEY, weights={arch: path}, classes=meta.classes,
                       input_size=size, view=view, folder=None, samples=samples(view.samples))
