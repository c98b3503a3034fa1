"""The photo zoo's pieces: Imagenette in both folder layouts, the ImageNet-layout backbone, the
placement of each design, float16 weight files, and a tiny training run through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from a2core import ARCHS, build, load_pretrained, save_weights
from a2core.training.data import IMAGENETTE_CLASSES, ImageFolderTensors, class_names, random_resized_crops
from a2core.models import PHOTO_PLACEMENT, attention_blocks
from a2core.training.train import RECIPES, main, zoo_of
from a2core.weights import ModelMeta, read_meta


pytestmark = pytest.mark.usefixtures("keep_torch_threads")  # --threads sets a process-wide torch setting


def make_fastai_imagenette(root, per_class=2, seed=0):
    """fast.ai's archive layout: ``split/<ImageNet id>/*.JPEG``, photos of any size and aspect ratio.

    Each class is a flat colour (its index × 25 in the red channel), so a test can tell which class
    an image was read as after any crop or resize.
    """
    rng = np.random.default_rng(seed)
    for split in ("train", "val"):
        for k, wnid in enumerate(sorted(IMAGENETTE_CLASSES)):
            folder = root / split / wnid
            folder.mkdir(parents=True)
            for i in range(per_class):
                width, height = int(rng.integers(170, 400)), int(rng.integers(160, 260))
                pixels = np.zeros((height, width, 3), np.uint8)
                pixels[..., 0] = 25 * k
                Image.fromarray(pixels).save(folder / f"{wnid}_{i}.JPEG", quality=95)
    return root


@pytest.fixture(scope="module")
def fastai(tmp_path_factory):
    return make_fastai_imagenette(tmp_path_factory.mktemp("imagenette2-320"))


def test_fastai_layout_reads_with_names_for_ids(fastai):
    names = class_names(fastai / "train")
    assert set(names) == set(IMAGENETTE_CLASSES.values()) and names == tuple(sorted(names))
    assert zoo_of(names) == "imagenette" and zoo_of(tuple(f"class{k}" for k in range(10))) == "cifar10"
    split = ImageFolderTensors(fastai / "val", 48, classes=names, progress=False)
    assert split.images.shape == (20, 3, 48, 48) and split.images.dtype == torch.uint8
    # Every image landed under its own class: the red level of class k is 25·k (JPEG may move it by a few).
    red_of = {name: 25 * sorted(IMAGENETTE_CLASSES).index(wnid) for wnid, name in IMAGENETTE_CLASSES.items()}
    for image, label in zip(split.images, split.labels):
        assert abs(image[0].float().mean().item() - red_of[names[label]]) < 4


def test_named_and_fastai_layouts_give_one_class_list(fastai, tmp_path):
    for wnid, name in IMAGENETTE_CLASSES.items():
        (tmp_path / "train" / name).mkdir(parents=True)
    assert class_names(tmp_path / "train") == class_names(fastai / "train")


def test_random_resized_crops_are_per_image_and_sized():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (16, 3, 64, 64), dtype=torch.uint8)
    out = random_resized_crops(images, 40)
    assert out.shape == (16, 3, 40, 40) and out.dtype == torch.uint8
    # The whole image, kept square: the crop is a plain resize of that very image.
    whole = random_resized_crops(images, 40, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    from torchvision.transforms.v2 import functional as F
    assert torch.equal(whole, F.resize(images, [40, 40], antialias=True))
    # Random crops differ from image to image (a shared crop box would make them all alike).
    boxes = {tuple(random_resized_crops(torch.arange(64 * 64, dtype=torch.float32).view(1, 1, 64, 64), 8)
                   .flatten()[:2].tolist()) for _ in range(10)}
    assert len(boxes) > 5


def test_photo_backbone_maps_at_160_px():
    model = build("a2_resnet", zoo="imagenette").eval()
    seen = {}
    for name, block in attention_blocks(model).items():
        block.register_forward_pre_hook(lambda m, args, name=name: seen.__setitem__(name, tuple(args[0].shape)))
    with torch.no_grad():
        assert model(torch.randn(1, 3, 160, 160)).shape == (1, 10)
    # A² in res3 and res4 (layer2, layer3): the finest maps are 20×20 at 160 px.
    assert seen == {"layer2.1.attn": (1, 64, 20, 20), "layer3.1.attn": (1, 128, 10, 10)}


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_photo_archs_differ_only_in_attention(arch):
    def backbone(a):
        return {k: tuple(v.shape) for k, v in build(a, zoo="imagenette").state_dict().items() if ".attn." not in k}

    assert backbone(arch) == backbone("resnet")
    blocks = attention_blocks(build(arch, zoo="imagenette"))
    expected = {f"layer{s}.{i}.attn" for s in range(1, 5) for i in range(2) if PHOTO_PLACEMENT[arch](s, i, 2)}
    assert set(blocks) == expected


def test_photo_a2_starts_its_logit_convs_with_he_init_and_cifar_keeps_its_own():
    # The photo zoo's A² maps stayed near uniform from PyTorch's init (DoubleAttention's logit_init);
    # the CIFAR-10 zoo keeps the init its shipped weights were trained from.
    torch.manual_seed(0)
    for block in attention_blocks(build("a2_resnet", zoo="imagenette")).values():
        for conv in (block.theta, block.rho):
            assert conv.weight.std().item() == pytest.approx((2 / block.n) ** 0.5, rel=0.1)
    for block in attention_blocks(build("a2_resnet", zoo="cifar10")).values():
        for conv in (block.theta, block.rho):  # kaiming_uniform(a=√5): std 1/√(3·fan_in)
            assert conv.weight.std().item() == pytest.approx((3 * block.in_channels) ** -0.5, rel=0.15)


def test_unknown_zoo_is_refused():
    with pytest.raises(ValueError, match="unknown zoo"):
        build("resnet", zoo="imagenet21k")


def test_float16_file_loads_into_the_photo_backbone(tmp_path):
    torch.manual_seed(0)
    model = build("a2_resnet", zoo="imagenette").eval()
    meta = ModelMeta(arch="a2_resnet", classes=tuple(IMAGENETTE_CLASSES.values()), input_size=160, zoo="imagenette")
    path = save_weights(model, tmp_path / "a2.safetensors", meta, dtype=torch.float16)
    full = save_weights(model, tmp_path / "a2_fp32.safetensors", meta)
    assert path.stat().st_size < 0.55 * full.stat().st_size
    loaded = load_pretrained("a2_resnet", path)
    assert loaded.meta.zoo == "imagenette" and next(loaded.parameters()).dtype == torch.float32
    x = torch.randn(2, 3, 160, 160)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=2e-2, rtol=1e-2)
    # A file without a zoo is a CIFAR-10 model, as every file written before the photo zoo.
    assert ModelMeta.from_dict({"arch": "resnet", "classes": ["a"]}).zoo == "cifar10"


@pytest.mark.slow
def test_tiny_photo_run_through_the_cli(fastai, tmp_path):
    main(["--arch", "a2_resnet", "--data", str(fastai), "--out", str(tmp_path), "--epochs", "2", "--batch-size", "10",
          "--workers", "0", "--threads", "1", "--no-progress"])
    records = [json.loads(line) for line in (tmp_path / "logs" / "a2_resnet.jsonl").read_text().splitlines()]
    recipe = RECIPES["imagenette"]
    # Progressive resizing: the first half of the epochs at early_size, the rest at input_size.
    assert [r["input_size"] for r in records] == [recipe.early_size, recipe.input_size]
    assert all(r["cpu_seconds"] > 0 for r in records)
    meta = read_meta(tmp_path / "a2_resnet.safetensors")
    assert meta.zoo == "imagenette" and meta.input_size == 160 and meta.mean == recipe.mean
    assert meta.classes == class_names(fastai / "train") and "Imagenette" in meta.dataset
    model = load_pretrained("a2_resnet", tmp_path / "a2_resnet.safetensors")
    assert set(attention_blocks(model)) == {"layer2.1.attn", "layer3.1.attn"}

    # The evaluate command writes the photo zoo's own card from that weight file and its log.
    from a2core.training.evaluate import main as evaluate

    card = tmp_path / "MODEL_CARD.md"
    evaluate(["--data", str(fastai), "--weights", str(tmp_path), "--card", str(card), "--warmup", "1",
              "--repeats", "2", "--throughput-batch", "2", "--threads", "1", "--no-progress"])
    text = card.read_text()
    assert text.startswith("# A²Lens photo zoo (Imagenette): model card")
    assert "non-commercial research and education" in text and "20 photos" in text
    assert "ResNet-18" in text and "`layer2.1.attn`, `layer3.1.attn`" in text
    assert 'a2core.load_pretrained("<model>", zoo="imagenette")' in text
    assert "one-core hours" in text  # the logs' CPU time
    assert "128×128 random resized crops instead of 160×160 ones" in text
    assert f"--out assets/weights/imagenette/ --epochs 2 --early-fraction {recipe.early_fraction}" in text
    assert "| `a2_resnet.safetensors` |" in text and "F16" in text  # stored in float16
