"""The training CLI on a tiny random image folder: one epoch, checkpoints, logs, exact resume."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest
import torch
from safetensors.torch import load_file
from tiny_folder import make_image_folder
from torch.utils.data import DataLoader, TensorDataset

from a2core import ARCHS, build, load_pretrained
from a2core.training.train import RECIPES, Recipe, main, one_cycle, param_groups, same_recipe, skip_epochs


pytestmark = pytest.mark.usefixtures("keep_torch_threads")  # --threads sets a process-wide torch setting


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("data"))


def run(data, out, arch="a2_resnet", epochs=1, *extra):
    main(["--arch", arch, "--data", str(data), "--out", str(out), "--epochs", str(epochs), "--batch-size", "8",
          "--workers", "0", "--threads", "1", "--no-progress", *extra])


def read_log(out, arch="a2_resnet"):
    return [json.loads(line) for line in (out / "logs" / f"{arch}.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_one_tiny_epoch_writes_checkpoint_log_and_weights(data, tmp_path):
    run(data, tmp_path)

    ckpt = torch.load(tmp_path / "checkpoints" / "a2_resnet.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["recipe"]["epochs"] == 1 and ckpt["recipe"]["batch_size"] == 8
    assert {"model", "optimizer", "scheduler", "rng", "loader_rng"} <= set(ckpt)

    (record,) = read_log(tmp_path)
    assert record["arch"] == "a2_resnet" and record["epoch"] == 1 and record["seed"] == 0
    assert math.isfinite(record["train_loss"]) and 0 <= record["val_acc"] <= 1
    # 40 images at batch 8 (drop_last): every image was seen once.
    assert record["images_per_s"] * record["seconds"] == pytest.approx(40)

    model = load_pretrained("a2_resnet", tmp_path / "a2_resnet.safetensors")
    assert model.meta.arch == "a2_resnet"
    assert model.meta.classes == tuple(f"class{k}" for k in range(10))
    assert model.meta.recipe["epochs"] == 1 and model.meta.input_size == 32
    assert 0 <= model.meta.val_accuracy <= 1
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.slow
@pytest.mark.parametrize("old_checkpoint", [False, True], ids=["checkpoint", "checkpoint-without-loader-state"])
def test_interrupted_run_resumes_to_the_same_weights(data, tmp_path, capsys, old_checkpoint):
    # Two of the three epochs train on windows, so resuming also crosses the switch to full images.
    sizing = ("--early-fraction", "0.7")
    run(data, tmp_path / "straight", "resnet", 3, *sizing)
    run(data, tmp_path / "resumed", "resnet", 3, "--stop-after", "1", *sizing)
    assert not (tmp_path / "resumed" / "resnet.safetensors").exists(), "an unfinished run wrote weights"
    ckpt_path = tmp_path / "resumed" / "checkpoints" / "resnet.pt"
    if old_checkpoint:  # as written before the loader's random state was saved
        ckpt = torch.load(ckpt_path, weights_only=True)
        del ckpt["loader_rng"]
        torch.save(ckpt, ckpt_path)
    capsys.readouterr()

    run(data, tmp_path / "resumed", "resnet", 3, *sizing)

    assert "resnet: resuming after epoch 1" in capsys.readouterr().out
    assert [r["epoch"] for r in read_log(tmp_path / "resumed", "resnet")] == [1, 2, 3]
    straight = load_file(tmp_path / "straight" / "resnet.safetensors")
    resumed = load_file(tmp_path / "resumed" / "resnet.safetensors")
    assert straight.keys() == resumed.keys()
    different = [k for k in straight if not torch.equal(straight[k], resumed[k])]
    assert not different, f"resumed weights differ from an uninterrupted run in {different[:5]}"


@pytest.mark.slow
def test_progressive_sizing_trains_the_early_epochs_on_smaller_windows(data, tmp_path, monkeypatch):
    import a2core.training.train

    sizes = []  # (H, W) of every training batch the model sees

    def build_and_watch(arch, **kwargs):
        model = build(arch, **kwargs)
        model.register_forward_pre_hook(
            lambda module, args: sizes.append(tuple(args[0].shape[-2:])) if module.training else None)
        return model

    monkeypatch.setattr(a2core.training.train, "build", build_and_watch)
    run(data, tmp_path, "resnet", 4, "--early-fraction", "0.5", "--early-size", "20")

    # 40 images at batch 8: 5 steps an epoch; the first int(0.5 × 4) = 2 epochs see 20-pixel windows.
    assert sizes == [(20, 20)] * 10 + [(32, 32)] * 10
    assert [r["input_size"] for r in read_log(tmp_path, "resnet")] == [20, 20, 32, 32]
    model = load_pretrained("resnet", tmp_path / "resnet.safetensors")
    assert model.meta.recipe["early_fraction"] == 0.5 and model.meta.recipe["early_size"] == 20
    assert model.meta.input_size == 32


def test_an_early_size_larger_than_the_input_is_an_error(data, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(data, tmp_path, "resnet", 2, "--early-fraction", "0.5", "--early-size", "40")
    assert exit_info.value.code == 2
    assert "--early-size 40 must lie in 1..32" in capsys.readouterr().err


@pytest.mark.slow
def test_a_changed_recipe_does_not_resume(data, tmp_path, capsys):
    # The schedule spans all epochs, so a checkpoint of a 1-epoch run is no prefix of a 2-epoch run.
    run(data, tmp_path, "resnet", 1)
    capsys.readouterr()
    run(data, tmp_path, "resnet", 2)
    assert "another recipe; starting afresh" in capsys.readouterr().out
    assert [r["epoch"] for r in read_log(tmp_path, "resnet")] == [1, 1, 2]


def test_a_checkpoint_from_before_new_recipe_fields_resumes_only_where_they_keep_their_defaults():
    # As written before Recipe gained zoo, crop, crop_scale, stored_size, mean and std.
    older = {k: v for k, v in asdict(Recipe()).items()
             if k not in {"zoo", "crop", "crop_scale", "stored_size", "mean", "std"}}
    assert same_recipe(older, RECIPES["cifar10"])
    assert not same_recipe(older, RECIPES["imagenette"]), "the photo recipe changed fields the old one lacked"
    assert not same_recipe({**older, "lr": 0.1}, RECIPES["cifar10"])
    assert not same_recipe({**older, "dropout": 0.5}, RECIPES["cifar10"]), "an unknown field must not resume"
    assert same_recipe(asdict(RECIPES["imagenette"]), RECIPES["imagenette"])


def test_skip_epochs_draws_what_real_epochs_draw():
    def loader():
        return DataLoader(TensorDataset(torch.arange(40)), batch_size=8, shuffle=True, drop_last=True,
                          generator=torch.Generator().manual_seed(0))

    real, replayed = loader(), loader()
    for _ in range(3):
        for _ in real:
            pass
    skip_epochs(replayed, 3)
    assert torch.equal(real.generator.get_state(), replayed.generator.get_state())
    assert [b[0].tolist() for b in real] == [b[0].tolist() for b in replayed]


def test_one_cycle_warms_up_linearly_then_decays_along_a_cosine():
    total, warmup = 200, 30
    lr = [one_cycle(step, total, warmup / total) for step in range(total)]
    assert lr[0] == pytest.approx(1 / warmup)
    assert lr[warmup - 1] == pytest.approx(1.0) and lr[warmup] == pytest.approx(1.0)
    rise, fall = lr[:warmup], lr[warmup:]
    assert all(b - a == pytest.approx(1 / warmup) for a, b in zip(rise, rise[1:]))
    assert all(b < a for a, b in zip(fall, fall[1:]))
    assert lr[warmup + (total - warmup) // 2] == pytest.approx(0.5)
    assert 0 < lr[-1] < 1e-3
    assert max(lr) == pytest.approx(1.0) and min(lr) > 0


@pytest.mark.parametrize("arch", ["bogus", "resnet,se_resnt"])
def test_unknown_arch_is_rejected_before_any_work(arch, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--arch", arch, "--data", str(tmp_path / "missing"), "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown arch" in err and all(a in err for a in ARCHS)
    assert not any(tmp_path.iterdir()), "nothing may be written for a bad --arch"


def test_a_batch_larger_than_the_data_is_an_error(data, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--arch", "resnet", "--data", str(data), "--out", str(tmp_path), "--epochs", "1",
              "--batch-size", "64", "--no-progress"])
    assert exit_info.value.code == 2
    assert "no full batch of 64" in capsys.readouterr().err


def test_attention_logits_are_exempt_from_weight_decay():
    """Only the convolutions that make softmax logits skip weight decay, besides BN and biases."""
    def no_decay_names(arch):
        model = build(arch)
        exempt = {id(p) for p in param_groups(model, 5e-4)[1]["params"]}
        return {n for n, p in model.named_parameters() if id(p) in exempt and p.dim() > 1}

    assert no_decay_names("resnet") == set() and no_decay_names("se_resnet") == set()
    assert no_decay_names("a2_resnet") == {f"layer{s}.2.attn.{c}.weight" for s in (2, 3) for c in ("theta", "rho")}
    assert no_decay_names("nl_resnet") == {f"layer{s}.2.attn.{c}.weight" for s in (2, 3) for c in ("theta", "phi")}
    assert no_decay_names("gc_resnet") == {f"layer{s}.2.attn.conv_attn.weight" for s in (2, 3)}
