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


def test_a_pages_first_full_run_freezes_what_it_left_alive_and_only_once():
    # app.sessions.settle, after each page's first full run (app/main.py): what that run loaded for good (the
    # fits-none flag's models, modules imported on first use) leaves the collection Streamlit runs after every run.
    from app import sessions

    gc.unfreeze()
    import weakref

    class Node:
        pass

    loaded = [torch.zeros(1)]  # stands for something a first run loaded for good
    garbage = Node()
    garbage.itself = garbage  # a cycle nothing refers to: collected first, never frozen
    collected = weakref.ref(garbage)
    del garbage
    page = "test_settle_page"
    sessions._SETTLED.discard(page)
    assert sessions.settle(page) is True
    tracked = {id(o) for o in gc.get_objects()}
    assert id(loaded) not in tracked and collected() is None
    assert sessions.settle(page) is False  # once per page: later runs freeze nothing
    later = [torch.zeros(1)]
    later.append(later)
    assert id(later) in {id(o) for o in gc.get_objects()}  # what later runs leave is still collected
    gc.unfreeze()
    sessions._SETTLED.discard(page)
