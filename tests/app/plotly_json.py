"""Reading plotly figures back out of AppTest's chart protos."""

from __future__ import annotations

import base64
import json

import numpy as np


def arr(value) -> np.ndarray:
    """A plotly JSON array: a plain list, or a typed array {"dtype", "bdata", "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(v) for v in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape)
    return np.asarray(value)


def charts(at) -> list[dict]:
    """Every plotly chart of the page as its figure dict."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
