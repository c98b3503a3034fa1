"""Weight I/O: safetensors files with the model card's metadata inside, read and checked without a pickle.

The metadata travels in the safetensors header as one JSON string under the key
``a2lens``, so a weight file alone says what it is and how to feed it. Loading
never unpickles anything: :func:`read_header` checks a file's header against its length before any
tensor is allocated, :func:`read_state` reads the tensors, :func:`load_fitting` loads them into a model
only when every one fits.

May import torch and safetensors only: never :mod:`a2core.models`, which builds on this module
(the zoo's ``load_pretrained`` and your own model's ``load_own_model`` live there).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save_file
from torch import nn

#: The shipped weights' root (the CIFAR-10 zoo's folder; the other zoos' are below it: ``a2core.models.zoo_dir``).
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "assets" / "weights"
_META_KEY = "a2lens"


class WeightsError(ValueError):
    """A weight file that does not fit the requested architecture."""


@dataclass(frozen=True)
class ModelMeta:
    """What a trained model needs to be used and reported honestly."""

    arch: str
    classes: tuple[str, ...]
    input_size: int = 32
    mean: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
    std: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)
    dataset: str = ""
    recipe: dict = field(default_factory=dict)
    val_accuracy: float | None = None
    #: the zoo (and so the backbone) the weights are for; files written before the photo zoo are CIFAR-10's
    zoo: str = "cifar10"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelMeta:
        data = dict(data)
        for key in ("classes", "mean", "std"):
            if key in data:
                data[key] = tuple(data[key])
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def save_weights(model: nn.Module, path: str | Path, meta: ModelMeta | dict, dtype: torch.dtype | None = None) -> Path:
    """Write ``model``'s state dict and ``meta`` to a safetensors file.

    ``dtype`` (e.g. ``torch.float16``) stores the floating-point tensors at that
    precision; :func:`a2core.models.load_pretrained` casts them back to the model's.
    """
    meta = meta if isinstance(meta, ModelMeta) else ModelMeta.from_dict(meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(tensors, str(path), metadata={_META_KEY: json.dumps(meta.to_dict())})
    return path


def read_meta(path: str | Path) -> ModelMeta:
    """The metadata of a weight file, without loading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except SafetensorError as error:  # e.g. a pickled .pt file or a truncated download
        raise WeightsError(f"{path} is not a readable safetensors file: {error}") from error
    if _META_KEY not in header:
        raise WeightsError(f"{path} has no A²Lens metadata; was it written by a2core.save_weights?")
    try:
        return ModelMeta.from_dict(json.loads(header[_META_KEY]))
    except (ValueError, TypeError) as error:  # not JSON, or without arch / classes
        raise WeightsError(f"{path} has malformed A²Lens metadata: {error}") from error


def load_fitting(model: nn.Module, state: dict[str, torch.Tensor], problem: str) -> None:
    """Load ``state`` into ``model`` (cast to its dtypes) when every tensor fits exactly, else raise
    :class:`WeightsError` starting with ``problem`` and naming the missing, unexpected and mis-shaped tensors."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        problems = [f"missing {missing[:5]}" if missing else "", f"unexpected {unexpected[:5]}" if unexpected else ""]
        problems += wrong[:5]
        raise WeightsError(f"{problem}: " + "; ".join(p for p in problems if p))
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})


#: safetensors' own limit on the JSON header: its reader refuses a larger one.
MAX_HEADER_BYTES = 100_000_000
#: Bytes per element of each safetensors dtype (the sub-byte float formats are not read).
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
SAFETENSORS_ONLY = ("A²Lens loads safetensors only, never a pickle: convert with "
                    "safetensors.torch.save_file(model.state_dict(), path)")


def read_header(weights: str | Path | bytes) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """A safetensors file (path or bytes) → ({tensor name: shape}, header metadata), reading only its header.

    The layout is an 8-byte little-endian header length, a JSON header, then the tensors' bytes. Every
    size the header declares is checked against the bytes there really are before anything is allocated
    for it, so a truncated file, a pickle or a header that claims huge tensors costs no more memory than
    the file itself: each raises WeightsError saying what is wrong.
    """
    if isinstance(weights, bytes):
        total, head = len(weights), weights[:8]

        def header(size: int) -> bytes:
            return weights[8:8 + size]
    else:
        path = Path(weights)
        total = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)

        def header(size: int) -> bytes:
            with path.open("rb") as f:
                f.seek(8)
                return f.read(size)
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch.save's zip archive, or a bare pickle
        raise WeightsError(f"this is a pickle (PyTorch's torch.save format), not safetensors; {SAFETENSORS_ONLY}")
    if total < 8:
        raise WeightsError(f"not a safetensors file: {total} bytes, too short for its header; {SAFETENSORS_ONLY}")
    size = int.from_bytes(head, "little")
    if size > min(MAX_HEADER_BYTES, total - 8):
        raise WeightsError(f"not a safetensors file, or a truncated one: its header would be {size:,} bytes long, "
                           f"in a file of {total:,}; {SAFETENSORS_ONLY}")
    try:
        entries = json.loads(header(size))
        if not isinstance(entries, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as error:
        raise WeightsError(f"not a safetensors file: its header is not JSON ({error}); {SAFETENSORS_ONLY}") from error
    metadata = entries.pop("__metadata__", None) or {}
    data = total - 8 - size
    shapes = {name: _declared_shape(name, entry, data) for name, entry in entries.items()}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise WeightsError("not a safetensors file: its __metadata__ is not a map of strings")
    return shapes, metadata


def _declared_shape(name: str, entry, data: int) -> tuple[int, ...]:
    # One tensor's entry: {"dtype": "F32", "shape": [3, 4], "data_offsets": [begin, end]} within ``data`` bytes.
    try:
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
                and type(begin) is int and type(end) is int and 0 <= begin <= end):
            raise TypeError
    except (TypeError, KeyError, ValueError) as error:
        raise WeightsError(f"not a safetensors file: tensor {name!r} has no valid dtype, shape and offsets "
                           f"in the header") from error
    if dtype not in DTYPE_BYTES:
        raise WeightsError(f"tensor {name!r} has dtype {dtype!r}, which A²Lens does not read")
    claimed = math.prod(shape) * DTYPE_BYTES[dtype]
    if claimed != end - begin:
        raise WeightsError(f"not a valid safetensors file: tensor {name!r} of shape {tuple(shape)} ({dtype}) needs "
                           f"{claimed:,} bytes, its offsets hold {end - begin:,}")
    if end > data:
        raise WeightsError(f"a truncated safetensors file: tensor {name!r} ends at byte {end:,} of a data section "
                           f"of {data:,} bytes")
    return tuple(shape)


def read_state(weights: str | Path | bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A safetensors file (path or bytes) → (tensors, header metadata). Never unpickles anything.

    The header is checked first (:func:`read_header`); raises WeightsError for a file that is not safetensors.
    """
    _, metadata = read_header(weights)
    try:
        if isinstance(weights, bytes):
            state = load_safetensors_bytes(weights)
        else:
            with safe_open(str(weights), framework="pt") as f:
                state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, ValueError) as error:  # e.g. overlapping tensors: what read_header does not check
        raise WeightsError(f"not a readable safetensors file ({error}); {SAFETENSORS_ONLY}") from error
    return state, metadata
