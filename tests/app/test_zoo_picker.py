"""Both zoos through Streamlit's AppTest: the sidebar's zoo picker, its default, and every page on the photo zoo.

CI has no trained photo-zoo weights, so the app is pointed ($A2LENS_WEIGHTS) at a folder with the
shipped CIFAR-10 files and randomly initialised photo-zoo files (bench/zoo_weights.py): what is
checked here is the app's handling of the zoo (sizes, blocks, samples, classes, tables), not what a
trained model predicts.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import a2core
from a2core.training.data import IMAGENETTE_CLASSES
from a2core.figures.compare import ARCH_LABELS
from a2core.images import load_image
from a2core.probe import FIT_THRESHOLD, ImageMaps, compute_maps
from a2core.models import ALL_ARCHS, ARCHS, build
from a2core.training.measure import count_params
from a2core.figures import lens as figure_lens
from tests.app.pages import lens_data, open_page
from tests.app.plotly_json import arr, charts
from bench.zoo_weights import weights_folder
from app.sources.own import LABEL as OWN  # "your model", offered after the zoos on Explore and Compare

pytestmark = pytest.mark.slow  # AppTest page runs, a second or more each (--durations)

SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"
PHOTO_SAMPLES = sorted((SAMPLES / "imagenette").glob("*/*.jpg"))
PHOTO_CLASSES = sorted(IMAGENETTE_CLASSES.values())


@pytest.fixture(scope="module")
def both_zoos(tmp_path_factory):
    """$A2LENS_WEIGHTS: the shipped CIFAR-10 zoo (random weights for the series' six) and a random photo zoo of all
    thirteen archs."""
    folder = weights_folder(tmp_path_factory.mktemp("weights"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("A2LENS_WEIGHTS", str(folder))
        yield folder


def info_line(at) -> str:
    return next(m.value for m in at.markdown if "model view" in m.value)


def grid_maps(at) -> int:
    (grid,) = [c for c in charts(at) if any(t.get("name") == "map" for t in c["data"])][:1]
    return sum(1 for t in grid["data"] if t["type"] == "image" and t.get("name") == "map")


def test_the_photo_zoo_is_the_default_once_its_a2_resnet_is_there(both_zoos):
    at = open_page(zoo=None)
    assert not at.exception and not at.error
    picker = at.radio(key="explore_zoo")
    assert picker.value == "imagenette" and picker.options == ["Photos: Imagenette (10 classes, 160 px)",
                                                                "CIFAR-10 (10 classes, 32 px)", OWN]
    # Its samples, its trained size, and the finest A² block at 20×20 (stride 8 at 160 px, n = c/4 = 16).
    samples = at.selectbox(key="explore_sample_imagenette")
    assert len(samples.options) == len(PHOTO_SAMPLES) == 20
    # shown with spaces, as every class name is written in the app
    assert {o.split(" · ")[0] for o in samples.options} == {c.replace("_", " ") for c in PHOTO_CLASSES}
    assert samples.value == "English_springer · val_00008162"
    size = at.select_slider(key="explore_size_imagenette")
    assert size.value == 160 and list(size.options) == ["160", "192", "224", "256", "320"]
    line = info_line(at)
    assert "sample English springer · val_00008162" in line and "model view 160×160" in line
    assert "block `layer2.1.attn`" in line and "**20×20**" in line and "**n = 16**" in line
    assert grid_maps(at) == 16
    # The model's view is shown at its own 160 pixels, not enlarged and smoothed.
    (view,) = [i for i in at.get("image") if any("model's view" in c for c in i.captions)]
    assert "160×160 px" in view.captions[0]
    assert any(c.value.startswith("a2_resnet at 160 px") and "trained" not in c.value for c in at.caption)


def test_every_resolution_of_the_photo_zoo_keeps_the_finest_map_at_20_or_more(both_zoos):
    at = open_page(zoo=None)
    for value in at.select_slider(key="explore_size_imagenette").options:
        at.select_slider(key="explore_size_imagenette").set_value(int(value)).run()
        assert not at.exception
        side = int(re.search(r"feature map \*\*(\d+)×\d+\*\*", info_line(at)).group(1))
        assert side == int(value) // 8 >= 20


def test_the_page_names_the_classes_the_model_knows(both_zoos):
    at = open_page(zoo=None)
    (known,) = [c.value for c in at.caption if c.value.startswith("These models know")]
    assert known.startswith("These models know 10 classes: ")
    for name in PHOTO_CLASSES:
        assert name.replace("_", " ") in known
    at.radio(key="explore_zoo").set_value("cifar10").run()
    (known,) = [c.value for c in at.caption if c.value.startswith("These models know")]
    assert "cat" in known and "tench" not in known


def test_switching_zoo_switches_samples_sizes_and_maps_and_carries_to_other_pages(both_zoos):
    at = open_page(zoo=None)
    at.radio(key="explore_zoo").set_value("cifar10").run()
    assert not at.exception and not at.error
    line = info_line(at)
    assert "sample cat · val_0000" in line and "model view 32×32" in line and "**16×16**" in line
    assert at.select_slider(key="explore_size_cifar10").value == 32
    assert grid_maps(at) == 8
    at.switch_page("views/compare.py").run()
    assert at.radio(key="compare_zoo").value == "cifar10", "the choice follows the user to the next page"
    at.radio(key="compare_zoo").set_value("imagenette").run()
    at.switch_page("views/explore.py").run()
    assert at.radio(key="explore_zoo").value == "imagenette" and "model view 160×160" in info_line(at)


def test_a_link_can_ask_for_a_zoo(both_zoos):
    from streamlit.testing.v1 import AppTest

    from tests.app.pages import APP

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["zoo"] = "cifar10"
    at.run()
    assert at.radio(key="explore_zoo").value == "cifar10" and "model view 32×32" in info_line(at)


def test_without_photo_a2_weights_the_app_opens_on_cifar_and_says_the_photo_zoo_is_in_training(tmp_path, monkeypatch):
    # Decided per arch: the photo zoo's plain ResNet has landed, its A²-ResNet has not.
    monkeypatch.setenv("A2LENS_WEIGHTS", str(weights_folder(tmp_path, photo_archs=["resnet"])))
    at = open_page(zoo=None)
    assert not at.exception and not at.error
    assert at.radio(key="explore_zoo").options == ["CIFAR-10 (10 classes, 32 px)", OWN]
    assert "model view 32×32" in info_line(at)
    (note,) = [c.value for c in at.caption if "in training" in c.value]
    assert "Photos: Imagenette" in note and "a2_resnet" in note and "resnet," not in note
    # Compare shows whatever has landed: the photo zoo is offered there with its one model.
    at.switch_page("views/compare.py").run()
    assert at.radio(key="compare_zoo").value == "cifar10"
    at.radio(key="compare_zoo").set_value("imagenette").run()
    assert not at.exception
    assert at.multiselect(key="cmp_archs_imagenette").options == ["ResNet-18"]
    assert at.multiselect(key="cmp_archs_imagenette").value == ["resnet"]
    (missing,) = [c.value for c in at.caption if c.value.startswith("No weight file in")]
    assert "imagenette" in missing and ARCH_LABELS["a2_resnet"] in missing


def test_weights_of_the_shipped_folder_decide_the_default(monkeypatch):
    # No $A2LENS_WEIGHTS: whatever assets/weights holds today. Both outcomes are checked, so this test
    # keeps its meaning when the photo zoo's weights land.
    monkeypatch.delenv("A2LENS_WEIGHTS", raising=False)
    shipped = (Path(a2core.weights.WEIGHTS_DIR) / "imagenette" / "a2_resnet.safetensors").is_file()
    at = open_page(zoo=None)
    assert not at.exception
    assert at.radio(key="explore_zoo").value == ("imagenette" if shipped else "cifar10")
    in_training = [c.value for c in at.caption if "in training" in c.value]
    assert bool(in_training) == (not shipped)


# ------------------------------------------------------------------ fits none


def test_fits_none_is_the_top1_probability_under_the_threshold():
    def maps(top1: float) -> ImageMaps:
        probs = np.full(10, (1 - top1) / 9)
        probs[3] = top1
        return ImageMaps("a2_resnet", 32, np.zeros((32, 32, 3), np.uint8), tuple("abcdefghij"), probs, {})

    assert FIT_THRESHOLD == 0.5
    assert maps(0.49).fits_none() and not maps(0.5).fits_none() and not maps(0.97).fits_none()
    assert maps(0.6).fits_none(threshold=0.7)


def test_a_picture_no_class_fits_gets_a_plain_message(tmp_path, monkeypatch):
    # A photo-zoo A²-ResNet with a zeroed classifier gives 10 % to every class, whatever the picture.
    monkeypatch.setenv("A2LENS_WEIGHTS", str(weights_folder(tmp_path, photo_archs=["a2_resnet"], uniform=True)))
    at = open_page(zoo="imagenette")
    (warning,) = at.warning
    assert "fits none of the 10 classes well" in warning.value and "10%" in warning.value
    assert f"under {FIT_THRESHOLD:.0%}" in warning.value


def test_a_picture_the_model_recognises_gets_no_such_message(monkeypatch):
    monkeypatch.delenv("A2LENS_WEIGHTS", raising=False)
    # The shipped CIFAR-10 A²-ResNet on the cat sample: checked independently of the page first.
    model = a2core.load_pretrained("a2_resnet")
    probe = compute_maps(model, load_image((SAMPLES / "cat" / "val_0000.jpg").read_bytes()))
    assert probe.probs.max() >= FIT_THRESHOLD
    at = open_page(zoo="cifar10")
    assert not at.exception and not [w for w in at.warning if "fits none" in w.value]


# ------------------------------------------------------------------ Compare and Learn on the photo zoo


#: The seed article's families (its review section), written here from the article, not from a2core.models;
#: each in the zoo's order, which the cards keep within a family.
ARTICLE_FAMILIES = {
    "channel": ["se_resnet", "eca_resnet", "gsop_resnet", "sk_resnet", "resnest"],
    "spatial": ["nl_resnet", "a2_resnet", "gc_resnet", "cc_resnet"],
    "mixed": ["cbam_resnet", "bam_resnet", "triplet_resnet"],
}


def test_compare_runs_all_thirteen_photo_models_grouped_by_family_with_one_shared_position(both_zoos):
    at = open_page("compare", zoo="imagenette")
    assert not at.exception and not at.error
    assert at.multiselect(key="cmp_archs_imagenette").options == [ARCH_LABELS[a].split(" (")[0] if a != "resnet"
                                                                  else "ResNet-18" for a in ALL_ARCHS]
    at.multiselect(key="cmp_archs_imagenette").set_value(list(ALL_ARCHS)).run()
    assert not at.exception and not at.error
    cards = lens_data(at)["cards"]
    # the plain ResNet, then each family's models as one run of cards under the family's title
    order = ["resnet"] + [a for members in ARTICLE_FAMILIES.values() for a in members]
    assert [c["title"] for c in cards] == ["ResNet-18 (no attention)"] + [ARCH_LABELS[a] for a in order[1:]]
    groups = [c["group"] for c in cards]
    assert groups[0].startswith("No attention") and len(set(groups)) == 4
    for family, members in ARTICLE_FAMILIES.items():
        (title,) = {groups[order.index(a)] for a in members}
        assert title.lower().startswith(family)
    assert at.radio(key="cmp_block_imagenette").options == ["layer2.1.attn (1/8 of the input)",
                                                            "layer3.1.attn (1/16 of the input)"]
    at.session_state["a2lens_position"] = {"shared": (0.01, 0.99)}
    at.run()
    query = next(m.value for m in at.markdown if m.value.startswith("**Query position:**"))
    assert "cell (0, 19) of the 20×20 feature map of `layer2.1.attn`" in query
    data = lens_data(at)
    assert data["position"] == [0.01, 0.99]  # every card's query cell, in the browser: (0, 19) of 20×20
    by_arch = dict(zip(order, data["cards"]))
    nl = by_arch["nl_resnet"]
    assert nl["kind"] == "nonlocal" and nl["shape"] == [20, 20]
    assert figure_lens.unpack(nl["attention"]).shape == (400, 400)
    # each series design shows its own block of the stage: SK's conv, BAM's gate after the stage, CC-Net's crosses
    assert by_arch["cc_resnet"]["kind"] == "crisscross" and by_arch["cc_resnet"]["shape"] == [20, 20]
    for arch in ("cbam_resnet", "bam_resnet", "triplet_resnet"):
        assert by_arch[arch]["kind"] == "context" and by_arch[arch]["shape"] == [20, 20], arch
    for arch in ("sk_resnet", "resnest"):
        assert by_arch[arch]["kind"] == "channel" and len(figure_lens.unpack(by_arch[arch]["channel"])) == 64
    assert not [i for i in at.info if "not available" in i.value]
    # The zoo table is the photo zoo's: thirteen rows, counted on the photo backbone.
    (table,) = [d for d in at.dataframe if "params" in d.value.columns]
    frame = table.value
    assert len(frame) == len(ALL_ARCHS) and frame["model"].iloc[0] == "ResNet-18 (no attention)"
    for arch, params, family in zip(ALL_ARCHS, frame["params"], frame["family"]):
        assert params == count_params(build(arch, zoo="imagenette"))
        assert family == next((f for f, members in ARTICLE_FAMILIES.items() if arch in members), "none")
    assert frame["top-1 (val)"].isna().all(), "random weights carry no accuracy, and none is made up"
    assert any("Photos: Imagenette" in h.value for h in at.header)


def test_learn_shows_the_live_tensors_of_the_photo_model(both_zoos):
    at = open_page("learn", zoo="imagenette")
    assert not at.exception and not at.error
    shapes = " ".join(m.value for m in at.markdown if "shape:" in m.value)
    # layer2.1.attn of the photo A²-ResNet at 160 px: c = 64, m = 32, n = 16 over 20×20 = 400 positions
    for expected in ("`64 × 20 × 20`", "`32 × 400`", "`16 × 400`", "`32 × 16`"):
        assert expected in shapes, expected
    check = next(m.value for m in at.markdown if "max |Y − block(X)|" in m.value)
    assert float(re.search(r"= ([\d.e+-]+)\.$", check).group(1)) < 1e-4
    assert at.selectbox(key="calc_preset").options[1] == "this app: layer2.1.attn at 160 px"
    at.radio(key="learn_block_imagenette").set_value("layer3.1.attn").run()
    shapes = " ".join(m.value for m in at.markdown if "shape:" in m.value)
    assert "`128 × 10 × 10`" in shapes and "`64 × 32`" in shapes


def test_the_photo_page_runs_the_photo_model_it_says(both_zoos):
    # The top-5 bars are the photo-zoo model's own output for this sample (random weights, but its weights).
    at = open_page(zoo="imagenette")
    (bar,) = next(c for c in charts(at) if any(t.get("name") == "top-k" for t in c["data"]))["data"]
    shown = dict(zip(arr(bar["y"]).tolist(), arr(bar["x"]).tolist()))
    torch.set_num_threads(1)
    model = a2core.load_pretrained("a2_resnet", both_zoos / "imagenette" / "a2_resnet.safetensors")
    sample = SAMPLES / "imagenette" / "English_springer" / "ILSVRC2012_val_00008162.jpg"
    # the bars name the classes with spaces, as the whole app writes them
    expected = {c.replace("_", " "): p for c, p in compute_maps(model, load_image(sample.read_bytes()), 160).top(5)}
    assert shown == pytest.approx(expected, abs=1e-5)


def test_large_jpegs_are_decoded_at_twice_the_largest_view_or_more():
    # load_image decodes big JPEGs at a reduced DCT scale; it must stay well above any view the app offers.
    from a2core.images import DRAFT_SIDE
    from app.common import ZOO_VIEWS

    assert DRAFT_SIDE >= 2 * max(max(view.sizes) for view in ZOO_VIEWS.values())


# ------------------------------------------------------------------ the article series on Explore and Learn


def sample_maps(arch: str, folder: Path):
    """``arch``'s maps of the photo zoo's default sample at 160 px, computed here, outside the app."""
    torch.set_num_threads(1)
    model = a2core.load_pretrained(arch, folder / "imagenette" / f"{arch}.safetensors")
    sample = SAMPLES / "imagenette" / "English_springer" / "ILSVRC2012_val_00008162.jpg"
    return compute_maps(model, load_image(sample.read_bytes()), 160)


def test_explore_offers_every_design_and_draws_each_one(both_zoos):
    at = open_page(zoo="imagenette")
    picker = at.selectbox(key="explore_arch_imagenette")
    assert picker.value == "a2_resnet" and picker.options == (
        ["ResNet-18 (no attention)"] + [ARCH_LABELS[a] for a in ALL_ARCHS if a != "resnet"])
    picker.set_value("cc_resnet").run()
    assert not at.exception and not at.error and at.query_params["model"] == "cc_resnet"
    (card,) = lens_data(at)["cards"]
    expected = sample_maps("cc_resnet", both_zoos).blocks[at.selectbox(key="explore_module_imagenette").value]
    assert card["kind"] == "crisscross" and card["shape"] == list(expected.feature_size)
    h, w = expected.feature_size
    row = figure_lens.unpack(card["row"])  # pass r, query u over its row: the block's dense rows there
    for u in (0, h * w // 2, h * w - 1):
        i = u // w
        np.testing.assert_allclose(row[:, u], expected.arrays["attention"][:, u, i * w:(i + 1) * w], rtol=1e-6)
    # SK: which kernel the channels pick, per stage, as counted here from the probe's weights
    at.selectbox(key="explore_arch_imagenette").set_value("sk_resnet").run()
    assert not at.exception and not at.error
    (chart,) = [c for c in charts(at) if any(t.get("name") == "3×3" for t in c["data"])]
    small, dilated = chart["data"]
    assert small["name"] == "3×3" and dilated["name"].startswith("3×3, dilation 2 (5×5 field)")
    blocks = sample_maps("sk_resnet", both_zoos).blocks
    for stage, share in zip(arr(dilated["y"]).tolist(), arr(dilated["x"]).tolist()):
        picks = [np.argmax(b.arrays["branch"], axis=0) for n, b in blocks.items() if n.startswith(stage + ".")]
        assert share == pytest.approx(np.mean(np.concatenate(picks) == 1))
    assert list(arr(dilated["y"])) == ["layer1", "layer2", "layer3", "layer4"]
    for arch in ("bam_resnet", "triplet_resnet", "cbam_resnet", "resnest", "resnet"):
        at.selectbox(key="explore_arch_imagenette").set_value(arch).run()
        assert not at.exception and not at.error, arch


def test_learn_shows_one_live_example_of_each_family(both_zoos):
    at = open_page("learn", zoo="imagenette")
    assert not at.exception and not at.error
    cards = lens_data(at)["cards"]
    assert [c["title"] for c in cards] == ["SE: channel attention", "Non-local: spatial attention",
                                           "CBAM: mixed attention"]
    assert [c["kind"] for c in cards] == ["channel", "nonlocal", "context"]
    # each card is its model's block at the chosen A² block's place, on this photo
    se, cbam = sample_maps("se_resnet", both_zoos), sample_maps("cbam_resnet", both_zoos)
    np.testing.assert_allclose(figure_lens.unpack(cards[0]["channel"]), se.blocks["layer2.1.attn"].arrays["channel"],
                               rtol=1e-6)
    np.testing.assert_allclose(figure_lens.unpack(cards[2]["context"]),
                               cbam.blocks["layer2.1.attn"].arrays["spatial_map"].reshape(-1), rtol=1e-6)
    assert not [i for i in at.info if "has no live example" in i.value]


def test_learn_says_when_a_family_has_no_weights_yet(tmp_path, monkeypatch):
    # the photo zoo as it was before the series' weights landed: no mixed-attention model at all
    monkeypatch.setenv("A2LENS_WEIGHTS", str(weights_folder(tmp_path, photo_archs=ARCHS, cifar_archs=["resnet"])))
    at = open_page("learn", zoo="imagenette")
    assert not at.exception and not at.error
    assert [c["title"].split(": ")[1] for c in lens_data(at)["cards"]] == ["channel attention", "spatial attention"]
    (missing,) = [i.value for i in at.info if "has no live example" in i.value]
    assert missing.startswith("No mixed-attention model") and "CBAM, BAM, Triplet" in missing
