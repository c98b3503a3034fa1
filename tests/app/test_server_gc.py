"""The server's long-lived objects are frozen out of garbage collection once a model is loaded.

Streamlit runs ``gc.collect(2)`` after every script run; over the objects of torch, plotly,
Streamlit and the models that took ~370 ms a run on the project's machine, most of what a click
cost the server (README, Classroom). ``app.common.load_model`` freezes them.
"""

from __future__ import annotations

import gc

import torch


def test_loading_a_model_freezes_what_exists():
    from app.common import load_model, weights_dir

    gc.unfreeze()
    load_model.clear()
    model = load_model("a2_resnet", str(weights_dir() / "a2_resnet.safetensors"))
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the imported modules' objects and the model's
    # The model and its parameters are among them: a collection never walks them again.
    tracked = {id(o) for o in gc.get_objects()}  # the collected generations only, not the frozen one
    assert id(model) not in tracked and not any(id(p) in tracked for p in model.parameters())
    # Objects made afterwards are still collected: a cycle left behind by a run is freed.
    cycle = [torch.zeros(1)]
    cycle.append(cycle)
    assert id(cycle) in {id(o) for o in gc.get_objects()}
