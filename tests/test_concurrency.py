"""One shared model, many threads: what st.cache_resource does to the app's model.

Every Streamlit session runs its script in its own thread on the same cached
module, so probing must not hand one caller's hooks or flags to another.
"""

from __future__ import annotations

import threading

import pytest
import torch

from a2core import attention_maps
from a2core.probe.maps import compute_maps
from a2core.models import build
from a2core.lessons.steps import block_inputs
from a2core.weights import ModelMeta

THREADS, ROUNDS = 8, 12


def shared_model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build("a2_resnet")
    with torch.no_grad():  # open the zero-initialised blocks so their maps matter to the logits
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.eval()
    model.meta = ModelMeta(arch="a2_resnet", classes=tuple(f"c{i}" for i in range(10)))
    return model


def run_threads(work, count: int = THREADS) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def body(k: int) -> None:
        start.wait()
        try:
            work(k)
        except BaseException as error:  # noqa: BLE001 (collected and reported by the test)
            errors.append(error)

    threads = [threading.Thread(target=body, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


@pytest.mark.slow
def test_many_threads_probe_one_model_and_get_what_one_thread_gets():
    model = shared_model()
    torch.manual_seed(1)
    images = [torch.randn(1, 3, 32 * (1 + k % 2), 32 * (1 + k % 2)) for k in range(THREADS)]
    # The reference: one thread, one call at a time.
    expected_maps = [attention_maps(model, x) for x in images]
    expected_inputs = [block_inputs(model, x) for x in images]
    expected_one = [block_inputs(model, x, ["layer3.2.attn"]) for x in images]
    mismatches: list[str] = []

    def work(k: int) -> None:
        x = images[k]
        for r in range(ROUNDS):
            kind = (k + r) % 3
            if kind == 0:
                logits, maps = attention_maps(model, x)
                want_logits, want = expected_maps[k]
                assert list(maps) == list(want), (k, list(maps))
                for name in want:
                    for field in ("gather", "distribute", "descriptors"):
                        if not torch.equal(getattr(maps[name], field), getattr(want[name], field)):
                            mismatches.append(f"thread {k} round {r}: {name}.{field}")
            elif kind == 1:
                logits, inputs = block_inputs(model, x)
                want_logits, want = expected_inputs[k]
                assert list(inputs) == list(want), (k, list(inputs))
                for name in want:
                    if not torch.equal(inputs[name], want[name]):
                        mismatches.append(f"thread {k} round {r}: input of {name}")
            else:
                logits, inputs = block_inputs(model, x, ["layer3.2.attn"])
                want_logits, want = expected_one[k]
                assert list(inputs) == ["layer3.2.attn"], (k, list(inputs))
                if not torch.equal(inputs["layer3.2.attn"], want["layer3.2.attn"]):
                    mismatches.append(f"thread {k} round {r}: input of layer3.2.attn")
            if not torch.equal(logits, want_logits):
                mismatches.append(f"thread {k} round {r}: logits")

    errors = run_threads(work)
    assert not errors, f"{len(errors)} of {THREADS} threads failed, first: {errors[0]!r}"
    assert not mismatches, mismatches[:5]
    # Nothing a caller changed is left behind: same mode, same results as before.
    assert not model.training
    logits, maps = attention_maps(model, images[0])
    assert torch.equal(logits, expected_maps[0][0])


@pytest.mark.slow
def test_threads_computing_page_maps_agree():
    # compute_maps (what the app's run_probe calls) also reads the feature sizes of each block.
    from PIL import Image

    model = shared_model()
    pictures = [Image.new("RGB", (40 + 7 * k, 40), (30 * k, 200 - 20 * k, 90)) for k in range(THREADS)]
    sizes = [32, 64] * (THREADS // 2)
    expected = [compute_maps(model, p, s) for p, s in zip(pictures, sizes)]
    mismatches: list[str] = []

    def work(k: int) -> None:
        for r in range(ROUNDS // 2):
            got = compute_maps(model, pictures[k], sizes[k])
            want = expected[k]
            if got.blocks.keys() != want.blocks.keys():
                mismatches.append(f"thread {k}: blocks {list(got.blocks)}")
                continue
            for name, block in want.blocks.items():
                if got.blocks[name].feature_size != block.feature_size:
                    mismatches.append(f"thread {k}: {name} feature size {got.blocks[name].feature_size}")
                for field, array in block.arrays.items():
                    if not (got.blocks[name].arrays[field] == array).all():
                        mismatches.append(f"thread {k}: {name}.{field}")
            if not (got.probs == want.probs).all():
                mismatches.append(f"thread {k}: probs")

    errors = run_threads(work)
    assert not errors, f"{len(errors)} of {THREADS} threads failed, first: {errors[0]!r}"
    assert not mismatches, mismatches[:5]


@pytest.mark.slow
def test_grad_cam_beside_probes_on_one_model():
    # The app computes Grad-CAM on the shared model too, while other sessions probe it.
    from a2core import grad_cam

    model = shared_model()
    torch.manual_seed(2)
    images = [torch.randn(1, 3, 32, 32) for _ in range(THREADS)]
    layers = ["layer2.2", "layer3.2"]
    expected = [grad_cam(model, x, layers[k % 2], target=k % 10) for k, x in enumerate(images)]
    expected_maps = [attention_maps(model, x) for x in images]
    mismatches: list[str] = []

    def work(k: int) -> None:
        for r in range(ROUNDS // 2):
            if (k + r) % 2:
                cam, classes = grad_cam(model, images[k], layers[k % 2], target=k % 10)
                if not ((cam == expected[k][0]).all() and (classes == expected[k][1]).all()):
                    mismatches.append(f"thread {k} round {r}: Grad-CAM")
            elif not torch.equal(attention_maps(model, images[k])[0], expected_maps[k][0]):
                mismatches.append(f"thread {k} round {r}: logits")

    errors = run_threads(work)
    assert not errors, f"{len(errors)} of {THREADS} threads failed, first: {errors[0]!r}"
    assert not mismatches, mismatches[:5]
    assert all(p.grad is None for p in model.parameters())
